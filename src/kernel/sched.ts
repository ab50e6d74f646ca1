/**
 * The scheduler API kernel code calls: `current`, `set_current_state`, `schedule`,
 * `schedule_timeout`, `wake_up_process`, signals.
 *
 * Two-column picture of why `set_current_state` has a barrier (a lost wake-up without it):
 *
 *     CPU0 - waiter                          CPU1 - waker
 *     __set_current_state(INTERRUPTIBLE);
 *       (the store sits in CPU0's buffer)
 *     if (!cond)   // reads 0                cond = 1;
 *                                            wake_up_process(waiter);
 *                                              // reads state: still RUNNING, no wake
 *       schedule();  // sleeps forever
 */
import { current as cur } from './current.js';
import type { Kernel, TimerHandle } from './kernel.js';
import {
  atomic,
  type KernelCode,
  OP,
  type Op,
  OpIter,
  type Primitive,
  type ScheduleOp,
  smp_store_mb,
  type WakeOp,
  WRITE_ONCE,
} from './ops.js';
import { wake_op } from './prebuilt.js';
import {
  type Context,
  TASK_INTERRUPTIBLE,
  TASK_NORMAL,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  type Task,
} from './task.js';

/** Sleeps without a time limit. */
export const MAX_SCHEDULE_TIMEOUT: number = Number.POSITIVE_INFINITY;

/** The running kernel (inside kernel code). */
export function kernel(): Kernel {
  const k = cur.kernel;
  if (k === null) throw new Error('no kernel is running: kernel code must run inside Kernel.run()');
  return k;
}

/** The current task; throws in interrupt context or outside a task. */
export function current(): Task {
  const t = cur.ctx;
  if (t === null || t.kind !== 'task') {
    throw new Error(
      `current() used ${t === null ? 'outside kernel code' : `in interrupt context (${t.name})`}`,
    );
  }
  return t as Task;
}

/** The CPU running this code. */
export function smp_processor_id(): number {
  const c = cur.cpu;
  if (c === null) throw new Error('smp_processor_id() used outside kernel code');
  return c.id;
}

/** True in interrupt context. */
export function in_interrupt(): boolean {
  return cur.ctx !== null && cur.ctx.kind === 'irq';
}

// Slots of `Context.hot`: these primitives run on every sleep and wake-up, so each context keeps
// one iterator per primitive and re-arms it (OpIter.rearm) instead of allocating an operation
// and an iterator per call. Slots 0-3 are set_current_state(0..3).
const HOT_SCHEDULE = 4;
const HOT_WAKE = 5;
const HOT_TIMEOUT = 6;

type Mutable<T> = { -readonly [K in keyof T]: T[K] };

/** What `Context.hot` keeps: an iterator that can be made new again once finished. */
interface Rearmable {
  rearm(): boolean;
}

/** `ctx`'s kept iterator in `slot`, made new again; undefined if there is none or it is in use. */
function rearmed<T extends Rearmable>(ctx: Context, slot: number): T | undefined {
  const hot = ctx.hot;
  if (hot === null) return undefined;
  const it = hot[slot] as T | null;
  return it?.rearm() ? it : undefined;
}

/** Keeps `it` in `ctx`'s `slot` (replacing one still in use) and returns it. */
function keep<T>(ctx: Context, slot: number, it: T): T {
  // All seven slots from the start: a packed array, not a holey one.
  (ctx.hot ?? (ctx.hot = [null, null, null, null, null, null, null]))[slot] = it;
  return it;
}

/** `set_current_state(s)`: the state store followed by a full barrier (smp_store_mb). */
export function set_current_state(state: number): KernelCode<void> {
  const t = current();
  if (state < 0 || state > 3) return smp_store_mb(t.state, state);
  return rearmed<OpIter<void>>(t, state) ?? keep(t, state, smp_store_mb(t.state, state) as OpIter<void>);
}

/** `__set_current_state(s)`: the state store alone (no barrier). */
export function __set_current_state(state: number): KernelCode<void> {
  return WRITE_ONCE(current().state, state);
}

/**
 * `schedule()`: gives up the CPU. The task sleeps if its state is not TASK_RUNNING (an
 * interruptible sleeper with a signal pending does not sleep); otherwise it lets the next
 * runnable task on this CPU run first. `on` names what it waits on, for hang reports.
 */
export function schedule(on = ''): KernelCode<void> {
  const ctx = cur.ctx;
  if (ctx === null) return new OpIter<void>({ code: OP.SCHEDULE, on });
  const it = rearmed<OpIter<void>>(ctx, HOT_SCHEDULE);
  if (it === undefined) return keep(ctx, HOT_SCHEDULE, new OpIter<void>({ code: OP.SCHEDULE, on }));
  (it.op as Mutable<ScheduleOp>).on = on;
  return it;
}

/** `try_to_wake_up(p, state)`: 1 if `p` was in one of `mask`'s states and is now runnable. */
export function try_to_wake_up(p: Task, mask: number): KernelCode<number> {
  const ctx = cur.ctx;
  if (ctx === null) return new OpIter<number>(wake_op(p, mask));
  const it = rearmed<OpIter<number>>(ctx, HOT_WAKE);
  if (it === undefined) return keep(ctx, HOT_WAKE, new OpIter<number>(wake_op(p, mask)));
  const op = it.op as Mutable<WakeOp>;
  op.task = p;
  op.mask = mask;
  return it;
}

/** `wake_up_process(p)`. */
export function wake_up_process(p: Task): KernelCode<number> {
  return try_to_wake_up(p, TASK_NORMAL);
}

/**
 * `schedule_timeout(ns)`: sleeps (in the state the caller set) until woken or `ns` pass;
 * returns the time left (0 when it timed out). The caller sets the state first, as in the kernel.
 */
export function schedule_timeout(ns: number, on = 'timer'): KernelCode<number> {
  if (ns !== MAX_SCHEDULE_TIMEOUT && (!Number.isInteger(ns) || ns < 0)) {
    throw new Error(`schedule_timeout(${ns}): timeout must be a non-negative integer (ns)`);
  }
  const ctx = cur.ctx;
  if (ctx === null) return new ScheduleTimeout(ns, on);
  const it = rearmed<ScheduleTimeout>(ctx, HOT_TIMEOUT);
  if (it === undefined) return keep(ctx, HOT_TIMEOUT, new ScheduleTimeout(ns, on));
  it.set(ns, on);
  return it;
}

/**
 * schedule_timeout as a two-state iterator (it is on every timed sleep's path): arm the timer
 * and yield schedule(); when resumed, cancel the timer and return the time left. Like OpIter,
 * it is its own iterator result, and a context re-arms its finished one for the next call.
 */
export class ScheduleTimeout implements Generator<Op, number, unknown>, Primitive {
  /** Marks a primitive for the trampoline (see `Primitive`). */
  readonly code = OP.PRIMITIVE;
  /** Its result always goes through `give` (the timer is cancelled there). */
  readonly gives = true;
  /** It takes a schedule() operation. */
  readonly opCode = OP.SCHEDULE;
  private ns: number;
  private readonly op: Mutable<ScheduleOp>;
  /** The timer, kept across calls: the kernel arms it again once it is off the heap. */
  private timer: TimerHandle | null = null;
  private armed = false;
  private expire = 0;
  private state = 0;
  value: unknown = undefined;
  done = false;
  constructor(ns: number, on: string) {
    this.ns = ns;
    this.op = { code: OP.SCHEDULE, on };
  }
  /** Ready for another call, if the last one has finished (see OpIter.rearm). */
  rearm(): boolean {
    if (this.state !== 2) return false;
    this.state = 0;
    this.expire = 0;
    this.done = false;
    this.value = undefined;
    return true;
  }
  /** The operands of the call a re-armed iterator now stands for. */
  set(ns: number, on: string): void {
    this.ns = ns;
    this.op.on = on;
  }
  next(): IteratorResult<Op, number> {
    if (this.state === 0) {
      this.value = this.take();
      return this as unknown as IteratorResult<Op, number>;
    }
    this.value = this.give();
    return this as unknown as IteratorResult<Op, number>;
  }
  /** Arms the timer and returns the schedule() operation (also the trampoline's short cut). */
  take(): Op | null {
    if (this.state !== 0) return null;
    this.state = 1;
    if (this.ns !== MAX_SCHEDULE_TIMEOUT) {
      const k = kernel();
      this.expire = k.now + this.ns;
      this.timer = k.wake_after(this.ns, current(), this.timer);
      this.armed = true;
    }
    return this.op;
  }
  /** Back from schedule(): cancels the timer and returns the time left. */
  give(): number {
    this.state = 2;
    this.done = true;
    if (!this.armed) return MAX_SCHEDULE_TIMEOUT;
    this.disarm();
    // (At most the timeout asked for: past 2^53 ns the sum expire is rounded.)
    return Math.min(this.ns, Math.max(0, this.expire - kernel().now));
  }
  private disarm(): void {
    if (this.armed) this.timer!.cancel();
    this.armed = false;
  }
  return(v: number): IteratorResult<Op, number> {
    this.state = 2;
    this.disarm();
    return { value: v, done: true };
  }
  throw(e: unknown): IteratorResult<Op, number> {
    this.state = 2;
    this.disarm();
    throw e;
  }
  [Symbol.iterator](): Generator<Op, number, unknown> {
    return this;
  }
}

/** Sleeps uninterruptibly for `ns`. */
export function* msleep_ns(ns: number): KernelCode<void> {
  yield* set_current_state(TASK_UNINTERRUPTIBLE);
  yield* schedule_timeout(ns);
}

/** `yield()`: lets other runnable tasks on this CPU run. */
export function* sched_yield(): KernelCode<void> {
  yield* schedule('');
}

/** `signal_pending(p)`. */
export function signal_pending(p: Task): boolean {
  return p.sigpending;
}

/** `send_sig(p)`: makes a signal pending and wakes `p` from an interruptible sleep. */
export function* send_sig(p: Task): KernelCode<void> {
  const k = kernel();
  yield* atomic(p.state.id, true, `send_sig ${p.name}`, () => k.send_signal(p), true);
}

/** Clears the current task's pending signal (the signal was handled). */
export function flush_signals(p: Task): void {
  p.sigpending = false;
}

export { TASK_INTERRUPTIBLE, TASK_NORMAL, TASK_RUNNING, TASK_UNINTERRUPTIBLE };
