/**
 * Wait queues, with the `func` callback entries of the 2.4 AIO patch.
 *
 * `wait_queue_head_t` is a spinlock plus a list of entries. The list itself is plain state
 * changed only under the lock; whether it is empty is also kept in a cell (`active`), because
 * `waitqueue_active()` reads it without the lock — a real lockless load under the memory
 * model, which is exactly where the classic lost wake-up lives:
 *
 *     CPU0 - waker                         CPU1 - waiter
 *                                          for (;;) {
 *     @cond = true;                          prepare_to_wait(&wq, &wait, state);
 *     smp_mb();        // the fix            smp_mb(); // in set_current_state()
 *     if (waitqueue_active(&wq))             if (@cond)
 *             wake_up(&wq);                          break;
 *                                            schedule();
 *                                          }
 *                                          finish_wait(&wq, &wait);
 *
 * Without the `smp_mb()`, CPU0's store to @cond can sit in its store buffer while it reads an
 * empty queue, and CPU1 can read @cond == false: both miss, and CPU1 sleeps forever.
 *
 * Entries are either task entries (`private` = the task) or func entries (`func` called in the
 * waker's context with the queue lock held: a threadless event receiver). The wake-up rule is
 * versioned by `KernelConfig.wakeSemantics`:
 * - `'2.4-aio'`: a func entry (no task) returns nothing and always uses up an exclusive slot;
 *   a task entry uses one only when `try_to_wake_up` really woke the task. An entry made by
 *   `DEFINE_WAIT` (a task plus `autoremove_wake_function`, which 2.4 did not have) counts as
 *   the task entry it stands for: it uses a slot only when its task woke.
 * - `'modern'`: every entry has a func returning an int; a negative value stops the walk; only
 *   a positive value (a real wake) uses up an exclusive slot.
 * In both, non-exclusive entries sit at the head and exclusive ones at the tail, and
 * `nr_exclusive == 0` wakes everyone.
 *
 * Hot paths make the common calls inline from their parts: the list changes under the lock
 * (`add_exclusive_locked`, `remove_locked`) and the wake-up of a lone task entry
 * (`lone_task_entry`, `wake_normal_op`, `wake_traced`) — the same operations and trace.
 */
import type { Cell } from '../kernel/cell.js';
import { current as cur } from '../kernel/current.js';
import { EINTR } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { type KernelCode, type Op, READ_ONCE, smp_mb, type WakeOp, WRITE_ONCE } from '../kernel/ops.js';
import { prebuilt, wake_op } from '../kernel/prebuilt.js';
import {
  __set_current_state,
  current,
  kernel,
  MAX_SCHEDULE_TIMEOUT,
  schedule,
  schedule_timeout,
  set_current_state,
  signal_pending,
  try_to_wake_up,
} from '../kernel/sched.js';
import { type Spinlock, spin_lock_irqsave, spin_unlock_irqrestore } from '../kernel/spinlock.js';
import {
  TASK_INTERRUPTIBLE,
  TASK_NORMAL,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  type Task,
} from '../kernel/task.js';

/** The entry is an exclusive waiter (wake-one). */
export const WQ_FLAG_EXCLUSIVE = 0x01;

/**
 * A wait-queue callback. Called with the queue lock held, in the waker's context (possibly an
 * interrupt). Under '2.4-aio' its result is ignored; under 'modern' it returns a number
 * (negative stops the walk, positive means it woke something).
 */
export type WaitQueueFunc = (
  wait: WaitQueueEntry,
  mode: number,
  sync: number,
  key: unknown,
) => KernelCode<number | undefined>;

/** `wait_queue_head_t`. */
export class WaitQueueHead {
  readonly name: string;
  readonly lock: Spinlock;
  /** The entries, head first. Changed only under `lock`. */
  readonly list: WaitQueueEntry[] = [];
  /** 1 while the list is non-empty: what `waitqueue_active` reads locklessly. */
  readonly active: Cell;
  private ops: WaitQueueOps | null = null;
  constructor(name: string, lock: Spinlock, active: Cell) {
    this.name = name;
    this.lock = lock;
    this.active = active;
  }
  /** The queue's prebuilt operations (made on first use; see `prebuilt.ts`). */
  get op(): WaitQueueOps {
    if (this.ops === null) this.ops = new WaitQueueOps(this.lock, this.active);
    return this.ops;
  }
}

/** The operations of a wait queue's hot paths, made once (`prebuilt`). */
export class WaitQueueOps {
  /** `spin_lock_irqsave(&q->lock)` and its unlock. */
  readonly lock: Op;
  readonly unlock: Op;
  /** `READ_ONCE(active)`, and `WRITE_ONCE(active, 0 / 1)`. */
  readonly loadActive: Op;
  readonly setActive: readonly [Op, Op];
  constructor(lock: Spinlock, active: Cell) {
    this.lock = prebuilt(spin_lock_irqsave(lock));
    this.unlock = prebuilt(spin_unlock_irqrestore(lock));
    this.loadActive = prebuilt(READ_ONCE(active));
    this.setActive = [prebuilt(WRITE_ONCE(active, 0)), prebuilt(WRITE_ONCE(active, 1))];
  }
}

/** `wait_queue_t` (`struct wait_queue_entry`). */
export class WaitQueueEntry {
  name: string;
  flags = 0;
  /** The task to wake, for task entries. */
  private: Task | null = null;
  /** The callback, for func entries (and, under 'modern', for every entry). */
  func: WaitQueueFunc | null = null;
  /** The queue it is on, or null (the kernel's list_empty(&wait->task_list)). */
  on: WaitQueueHead | null = null;
  /** Back-pointer to whatever embeds this entry (a worktodo, an iocb ...). */
  owner: unknown = null;
  /** `try_to_wake_up(private, TASK_NORMAL)`'s operation, made on first use (`lone_task_entry`). */
  wakeOp: WakeOp | null = null;
  constructor(name: string) {
    this.name = name;
  }
}

/** `init_waitqueue_head(q)`: a queue with its own lock (class `wq:<name>` unless given). */
export function init_waitqueue_head(k: Kernel, name: string, lockClass?: string): WaitQueueHead {
  return new WaitQueueHead(
    name,
    k.spinlock(`${name}.lock`, lockClass ?? `${name}.lock`),
    k.cell(`${name}.active`, 0),
  );
}

/** `init_waitqueue_entry(e, task)`: a task entry. */
export function init_waitqueue_entry(e: WaitQueueEntry, p: Task): WaitQueueEntry {
  e.flags = 0;
  e.private = p;
  e.func = null;
  return e;
}

/** `init_waitqueue_func_entry(e, func)`: a threadless entry whose func runs in the waker. */
export function init_waitqueue_func_entry(e: WaitQueueEntry, func: WaitQueueFunc): WaitQueueEntry {
  e.flags = 0;
  e.private = null;
  e.func = func;
  return e;
}

/** `DECLARE_WAITQUEUE(name, tsk)`. */
export function DECLARE_WAITQUEUE(name: string, p: Task): WaitQueueEntry {
  return init_waitqueue_entry(new WaitQueueEntry(name), p);
}

/** `DEFINE_WAIT(name)`: an entry for the current task that removes itself when woken. */
export function DEFINE_WAIT(name = `wait:${current().name}`): WaitQueueEntry {
  const e = new WaitQueueEntry(name);
  e.private = current();
  e.func = autoremove_wake_function;
  return e;
}

function emitAdd(q: WaitQueueHead, e: WaitQueueEntry): void {
  const k = cur.kernel;
  if (k?.tracing)
    k.emit('wq.add', { wq: q.name, entry: e.name, exclusive: (e.flags & WQ_FLAG_EXCLUSIVE) !== 0 });
}

// The list changes as plain functions; the callers yield the store to `active` (when the
// list's emptiness changed: the lockless view follows it) themselves, one level up.

/** Links `e` at the head (`tail` false) or the tail of `q`; true if `q` was empty. */
function link(q: WaitQueueHead, e: WaitQueueEntry, tail: boolean, fn: string): boolean {
  assertLocked(q, fn);
  if (e.on !== null) throw new Error(`${fn}: entry '${e.name}' is already on wait queue '${e.on.name}'`);
  const wasEmpty = q.list.length === 0;
  if (tail) q.list.push(e);
  else q.list.unshift(e);
  e.on = q;
  emitAdd(q, e);
  return wasEmpty;
}

/** Unlinks `e` from `q`; true if `q` is now empty. */
function unlink(q: WaitQueueHead, e: WaitQueueEntry, fn: string): boolean {
  assertLocked(q, fn);
  const list = q.list;
  const i = list.indexOf(e);
  if (i < 0) throw new Error(`${fn}: entry '${e.name}' is not on wait queue '${q.name}'`);
  if (i === list.length - 1) list.pop();
  else list.splice(i, 1);
  e.on = null;
  const k = cur.kernel;
  if (k?.tracing) k.emit('wq.remove', { wq: q.name, entry: e.name });
  return q.list.length === 0;
}

/** `__add_wait_queue(q, e)`: at the head; caller holds `q.lock`. */
export function* __add_wait_queue(q: WaitQueueHead, e: WaitQueueEntry): KernelCode<void> {
  if (link(q, e, false, '__add_wait_queue')) yield q.op.setActive[1];
}

/** `__add_wait_queue_tail(q, e)`: at the tail (wake-one waiters); caller holds `q.lock`. */
export function* __add_wait_queue_tail(q: WaitQueueHead, e: WaitQueueEntry): KernelCode<void> {
  if (link(q, e, true, '__add_wait_queue_tail')) yield q.op.setActive[1];
}

/** `__remove_wait_queue(q, e)`; caller holds `q.lock`. */
export function* __remove_wait_queue(q: WaitQueueHead, e: WaitQueueEntry): KernelCode<void> {
  if (remove_locked(q, e)) yield q.op.setActive[0];
}

function assertLocked(q: WaitQueueHead, fn: string): void {
  const ctx = cur.ctx;
  if (q.lock.owner === null || (ctx !== null && q.lock.owner !== ctx)) {
    throw new Error(
      `${fn}('${q.name}') called without holding ${q.lock.name} (the caller must hold the queue lock)`,
    );
  }
}

/** `add_wait_queue(q, e)`: a non-exclusive waiter, at the head. */
export function* add_wait_queue(q: WaitQueueHead, e: WaitQueueEntry): KernelCode<void> {
  const op = q.op;
  yield op.lock;
  e.flags &= ~WQ_FLAG_EXCLUSIVE;
  if (link(q, e, false, '__add_wait_queue')) yield op.setActive[1];
  yield op.unlock;
}

/** `add_wait_queue_exclusive(q, e)`: an exclusive waiter, at the tail. */
export function* add_wait_queue_exclusive(q: WaitQueueHead, e: WaitQueueEntry): KernelCode<void> {
  const op = q.op;
  yield op.lock;
  if (add_exclusive_locked(q, e)) yield op.setActive[1];
  yield op.unlock;
}

/** `remove_wait_queue(q, e)`. */
export function* remove_wait_queue(q: WaitQueueHead, e: WaitQueueEntry): KernelCode<void> {
  const op = q.op;
  yield op.lock;
  if (remove_locked(q, e)) yield op.setActive[0];
  yield op.unlock;
}

/**
 * The list change of `add_wait_queue_exclusive(q, e)`, for a hot caller that makes its
 * operations inline: `yield op.lock; if (add_exclusive_locked(q, e)) yield op.setActive[1];
 * yield op.unlock` (`op = q.op`) is `yield* add_wait_queue_exclusive(q, e)` without a frame.
 * True when the queue was empty (the caller stores 1 to `active`).
 */
export function add_exclusive_locked(q: WaitQueueHead, e: WaitQueueEntry): boolean {
  e.flags |= WQ_FLAG_EXCLUSIVE;
  return link(q, e, true, '__add_wait_queue_tail');
}

/**
 * The list change of `remove_wait_queue(q, e)`, for a hot caller that makes its operations
 * inline (as `add_exclusive_locked`). True when the queue is now empty (the caller stores 0 to
 * `active`).
 */
export function remove_locked(q: WaitQueueHead, e: WaitQueueEntry): boolean {
  return unlink(q, e, '__remove_wait_queue');
}

/**
 * `add_wait_queue_cond(q, e, cond)` (2.4 AIO): adds `e`, issues a full barrier, then re-checks
 * `cond` (the condition that makes waiting necessary, e.g. "the page is still locked") under
 * the queue lock. Returns 1 ("raced") and takes `e` off again if `cond` no longer holds — the
 * event already happened, so the caller must act now instead of waiting for a wake-up that
 * will never come. Returns 0 when `e` stays queued.
 */
export function* add_wait_queue_cond(
  q: WaitQueueHead,
  e: WaitQueueEntry,
  cond: () => KernelCode<boolean>,
  exclusive = false,
): KernelCode<number> {
  yield* spin_lock_irqsave(q.lock);
  if (exclusive) {
    e.flags = WQ_FLAG_EXCLUSIVE;
    yield* __add_wait_queue_tail(q, e);
  } else {
    e.flags = 0;
    yield* __add_wait_queue(q, e);
  }
  yield* smp_mb();
  let raced = 0;
  if (!(yield* cond())) {
    raced = 1;
    yield* __remove_wait_queue(q, e);
  }
  yield* spin_unlock_irqrestore(q.lock);
  return raced;
}

/** `waitqueue_active(q)`: a lockless peek at whether anyone waits. Racy without a barrier. */
export function* waitqueue_active(q: WaitQueueHead): KernelCode<boolean> {
  return (yield q.op.loadActive) !== 0;
}

/** `wq_has_sleeper(q)`: `smp_mb()` then `waitqueue_active(q)`: the safe lockless check. */
export function* wq_has_sleeper(q: WaitQueueHead): KernelCode<boolean> {
  yield* smp_mb();
  return yield* waitqueue_active(q);
}

/** `default_wake_function`: wakes the entry's task; 1 if it was woken. */
export function* default_wake_function(wait: WaitQueueEntry, mode: number): KernelCode<number> {
  const p = wait.private;
  if (p === null) throw new Error(`default_wake_function: entry '${wait.name}' has no task`);
  return yield* try_to_wake_up(p, mode);
}

/** `autoremove_wake_function`: wakes the task and, if it woke, takes the entry off the queue. */
export function* autoremove_wake_function(wait: WaitQueueEntry, mode: number): KernelCode<number> {
  const ret = yield* default_wake_function(wait, mode);
  if (ret !== 0 && wait.on !== null) yield* __remove_wait_queue(wait.on, wait);
  return ret;
}

/**
 * `__wake_up_common(q, mode, nr_exclusive, sync, key)`: the walk; caller holds `q.lock`.
 * Returns the number of entries that woke (task entries woken, funcs called or, under
 * 'modern', funcs that returned a positive value).
 */
export function* __wake_up_common(
  q: WaitQueueHead,
  mode: number,
  nr_exclusive: number,
  sync = 0,
  key: unknown = null,
): KernelCode<number> {
  assertLocked(q, '__wake_up_common');
  const n = q.list.length;
  if (n === 0) return 0;
  const k = kernel();
  const modern = k.config.wakeSemantics === 'modern';
  // The walk goes over the entries queued when it started (callbacks may change the list); a
  // lone entry needs no copy of the list.
  const first = q.list[0]!;
  const snapshot = n === 1 ? null : q.list.slice();
  let woken = 0;
  for (let i = 0; i < n; i++) {
    const e = snapshot === null ? first : snapshot[i]!;
    if (e.on !== q) continue; // taken off by an earlier callback
    const exclusive = (e.flags & WQ_FLAG_EXCLUSIVE) !== 0;
    if (e.func === null && e.private === null) {
      throw new Error(
        `__wake_up_common('${q.name}'): entry '${e.name}' has neither a task nor a func (initialise it with init_waitqueue_entry or init_waitqueue_func_entry)`,
      );
    }
    if (modern) {
      const ret =
        e.func !== null ? ((yield* e.func(e, mode, sync, key)) ?? 0) : yield* default_wake_function(e, mode);
      if (k.tracing)
        k.emit('wq.wake', {
          wq: q.name,
          entry: e.name,
          func: e.func === null ? 'default_wake_function' : e.func.name,
          result: ret,
        });
      if (ret < 0) break;
      if (ret > 0) woken++;
      if (ret > 0 && exclusive && --nr_exclusive === 0) break;
    } else if (e.private === null) {
      // A threadless func entry: called, its result ignored, always uses up an exclusive slot.
      yield* e.func!(e, mode, sync, key);
      woken++;
      if (k.tracing) k.emit('wq.wake', { wq: q.name, entry: e.name, func: e.func!.name, result: 1 });
      if (exclusive && --nr_exclusive === 0) break;
    } else {
      // A task entry (plain, or DEFINE_WAIT's autoremove_wake_function): it uses up an
      // exclusive slot only if its task really woke, as 2.4's try_to_wake_up() test.
      // Trampolined calls (a plain `try_to_wake_up` hands its operation straight over).
      const ret: number =
        e.func !== null ? ((yield e.func(e, mode, sync, key)) ?? 0) : yield try_to_wake_up(e.private, mode);
      wake_traced(q, e, ret);
      if (ret !== 0) woken++;
      if (ret !== 0 && exclusive && --nr_exclusive === 0) break;
    }
  }
  return woken;
}

/**
 * For a hot waker that holds `q.lock`: the entry to wake when the walk of `__wake_up_common`
 * would be a lone plain task entry under '2.4-aio' semantics, else null. The caller then makes
 * the walk inline — `ret = yield try_to_wake_up(e.private, mode)` (a trampolined primitive: no
 * frame; for TASK_NORMAL, `yield wake_normal_op(e)`), then `wake_traced(q, e, ret)` — the same
 * operations and trace as the walk.
 */
export function lone_task_entry(q: WaitQueueHead): WaitQueueEntry | null {
  if (q.list.length !== 1) return null;
  const e = q.list[0]!;
  if (e.func !== null || e.private === null) return null;
  const k = cur.kernel;
  if (k === null || k.config.wakeSemantics === 'modern') return null;
  assertLocked(q, '__wake_up_common');
  return e;
}

/**
 * The operation of `try_to_wake_up(e.private, TASK_NORMAL)` for the task entry `e`, made once
 * per entry and task (operations are immutable): what a waker in interrupt context yields
 * without making the primitive's iterator (an interrupt's context keeps none across
 * interrupts).
 */
export function wake_normal_op(e: WaitQueueEntry): WakeOp {
  const t = e.private!;
  let op = e.wakeOp;
  if (op === null || op.task !== t) {
    op = wake_op(t, TASK_NORMAL);
    e.wakeOp = op;
  }
  return op;
}

/** The trace of `__wake_up_common` (2.4-aio semantics) waking the task entry `e` (see `lone_task_entry`). */
export function wake_traced(q: WaitQueueHead, e: WaitQueueEntry, ret: number): void {
  const k = cur.kernel;
  if (k?.tracing)
    k.emit('wq.wake', { wq: q.name, entry: e.name, func: e.func === null ? '' : e.func.name, result: ret });
}

/** `__wake_up(q, mode, nr_exclusive)`: takes the queue lock and walks it. */
export function* __wake_up(
  q: WaitQueueHead,
  mode: number,
  nr_exclusive: number,
  key: unknown = null,
): KernelCode<number> {
  const op = q.op;
  yield op.lock;
  // An empty queue: nothing to walk (and no walker to resume on every operation).
  const n = q.list.length === 0 ? 0 : yield* __wake_up_common(q, mode, nr_exclusive, 0, key);
  yield op.unlock;
  return n;
}

/** `wake_up(q)`: all non-exclusive waiters and one exclusive waiter. */
export function wake_up(q: WaitQueueHead): KernelCode<number> {
  return __wake_up(q, TASK_NORMAL, 1);
}
/** `wake_up_nr(q, nr)`: all non-exclusive waiters and up to `nr` exclusive ones. */
export function wake_up_nr(q: WaitQueueHead, nr: number): KernelCode<number> {
  return __wake_up(q, TASK_NORMAL, nr);
}
/** `wake_up_all(q)`: everyone. */
export function wake_up_all(q: WaitQueueHead): KernelCode<number> {
  return __wake_up(q, TASK_NORMAL, 0);
}
/** `wake_up_interruptible(q)`: as wake_up, only TASK_INTERRUPTIBLE sleepers. */
export function wake_up_interruptible(q: WaitQueueHead): KernelCode<number> {
  return __wake_up(q, TASK_INTERRUPTIBLE, 1);
}
/** `wake_up_interruptible_nr(q, nr)`. */
export function wake_up_interruptible_nr(q: WaitQueueHead, nr: number): KernelCode<number> {
  return __wake_up(q, TASK_INTERRUPTIBLE, nr);
}
/** `wake_up_interruptible_all(q)`. */
export function wake_up_interruptible_all(q: WaitQueueHead): KernelCode<number> {
  return __wake_up(q, TASK_INTERRUPTIBLE, 0);
}

/** `prepare_to_wait(q, e, state)`: queue `e` (non-exclusive, head) if not queued; set the state. */
export function* prepare_to_wait(q: WaitQueueHead, e: WaitQueueEntry, state: number): KernelCode<void> {
  yield* spin_lock_irqsave(q.lock);
  e.flags &= ~WQ_FLAG_EXCLUSIVE;
  if (e.on === null) yield* __add_wait_queue(q, e);
  yield* set_current_state(state);
  yield* spin_unlock_irqrestore(q.lock);
}

/** `prepare_to_wait_exclusive(q, e, state)`: as prepare_to_wait, exclusive, at the tail. */
export function* prepare_to_wait_exclusive(
  q: WaitQueueHead,
  e: WaitQueueEntry,
  state: number,
): KernelCode<void> {
  yield* spin_lock_irqsave(q.lock);
  e.flags |= WQ_FLAG_EXCLUSIVE;
  if (e.on === null) yield* __add_wait_queue_tail(q, e);
  yield* set_current_state(state);
  yield* spin_unlock_irqrestore(q.lock);
}

/**
 * `finish_wait(q, e)`: back to TASK_RUNNING and off the queue (if a waker did not remove it).
 * The kernel peeks at the entry locklessly (`list_empty_careful`) to skip the lock; here the
 * check is always made under the lock, so every access to the list stays a visible step.
 */
export function* finish_wait(q: WaitQueueHead, e: WaitQueueEntry): KernelCode<void> {
  yield* __set_current_state(TASK_RUNNING);
  yield* spin_lock_irqsave(q.lock);
  if (e.on !== null) yield* __remove_wait_queue(q, e);
  yield* spin_unlock_irqrestore(q.lock);
}

/** A condition for the wait_event family: kernel code returning true when done waiting. */
export type WaitCondition = () => KernelCode<boolean>;

/** `wait_event(wq, condition)`: sleeps uninterruptibly until `condition` holds. */
export function* wait_event(q: WaitQueueHead, condition: WaitCondition): KernelCode<void> {
  if (yield* condition()) return;
  const wait = DEFINE_WAIT();
  for (;;) {
    yield* prepare_to_wait(q, wait, TASK_UNINTERRUPTIBLE);
    if (yield* condition()) break;
    yield* schedule(`wq:${q.name}`);
  }
  yield* finish_wait(q, wait);
}

/** `wait_event_interruptible(wq, condition)`: 0 when the condition holds, -EINTR on a signal. */
export function* wait_event_interruptible(q: WaitQueueHead, condition: WaitCondition): KernelCode<number> {
  if (yield* condition()) return 0;
  const wait = DEFINE_WAIT();
  let ret = 0;
  for (;;) {
    yield* prepare_to_wait(q, wait, TASK_INTERRUPTIBLE);
    if (yield* condition()) break;
    if (signal_pending(current())) {
      ret = -EINTR;
      break;
    }
    yield* schedule(`wq:${q.name}`);
  }
  yield* finish_wait(q, wait);
  return ret;
}

/**
 * `wait_event_timeout(wq, condition, timeout)`: 0 if the timeout passed with the condition
 * still false, else the time left (at least 1).
 */
export function* wait_event_timeout(
  q: WaitQueueHead,
  condition: WaitCondition,
  timeout: number,
): KernelCode<number> {
  if (yield* condition()) return Math.max(1, timeout);
  const wait = DEFINE_WAIT();
  let left = timeout;
  for (;;) {
    yield* prepare_to_wait(q, wait, TASK_UNINTERRUPTIBLE);
    if (yield* condition()) {
      left = Math.max(1, left);
      break;
    }
    if (left <= 0) {
      left = 0;
      break;
    }
    left = yield* schedule_timeout(left, `wq:${q.name}`);
    if (left === 0 && (yield* condition())) left = 1;
    if (left === 0) break;
  }
  yield* finish_wait(q, wait);
  return left;
}

function* sleepOn(q: WaitQueueHead, state: number, timeout: number): KernelCode<number> {
  const t = current();
  const wait = DECLARE_WAITQUEUE(`sleep_on:${t.name}`, t);
  yield* __set_current_state(state);
  yield* spin_lock_irqsave(q.lock);
  yield* __add_wait_queue(q, wait);
  yield* spin_unlock_irqrestore(q.lock);
  const left = yield* schedule_timeout(timeout, `wq:${q.name}`);
  yield* spin_lock_irqsave(q.lock);
  yield* __remove_wait_queue(q, wait);
  yield* spin_unlock_irqrestore(q.lock);
  return left;
}

/**
 * `sleep_on(q)` (2.4, racy by design): the caller checked its condition before calling, so a
 * wake-up between that check and the queueing here is lost. Kept for teaching.
 */
export function* sleep_on(q: WaitQueueHead): KernelCode<void> {
  yield* sleepOn(q, TASK_UNINTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT);
}

/** `interruptible_sleep_on(q)`: as sleep_on, interruptible. Racy by design. */
export function* interruptible_sleep_on(q: WaitQueueHead): KernelCode<void> {
  yield* sleepOn(q, TASK_INTERRUPTIBLE, MAX_SCHEDULE_TIMEOUT);
}

/** `sleep_on_timeout(q, timeout)`: returns the time left. Racy by design. */
export function sleep_on_timeout(q: WaitQueueHead, timeout: number): KernelCode<number> {
  return sleepOn(q, TASK_UNINTERRUPTIBLE, timeout);
}
