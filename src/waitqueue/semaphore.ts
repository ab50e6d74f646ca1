/**
 * Semaphores: `down`, `up`, `down_trylock`, `down_interruptible`.
 *
 * The count is plain state protected by the semaphore's wait-queue lock; sleepers wait as
 * exclusive entries on `sem.wait`, and `up()` runs the ordinary exclusive wake-up walk, so a
 * threadless func entry (a worktodo's `wtd_down`) waits on a semaphore exactly as a task does.
 * Semaphores live here rather than in src/kernel because they sleep on wait queues.
 */
import { current as cur } from '../kernel/current.js';
import { EINTR } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import type { KernelCode } from '../kernel/ops.js';
import { current, schedule, set_current_state, signal_pending } from '../kernel/sched.js';
import { spin_lock_irqsave, spin_unlock_irqrestore } from '../kernel/spinlock.js';
import { TASK_INTERRUPTIBLE, TASK_NORMAL, TASK_RUNNING, TASK_UNINTERRUPTIBLE } from '../kernel/task.js';
import {
  __add_wait_queue_tail,
  __remove_wait_queue,
  __wake_up_common,
  DECLARE_WAITQUEUE,
  init_waitqueue_head,
  type WaitQueueHead,
  WQ_FLAG_EXCLUSIVE,
} from './waitqueue.js';

/** `struct semaphore`. */
export class Semaphore {
  readonly name: string;
  /** Available count; changed only under `wait.lock`. */
  count: number;
  readonly wait: WaitQueueHead;
  /** Task names that hold it (for hang reports), oldest first. */
  readonly holders: string[] = [];
  constructor(name: string, count: number, wait: WaitQueueHead) {
    this.name = name;
    this.count = count;
    this.wait = wait;
  }
}

/** `sema_init(sem, val)`. */
export function sema_init(k: Kernel, name: string, val: number): Semaphore {
  if (!Number.isInteger(val) || val < 0)
    throw new Error(`sema_init('${name}', ${val}): count must be a non-negative integer`);
  return new Semaphore(name, val, init_waitqueue_head(k, `sem:${name}`));
}

function holderName(): string {
  const c = cur.ctx;
  return c === null ? '?' : c.name;
}

function* downCommon(sem: Semaphore, state: number): KernelCode<number> {
  const q = sem.wait;
  const k = cur.kernel!;
  yield* spin_lock_irqsave(q.lock);
  if (sem.count > 0) {
    sem.count--;
    sem.holders.push(holderName());
    k.emit('sem.down', { sem: sem.name, count: sem.count, slept: false });
    yield* spin_unlock_irqrestore(q.lock);
    return 0;
  }
  const t = current();
  const wait = DECLARE_WAITQUEUE(`down:${t.name}`, t);
  wait.flags = WQ_FLAG_EXCLUSIVE;
  yield* __add_wait_queue_tail(q, wait);
  let ret = 0;
  for (;;) {
    yield* set_current_state(state);
    // As the kernel's __down_interruptible: a pending signal wins over a count that became
    // available (the wake-up it carried is passed on below).
    if (state === TASK_INTERRUPTIBLE && signal_pending(t)) {
      ret = -EINTR;
      break;
    }
    if (sem.count > 0) {
      sem.count--;
      sem.holders.push(holderName());
      break;
    }
    yield* spin_unlock_irqrestore(q.lock);
    yield* schedule(`sem:${sem.name}${sem.holders.length > 0 ? ` (held by ${sem.holders.join(', ')})` : ''}`);
    yield* spin_lock_irqsave(q.lock);
  }
  yield* __remove_wait_queue(q, wait);
  yield* set_current_state(TASK_RUNNING);
  // A wake-up we will not use (signal) goes to the next waiter.
  if (ret !== 0 && sem.count > 0) yield* __wake_up_common(q, TASK_NORMAL, 1);
  k.emit('sem.down', { sem: sem.name, count: sem.count, slept: true });
  yield* spin_unlock_irqrestore(q.lock);
  return ret;
}

/** `down(sem)`: takes the semaphore, sleeping uninterruptibly while it is unavailable. */
export function* down(sem: Semaphore): KernelCode<void> {
  yield* downCommon(sem, TASK_UNINTERRUPTIBLE);
}

/** `down_interruptible(sem)`: 0 when taken, -EINTR if a signal arrived first. */
export function down_interruptible(sem: Semaphore): KernelCode<number> {
  return downCommon(sem, TASK_INTERRUPTIBLE);
}

/** `down_trylock(sem)`: 0 if it took the semaphore, 1 if it was unavailable (the kernel's sense). */
export function* down_trylock(sem: Semaphore): KernelCode<number> {
  const q = sem.wait;
  yield* spin_lock_irqsave(q.lock);
  let ret = 1;
  if (sem.count > 0) {
    sem.count--;
    sem.holders.push(holderName());
    ret = 0;
  }
  yield* spin_unlock_irqrestore(q.lock);
  return ret;
}

/** `up(sem)`: releases it and wakes one exclusive waiter (or calls its func entry). */
export function* up(sem: Semaphore): KernelCode<void> {
  const q = sem.wait;
  yield* spin_lock_irqsave(q.lock);
  sem.count++;
  sem.holders.shift();
  cur.kernel!.emit('sem.up', { sem: sem.name, count: sem.count });
  yield* __wake_up_common(q, TASK_NORMAL, 1);
  yield* spin_unlock_irqrestore(q.lock);
}
