/**
 * `struct page` and page locking/waiting (2.4's `mm/filemap.c` primitives).
 *
 * A page's flags are a cell, so `TryLockPage` (test_and_set_bit) and `PageLocked` (a lockless
 * test) are real memory operations the explorer can reorder. Each page has its own wait queue
 * (2.4 hashed pages onto a table of queues; a queue per page is the simpler choice and wakes
 * the same waiters). `unlock_page` clears PG_locked, issues the barrier 2.4 uses, and wakes
 * everyone on the queue; waiters re-test the bit. As 2.4's `___wait_on_page` does through
 * `sync_page()`, a task about to sleep on a page first runs `tq_disk` (unplugging queued IO).
 *
 *     CPU0 - lock_page()                       CPU1 - unlock_page()
 *     add_wait_queue(&page->wait, &wait)
 *     set_current_state(TASK_UNINTERRUPTIBLE)  clear_bit(PG_locked, &page->flags)
 *     if (!PageLocked(page)) break;            smp_mb__after_clear_bit()
 *     schedule();                              if (waitqueue_active(&page->wait))
 *                                                      wake_up(&page->wait);
 */
import type { Cell } from '../kernel/cell.js';
import type { Kernel } from '../kernel/kernel.js';
import { clear_bit, type KernelCode, READ_ONCE, set_bit, smp_mb, test_and_set_bit } from '../kernel/ops.js';
import {
  current,
  kernel,
  schedule,
  set_current_state,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
} from '../kernel/sched.js';
import { run_task_queue, tq_disk } from '../kernel/tqueue.js';
import {
  add_wait_queue,
  add_wait_queue_exclusive,
  DECLARE_WAITQUEUE,
  init_waitqueue_head,
  remove_wait_queue,
  type WaitQueueHead,
  wake_up_all,
} from '../waitqueue/waitqueue.js';

/** Page flag bits. */
export const PG_locked = 0;
export const PG_error = 1;
export const PG_referenced = 2;
export const PG_uptodate = 3;
export const PG_dirty = 4;

/** Bytes in a page. */
export const PAGE_SIZE = 4096;

/** `struct page`. */
export class Page {
  /** Name for traces (`<owner>:<index>`). */
  readonly name: string;
  /** Flag word (PG_* bits), a cell. */
  readonly flags: Cell;
  /** Waiters for the page lock or for IO on the page. */
  readonly wait: WaitQueueHead;
  /** The page's bytes. */
  readonly data: Uint8Array;
  /** Owning address space (an inode), or null; and the page's index in it. */
  mapping: unknown = null;
  index: number;
  /** Pin count (`get_page`/`put_page`); a pinned page is never evicted. */
  count = 0;
  /** Buffer heads attached to the page (for writeback), if any. */
  buffers: unknown = null;
  /** Simulated time the page last became dirty (for age-based writeback). */
  dirtiedAt = 0;
  constructor(name: string, flags: Cell, wait: WaitQueueHead, index: number) {
    this.name = name;
    this.flags = flags;
    this.wait = wait;
    this.index = index;
    this.data = new Uint8Array(PAGE_SIZE);
  }
}

/** Allocates a page (flags clear, zeroed data). */
export function alloc_page(k: Kernel, name: string, index = 0): Page {
  return new Page(
    name,
    k.cell(`${name}.flags`, 0),
    init_waitqueue_head(k, `${name}.wait`, 'page.wait'),
    index,
  );
}

/** `PageLocked(page)`: a lockless test of PG_locked. */
export function* PageLocked(page: Page): KernelCode<boolean> {
  return (((yield* READ_ONCE(page.flags)) >> PG_locked) & 1) === 1;
}
/** `Page_Uptodate(page)`. */
export function* Page_Uptodate(page: Page): KernelCode<boolean> {
  return (((yield* READ_ONCE(page.flags)) >> PG_uptodate) & 1) === 1;
}
/** `SetPageUptodate(page)`. */
export function SetPageUptodate(page: Page): KernelCode<void> {
  return set_bit(PG_uptodate, page.flags);
}
/** `ClearPageUptodate(page)`. */
export function ClearPageUptodate(page: Page): KernelCode<void> {
  return clear_bit(PG_uptodate, page.flags);
}
/** `SetPageError(page)`. */
export function SetPageError(page: Page): KernelCode<void> {
  return set_bit(PG_error, page.flags);
}
/** `SetPageDirty(page)`. */
export function SetPageDirty(page: Page): KernelCode<void> {
  return set_bit(PG_dirty, page.flags);
}
/** `ClearPageDirty(page)`. */
export function ClearPageDirty(page: Page): KernelCode<void> {
  return clear_bit(PG_dirty, page.flags);
}
/** `PageDirty(page)`. */
export function* PageDirty(page: Page): KernelCode<boolean> {
  return (((yield* READ_ONCE(page.flags)) >> PG_dirty) & 1) === 1;
}

/** `TryLockPage(page)`: 1 if the page was already locked (and so not taken), 0 if taken. */
export function TryLockPage(page: Page): KernelCode<number> {
  return test_and_set_bit(PG_locked, page.flags);
}

/** `lock_page(page)`: takes PG_locked, sleeping (exclusively) while someone else holds it. */
export function* lock_page(page: Page): KernelCode<void> {
  if ((yield* TryLockPage(page)) === 0) return;
  const t = current();
  const wait = DECLARE_WAITQUEUE(`lock_page:${t.name}`, t);
  yield* add_wait_queue_exclusive(page.wait, wait);
  for (;;) {
    yield* set_current_state(TASK_UNINTERRUPTIBLE);
    if (yield* PageLocked(page)) {
      yield* run_task_queue(tq_disk(kernel())); // sync_page(): start plugged IO first
      yield* schedule(`page ${page.name} (lock_page)`);
    }
    if ((yield* TryLockPage(page)) === 0) break;
  }
  yield* set_current_state(TASK_RUNNING);
  yield* remove_wait_queue(page.wait, wait);
}

/**
 * `unlock_page(page)` / `UnlockPage(page)`: clears PG_locked and wakes the page's waiters.
 * Wakes everyone (lock waiters are exclusive, `wait_on_page` waiters are not).
 */
export function* unlock_page(page: Page): KernelCode<void> {
  yield* clear_bit(PG_locked, page.flags);
  yield* smp_mb(); // smp_mb__after_clear_bit()
  yield* wake_up_all(page.wait);
}
export const UnlockPage: typeof unlock_page = unlock_page;

/** `wait_on_page(page)`: sleeps until PG_locked is clear (IO on the page finished). */
export function* wait_on_page(page: Page): KernelCode<void> {
  if (!(yield* PageLocked(page))) return;
  const t = current();
  const wait = DECLARE_WAITQUEUE(`wait_on_page:${t.name}`, t);
  yield* add_wait_queue(page.wait, wait);
  for (;;) {
    yield* set_current_state(TASK_UNINTERRUPTIBLE);
    if (!(yield* PageLocked(page))) break;
    yield* run_task_queue(tq_disk(kernel())); // sync_page(): start plugged IO first
    yield* schedule(`page ${page.name} (wait_on_page)`);
  }
  yield* set_current_state(TASK_RUNNING);
  yield* remove_wait_queue(page.wait, wait);
}
