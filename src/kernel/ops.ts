/**
 * Operations: what kernel code yields to the simulator.
 *
 * Kernel code is a generator (`KernelCode<T>`); each `yield` hands one operation to the
 * kernel and receives its result. Operations that only touch the running CPU's own state
 * (a store entering the store buffer, a write barrier, a CPU cost in untimed mode, a trace
 * note) are executed at once, inside the current step. Every other operation — a load or a
 * locked RMW of a cell, a spinlock acquisition, a sleep or a wake-up, an `atomic()` section on
 * a named object — is *visible*: the CPU stops in front of it, and the Chooser decides which
 * CPU's visible operation runs next. That is the step.
 */
import type { Cell } from './cell.js';
import type { Spinlock } from './spinlock.js';
import type { Task } from './task.js';

/**
 * A piece of kernel code returning T. The value sent back into a `yield` depends on the
 * operation (each primitive below casts it to its own result type), hence `any`.
 *
 * Kernel code yields operations, or other kernel code: `yield f(x)` is a call through the
 * context's own stack of frames (the trampoline), which runs `f(x)` to its end and resumes with
 * its result, exactly as `yield* f(x)` would. `yield*` nests generators, and every level adds
 * to every resume of the innermost one; a trampolined call costs the same at any depth. Its
 * result is untyped, so hot paths that use it say the type: `const n: number = yield f(x)`.
 */
// biome-ignore lint/suspicious/noExplicitAny: the resume value's type depends on the operation yielded
export type KernelCode<T = void> = Generator<Op | KernelCall, T, any>;

/** Kernel code yielded as a trampolined call (see `KernelCode`). */
// biome-ignore lint/suspicious/noExplicitAny: as KernelCode
export interface KernelCall extends Generator<Op | KernelCall, unknown, any> {}

/** Operation codes. */
export const OP = {
  LOAD: 1,
  STORE: 2,
  RMW: 3,
  FENCE: 4,
  COST: 5,
  LOCK: 6,
  UNLOCK: 7,
  SCHEDULE: 8,
  WAKE: 9,
  ATOMIC: 10,
  IRQ: 11,
  NOTE: 12,
  TRYLOCK: 13,
  /**
   * Not an operation: the `code` of a primitive's iterator (`OpIter`, schedule_timeout's), so
   * that the kernel tells a trampolined primitive from an operation and from other kernel code
   * by one property (see `Primitive`).
   */
  PRIMITIVE: 100,
} as const;

/** How a load is ordered. */
export type LoadHow = 'READ_ONCE' | 'smp_load_acquire' | 'plain';
/** How a store is ordered. */
export type StoreHow = 'WRITE_ONCE' | 'smp_store_release' | 'smp_store_mb' | 'plain';
/** Barrier kinds. */
export type FenceKind = 'smp_mb' | 'smp_wmb' | 'smp_rmb' | 'barrier';

export interface LoadOp {
  readonly code: typeof OP.LOAD;
  readonly cell: Cell;
  readonly how: LoadHow;
}
export interface StoreOp {
  readonly code: typeof OP.STORE;
  readonly cell: Cell;
  readonly value: number;
  readonly how: StoreHow;
}
/** A locked read-modify-write: `fn(old)` gives the new value; the op returns `ret(old, new)`. */
export interface RmwOp {
  readonly code: typeof OP.RMW;
  readonly cell: Cell;
  readonly name: string;
  readonly fn: (old: number) => number;
  readonly ret: 'old' | 'new';
  /** Fully ordered (value-returning atomics); else relaxed (set_bit, atomic_inc). */
  readonly ordered: boolean;
}
export interface FenceOp {
  readonly code: typeof OP.FENCE;
  readonly kind: FenceKind;
}
export interface CostOp {
  readonly code: typeof OP.COST;
  readonly ns: number;
}
/** Spinlock acquisition flavours. */
export type LockFlavour = 'spin_lock' | 'spin_lock_irq' | 'spin_lock_irqsave' | 'spin_lock_bh';
export interface LockOp {
  readonly code: typeof OP.LOCK;
  readonly lock: Spinlock;
  readonly flavour: LockFlavour;
}
export interface TrylockOp {
  readonly code: typeof OP.TRYLOCK;
  readonly lock: Spinlock;
}
export interface UnlockOp {
  readonly code: typeof OP.UNLOCK;
  readonly lock: Spinlock;
  readonly flavour: LockFlavour;
}
/** schedule(): give up the CPU; sleep if the task's state is not TASK_RUNNING. */
export interface ScheduleOp {
  readonly code: typeof OP.SCHEDULE;
  /** What the task waits on, for hang reports ('' = nothing named). */
  readonly on: string;
}
/** try_to_wake_up(task, mask): returns 1 if the task was woken. */
export interface WakeOp {
  readonly code: typeof OP.WAKE;
  readonly task: Task;
  readonly mask: number;
}
/**
 * A visible atomic section: `fn` runs in one step when chosen. `obj` names what it touches
 * (an object id from `Kernel.newObjectId()`) so the explorer knows what it conflicts with.
 */
export interface AtomicOp {
  readonly code: typeof OP.ATOMIC;
  readonly obj: number;
  readonly write: boolean;
  readonly label: string;
  readonly fn: () => unknown;
  /** A scheduler action (changes who can run): ordered against every other scheduler action. */
  readonly sched?: boolean;
}
/** local_irq_save / restore / disable / enable: purely local. */
export interface IrqOp {
  readonly code: typeof OP.IRQ;
  readonly action: 'disable' | 'enable' | 'save' | 'restore' | 'bh_disable' | 'bh_enable';
  readonly flags: number;
}
export interface NoteOp {
  readonly code: typeof OP.NOTE;
  readonly text: string;
}

export type Op =
  | LoadOp
  | StoreOp
  | RmwOp
  | FenceOp
  | CostOp
  | LockOp
  | TrylockOp
  | UnlockOp
  | ScheduleOp
  | WakeOp
  | AtomicOp
  | IrqOp
  | NoteOp;

// ---------------------------------------------------------------------------------------------
// Primitive kernel API over the operations. Names follow the kernel's.
//
// Each primitive is one yield. Rather than a generator per call (a generator object and a
// delegation frame on every resume), a primitive returns an `OpIter`: a two-state iterator
// that `yield*` drives exactly like a one-yield generator, for about half the cost.

/**
 * A one-operation piece of kernel code: yields `op`, then returns `post(result)`.
 *
 * It is also its own iterator result: `next()` returns the iterator itself, whose `value` and
 * `done` say what a fresh `{ value, done }` object would. `yield*` reads a result at once (and
 * hands a not-done one on unchanged to whoever resumes the generator), so nothing keeps a result
 * across the next call: one object per primitive call instead of three.
 */
/**
 * One operation the trampoline can run without a frame (`code` is `OP.PRIMITIVE`): `take()`
 * gives the operation (null: run it as a frame after all), and when `gives`, the kernel passes
 * the operation's result through `give` before the caller gets it.
 */
export interface Primitive {
  readonly code: typeof OP.PRIMITIVE;
  /** The code of the operation `take()` gives. */
  readonly opCode: number;
  take(): Op | null;
  readonly gives: boolean;
  give(v: unknown): unknown;
}

export class OpIter<T> implements Generator<Op, T, unknown>, Primitive {
  /** Marks a primitive for the trampoline (see `Primitive`). */
  readonly code = OP.PRIMITIVE;
  /** The operation (hot primitives re-arm an iterator with new operands: see `rearm`). */
  readonly op: Op;
  /** `op.code` (see `Primitive`). */
  readonly opCode: number;
  /** Whether a taken operation's result goes through `give` (see `take`). */
  readonly gives: boolean;
  private readonly post: ((v: unknown) => T) | null;
  private state = 0;
  /** The current result's value: the op, then the returned value. */
  value: unknown = undefined;
  /** The current result's `done`. */
  done = false;
  constructor(op: Op, post: ((v: unknown) => T) | null = null) {
    this.op = op;
    this.opCode = op.code;
    this.gives = post !== null;
    this.post = post;
  }
  next(v?: unknown): IteratorResult<Op, T> {
    if (this.state === 0) {
      this.state = 1;
      this.value = this.op;
      return this as unknown as IteratorResult<Op, T>;
    }
    this.state = 2;
    this.done = true;
    this.value = this.post === null ? v : this.post(v);
    return this as unknown as IteratorResult<Op, T>;
  }
  /**
   * The trampoline's short cut for `yield primitive()` (see `Kernel.advance`): when the iterator
   * is fresh, returns its operation, to run with no frame; else null (it runs as a frame).
   * Without `post` the iterator is then finished and the operation's result goes straight back
   * to the caller; with one (`gives`), the kernel passes that result through `give` first.
   */
  take(): Op | null {
    if (this.state !== 0) return null;
    this.state = this.post === null ? 2 : 1;
    this.done = this.post === null;
    return this.op;
  }
  /** What the caller of a taken primitive gets for the operation's result `v`. */
  give(v: unknown): T {
    this.state = 2;
    this.done = true;
    return this.post === null ? (v as T) : this.post(v);
  }
  /**
   * Makes a finished iterator new again, for a context's cache of a hot primitive; false (and
   * nothing changed) while it is unused or half-way, so that an iterator created and not yet
   * driven is never taken over.
   */
  rearm(): boolean {
    if (this.state !== 2) return false;
    this.state = 0;
    this.done = false;
    this.value = undefined;
    return true;
  }
  return(v: T): IteratorResult<Op, T> {
    this.state = 2;
    return { value: v, done: true };
  }
  throw(e: unknown): IteratorResult<Op, T> {
    this.state = 2;
    throw e;
  }
  [Symbol.iterator](): Generator<Op, T, unknown> {
    return this;
  }
}

function one<T>(op: Op, post: ((v: unknown) => T) | null = null): KernelCode<T> {
  return new OpIter<T>(op, post);
}

const MB: FenceOp = Object.freeze({ code: OP.FENCE, kind: 'smp_mb' });
const WMB: FenceOp = Object.freeze({ code: OP.FENCE, kind: 'smp_wmb' });
const RMB: FenceOp = Object.freeze({ code: OP.FENCE, kind: 'smp_rmb' });
const BARRIER: FenceOp = Object.freeze({ code: OP.FENCE, kind: 'barrier' });

/** `READ_ONCE(*x)`: one load, never torn or merged. */
export function READ_ONCE(cell: Cell): KernelCode<number> {
  return one({ code: OP.LOAD, cell, how: 'READ_ONCE' });
}

/** `WRITE_ONCE(*x, v)`. */
export function WRITE_ONCE(cell: Cell, value: number): KernelCode<void> {
  return one({ code: OP.STORE, cell, value, how: 'WRITE_ONCE' });
}

/** `smp_load_acquire(x)`: later accesses are ordered after this load. */
export function smp_load_acquire(cell: Cell): KernelCode<number> {
  return one({ code: OP.LOAD, cell, how: 'smp_load_acquire' });
}

/** `smp_store_release(x, v)`: earlier accesses are ordered before this store. */
export function smp_store_release(cell: Cell, value: number): KernelCode<void> {
  return one({ code: OP.STORE, cell, value, how: 'smp_store_release' });
}

/** Full memory barrier. */
export function smp_mb(): KernelCode<void> {
  return one(MB);
}
/** Write barrier: orders earlier stores before later stores. */
export function smp_wmb(): KernelCode<void> {
  return one(WMB);
}
/** Read barrier: orders earlier loads before later loads. */
export function smp_rmb(): KernelCode<void> {
  return one(RMB);
}
/** Compiler barrier: nothing at run time here (the simulator does not reorder code). */
export function barrier(): KernelCode<void> {
  return one(BARRIER);
}
/** `smp_store_mb(x, v)`: a store followed by a full barrier (as `set_current_state` uses). */
export function smp_store_mb(cell: Cell, value: number): KernelCode<void> {
  return one({ code: OP.STORE, cell, value, how: 'smp_store_mb' });
}

function rmw(
  cell: Cell,
  name: string,
  fn: (old: number) => number,
  ret: 'old' | 'new',
  ordered = true,
): RmwOp {
  return { code: OP.RMW, cell, name, fn, ret, ordered };
}

const bitOf =
  (m: number) =>
  (v: unknown): number =>
    ((v as number) & m) !== 0 ? 1 : 0;

/** `xchg(x, v)`: returns the old value; fully ordered. */
export function xchg(cell: Cell, value: number): KernelCode<number> {
  return one(rmw(cell, 'xchg', () => value, 'old'));
}
/** `cmpxchg(x, old, new)`: returns the value read; stores `nv` only if it equalled `expected`. */
export function cmpxchg(cell: Cell, expected: number, nv: number): KernelCode<number> {
  return one(rmw(cell, 'cmpxchg', (o) => (o === expected ? nv : o), 'old'));
}
/** `test_and_set_bit(nr, addr)`: returns the old bit (0 or 1). */
export function test_and_set_bit(nr: number, cell: Cell): KernelCode<number> {
  const m = 1 << nr;
  return one(
    rmw(cell, 'test_and_set_bit', (o) => o | m, 'old'),
    bitOf(m),
  );
}
/** `test_and_clear_bit(nr, addr)`: returns the old bit. */
export function test_and_clear_bit(nr: number, cell: Cell): KernelCode<number> {
  const m = 1 << nr;
  return one(
    rmw(cell, 'test_and_clear_bit', (o) => o & ~m, 'old'),
    bitOf(m),
  );
}
/** `set_bit(nr, addr)`: atomic, not a barrier in the kernel's model (locked on x86). */
export function set_bit(nr: number, cell: Cell): KernelCode<void> {
  const m = 1 << nr;
  return one(
    rmw(cell, 'set_bit', (o) => o | m, 'new', false),
    () => undefined,
  );
}
/** `clear_bit(nr, addr)`. */
export function clear_bit(nr: number, cell: Cell): KernelCode<void> {
  const m = 1 << nr;
  return one(
    rmw(cell, 'clear_bit', (o) => o & ~m, 'new', false),
    () => undefined,
  );
}
/** `test_bit(nr, addr)`: a plain load of the word. */
export function test_bit(nr: number, cell: Cell): KernelCode<number> {
  return one({ code: OP.LOAD, cell, how: 'READ_ONCE' }, (v) => ((v as number) >> nr) & 1);
}
/** `atomic_inc(v)`. */
export function atomic_inc(cell: Cell): KernelCode<void> {
  return one(
    rmw(cell, 'atomic_inc', (o) => o + 1, 'new', false),
    () => undefined,
  );
}
/** `atomic_dec(v)`. */
export function atomic_dec(cell: Cell): KernelCode<void> {
  return one(
    rmw(cell, 'atomic_dec', (o) => o - 1, 'new', false),
    () => undefined,
  );
}
/** `atomic_dec_and_test(v)`: true (1) when the result is zero. */
export function atomic_dec_and_test(cell: Cell): KernelCode<number> {
  return one(
    rmw(cell, 'atomic_dec_and_test', (o) => o - 1, 'new'),
    (v) => (v === 0 ? 1 : 0),
  );
}
/** `atomic_add_return(i, v)`. */
export function atomic_add_return(i: number, cell: Cell): KernelCode<number> {
  return one(rmw(cell, 'atomic_add_return', (o) => o + i, 'new'));
}
/** `atomic_read(v)`. */
export function atomic_read(cell: Cell): KernelCode<number> {
  return one({ code: OP.LOAD, cell, how: 'READ_ONCE' });
}
/** `atomic_set(v, i)`. */
export function atomic_set(cell: Cell, value: number): KernelCode<void> {
  return one({ code: OP.STORE, cell, value, how: 'WRITE_ONCE' });
}

/** Spends `ns` of CPU time (only timed runs advance the clock for it). */
export function cpu(ns: number): KernelCode<void> {
  if (!Number.isInteger(ns) || ns < 0) throw new Error(`cpu(${ns}): the cost must be a non-negative integer`);
  return one({ code: OP.COST, ns });
}

/** A trace annotation from kernel or scenario code (shown in every trace view). */
export function note(text: string): KernelCode<void> {
  return one({ code: OP.NOTE, text });
}

/**
 * A visible atomic section on a named object: `fn` runs in one step, when the Chooser picks
 * it. Use for state that other CPUs race on and that is not a plain cell (`write` false for a
 * pure read, which the explorer may commute with other reads).
 */
export function atomic<T>(
  obj: number,
  write: boolean,
  label: string,
  fn: () => T,
  sched = false,
): KernelCode<T> {
  return one({ code: OP.ATOMIC, obj, write, label, fn, sched });
}

/** `local_irq_disable()`. */
export function local_irq_disable(): KernelCode<void> {
  return one({ code: OP.IRQ, action: 'disable', flags: 0 }, () => undefined);
}
/** `local_irq_enable()`. */
export function local_irq_enable(): KernelCode<void> {
  return one({ code: OP.IRQ, action: 'enable', flags: 0 }, () => undefined);
}
/** `local_irq_save(flags)`: returns the flags to hand to `local_irq_restore`. */
export function local_irq_save(): KernelCode<number> {
  return one({ code: OP.IRQ, action: 'save', flags: 0 });
}
/** `local_irq_restore(flags)`. */
export function local_irq_restore(flags: number): KernelCode<void> {
  return one({ code: OP.IRQ, action: 'restore', flags }, () => undefined);
}
/** `local_bh_disable()`. */
export function local_bh_disable(): KernelCode<void> {
  return one({ code: OP.IRQ, action: 'bh_disable', flags: 0 }, () => undefined);
}
/** `local_bh_enable()`. */
export function local_bh_enable(): KernelCode<void> {
  return one({ code: OP.IRQ, action: 'bh_enable', flags: 0 }, () => undefined);
}
