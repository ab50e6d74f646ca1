/**
 * The `wtd_*` primitives: wait for, or take, a page, a buffer or a semaphore without blocking.
 *
 * Each returns at once. 1 means "you have it now, carry on yourself"; 0 means "the wtd is
 * registered": a func entry (`__wtd_*_waiter`) sits on the object's wait queue and, when a
 * waker walks the queue, runs in the waker's context with the queue lock held. It re-checks
 * (or re-tries) under that lock; if the object is available it takes it for the wtd, removes
 * its entry and `wtd_queue`s the wtd, so the action runs on a keventd worker already owning
 * what it waited for. If it lost the race (someone else took the page first), the entry simply
 * stays queued for the next wake-up: it re-registered by not leaving.
 *
 * Registration closes the window between the first try and the queueing with
 * `add_wait_queue_cond`: the entry is added, a barrier issued, and the try repeated under the
 * queue lock; if it now succeeds the entry is taken off and the call returns 1. Without the
 * re-check (the `wtd-lock-page-racy` scenario) the wake-up can pass in the window:
 *
 *     CPU0 - wtd_lock_page(wtd, page)           CPU1 - holder
 *     TryLockPage(page) -> 1 (held)
 *                                               clear_bit(PG_locked, &page->flags)
 *                                               wake_up_all(&page->wait)  // queue empty
 *     add_wait_queue(&page->wait, &wtd->wait)
 *     return 0;   // nobody will ever wake it
 *
 * Semantics follow `mm/wtd.c` of the 2.4 AIO patch (`wtd_lock_page`, `wtd_wait_on_buffer`,
 * with `__wtd_lock_page_waiter` re-trying TryLockPage in the waker). `wtd_wait_page`,
 * `wtd_lock_buffer` and `wtd_down` (2.4: "not implemented yet") are ours, built the same way;
 * a `wtd_down` entry is exclusive, so `up()`'s wake-one walk hands the count to one waiter.
 * Where 2.4 kicks the disk queue (`run_task_queue(&tq_disk)`) after registering, we do the
 * same when anything is plugged there; the waiter's "kick keventd to unplug" on a lost race
 * is left out (nothing here plugs behind a page lock).
 */
import type { BufferHead } from '../devices/buffer.js';
import { BH_Lock, buffer_locked } from '../devices/buffer.js';
import type { Page } from '../devices/page.js';
import { PageLocked, TryLockPage } from '../devices/page.js';
import { type KernelCode, test_and_set_bit } from '../kernel/ops.js';
import { kernel } from '../kernel/sched.js';
import { spin_lock_irqsave, spin_unlock_irqrestore } from '../kernel/spinlock.js';
import { run_task_queue, tq_disk } from '../kernel/tqueue.js';
import type { Semaphore } from '../waitqueue/semaphore.js';
import {
  __add_wait_queue_tail,
  __remove_wait_queue,
  add_wait_queue_cond,
  init_waitqueue_func_entry,
  type WaitQueueEntry,
  type WaitQueueFunc,
  type WaitQueueHead,
  WQ_FLAG_EXCLUSIVE,
} from '../waitqueue/waitqueue.js';
import { type Worktodo, wtd_nonblocking, wtd_queue } from './worktodo.js';

/** The wtd a func entry belongs to. */
function owner(e: WaitQueueEntry): Worktodo {
  return e.owner as Worktodo;
}

/** A waiter found the object taken again: it stays queued (counted as `wtd.waiter.lost`). */
function lost(): number {
  kernel().count('wtd.waiter.lost');
  return 0;
}

/** Kicks the disk queue if anything is plugged there (2.4: run_task_queue(&tq_disk)). */
function* kick_disk(): KernelCode<void> {
  const q = tq_disk(kernel());
  if (q.list.length > 0) yield* run_task_queue(q);
}

/**
 * Hands the wtd over: its entry leaves the queue (caller holds `q.lock`) and the wtd goes to
 * the worker pool. Returns 1 (a real wake, for 'modern' wake semantics).
 */
function* handOver(q: WaitQueueHead, e: WaitQueueEntry): KernelCode<number> {
  yield* __remove_wait_queue(q, e);
  yield* wtd_queue(owner(e));
  return 1;
}

/**
 * Registers `wtd` on `q` with `waiter`, re-checking `stillMustWait` under the queue lock.
 * 1 if the re-check found the object available (the wtd is not queued), else 0.
 */
function* register(
  wtd: Worktodo,
  q: WaitQueueHead,
  object: unknown,
  waiter: WaitQueueFunc,
  stillMustWait: () => KernelCode<boolean>,
): KernelCode<number> {
  wtd.object = object;
  init_waitqueue_func_entry(wtd.wait, waiter);
  if ((yield* add_wait_queue_cond(q, wtd.wait, stillMustWait)) !== 0) return 1;
  yield* kick_disk();
  return 0;
}

// ------------------------------------------------------------------------------------------
// Pages

function* lockPageWaiter(e: WaitQueueEntry): KernelCode<number> {
  const page = owner(e).object as Page;
  if ((yield* TryLockPage(page)) === 0) return yield* handOver(page.wait, e);
  return lost(); // lost the race: stay queued for the next unlock
}
function __wtd_lock_page_waiter(e: WaitQueueEntry): KernelCode<number> {
  return wtd_nonblocking('__wtd_lock_page_waiter', lockPageWaiter, e);
}
function* pageStillLocked(page: Page): KernelCode<boolean> {
  return (yield* TryLockPage(page)) !== 0;
}
function* lockPage(wtd: Worktodo, page: Page): KernelCode<number> {
  if ((yield* TryLockPage(page)) === 0) return 1;
  return yield* register(wtd, page.wait, page, __wtd_lock_page_waiter, () => pageStillLocked(page));
}

/**
 * `wtd_lock_page(wtd, page)`: 1 if the page lock was taken at once (the caller owns it and
 * continues); 0 if the wtd will run its action on a worker, owning the page lock.
 */
export function wtd_lock_page(wtd: Worktodo, page: Page): KernelCode<number> {
  return wtd_nonblocking('wtd_lock_page', lockPage, wtd, page);
}

function* waitPageWaiter(e: WaitQueueEntry): KernelCode<number> {
  const page = owner(e).object as Page;
  if (!(yield* PageLocked(page))) return yield* handOver(page.wait, e);
  return lost();
}
function __wtd_wait_page_waiter(e: WaitQueueEntry): KernelCode<number> {
  return wtd_nonblocking('__wtd_wait_page_waiter', waitPageWaiter, e);
}
function* waitPage(wtd: Worktodo, page: Page): KernelCode<number> {
  if (!(yield* PageLocked(page))) return 1;
  return yield* register(wtd, page.wait, page, __wtd_wait_page_waiter, () => PageLocked(page));
}

/**
 * `wtd_wait_page(wtd, page)`: 1 if the page is unlocked now (IO on it is done); 0 if the wtd
 * will run its action on a worker once it has been seen unlocked.
 */
export function wtd_wait_page(wtd: Worktodo, page: Page): KernelCode<number> {
  return wtd_nonblocking('wtd_wait_page', waitPage, wtd, page);
}

// ------------------------------------------------------------------------------------------
// Buffers

function* bhWaiter(e: WaitQueueEntry): KernelCode<number> {
  const bh = owner(e).object as BufferHead;
  if (!(yield* buffer_locked(bh))) return yield* handOver(bh.b_wait, e);
  return lost();
}
function __wtd_bh_waiter(e: WaitQueueEntry): KernelCode<number> {
  return wtd_nonblocking('__wtd_bh_waiter', bhWaiter, e);
}
function* waitOnBuffer(wtd: Worktodo, bh: BufferHead): KernelCode<number> {
  if (!(yield* buffer_locked(bh))) return 1;
  return yield* register(wtd, bh.b_wait, bh, __wtd_bh_waiter, () => buffer_locked(bh));
}

/**
 * `wtd_wait_on_buffer(wtd, bh)`: 1 if the buffer is unlocked now; 0 if the wtd will run its
 * action on a worker once it has been seen unlocked.
 */
export function wtd_wait_on_buffer(wtd: Worktodo, bh: BufferHead): KernelCode<number> {
  return wtd_nonblocking('wtd_wait_on_buffer', waitOnBuffer, wtd, bh);
}

function* lockBufferWaiter(e: WaitQueueEntry): KernelCode<number> {
  const bh = owner(e).object as BufferHead;
  if ((yield* test_and_set_bit(BH_Lock, bh.b_state)) === 0) return yield* handOver(bh.b_wait, e);
  return lost();
}
function __wtd_lock_buffer_waiter(e: WaitQueueEntry): KernelCode<number> {
  return wtd_nonblocking('__wtd_lock_buffer_waiter', lockBufferWaiter, e);
}
function* bufferStillLocked(bh: BufferHead): KernelCode<boolean> {
  return (yield* test_and_set_bit(BH_Lock, bh.b_state)) !== 0;
}
function* lockBuffer(wtd: Worktodo, bh: BufferHead): KernelCode<number> {
  if ((yield* test_and_set_bit(BH_Lock, bh.b_state)) === 0) return 1;
  return yield* register(wtd, bh.b_wait, bh, __wtd_lock_buffer_waiter, () => bufferStillLocked(bh));
}

/**
 * `wtd_lock_buffer(wtd, bh)`: 1 if BH_Lock was taken at once; 0 if the wtd will run its action
 * on a worker, holding BH_Lock.
 */
export function wtd_lock_buffer(wtd: Worktodo, bh: BufferHead): KernelCode<number> {
  return wtd_nonblocking('wtd_lock_buffer', lockBuffer, wtd, bh);
}

// ------------------------------------------------------------------------------------------
// Semaphores

function take(sem: Semaphore, wtd: Worktodo, slept: boolean): void {
  sem.count--;
  sem.holders.push(wtd.name);
  kernel().emit('sem.down', { sem: sem.name, count: sem.count, slept });
}

function* downWaiter(e: WaitQueueEntry): KernelCode<number> {
  const wtd = owner(e);
  const sem = wtd.object as Semaphore;
  if (sem.count <= 0) return lost();
  take(sem, wtd, true);
  return yield* handOver(sem.wait, e);
}
function __wtd_down_waiter(e: WaitQueueEntry): KernelCode<number> {
  return wtd_nonblocking('__wtd_down_waiter', downWaiter, e);
}

/**
 * `wtd_down(wtd, sem)`: 1 if the semaphore was taken at once; 0 if the wtd waits as an
 * exclusive entry on `sem.wait` and will run its action on a worker holding the semaphore
 * (its `up()` is the action's job). The count is checked and the entry queued under the
 * semaphore's lock, which `up()` also holds, so no re-check is needed.
 */
export function wtd_down(wtd: Worktodo, sem: Semaphore): KernelCode<number> {
  return wtd_nonblocking('wtd_down', down, wtd, sem);
}
function* down(wtd: Worktodo, sem: Semaphore): KernelCode<number> {
  {
    const q = sem.wait;
    yield* spin_lock_irqsave(q.lock);
    if (sem.count > 0) {
      take(sem, wtd, false);
      yield* spin_unlock_irqrestore(q.lock);
      return 1;
    }
    wtd.object = sem;
    init_waitqueue_func_entry(wtd.wait, __wtd_down_waiter);
    wtd.wait.flags = WQ_FLAG_EXCLUSIVE;
    yield* __add_wait_queue_tail(q, wtd.wait);
    yield* spin_unlock_irqrestore(q.lock);
    return 0;
  }
}
