/**
 * Prebuilt operations, for hot paths.
 *
 * A primitive (`READ_ONCE`, `spin_lock_irqsave`, `smp_wmb`, `cpu` ...) is an iterator that
 * yields one operation and returns the value the kernel resumes it with. `prebuilt(primitive)`
 * takes that operation out once; kernel code then yields it directly (`yield q.lockOp`) instead
 * of `yield* spin_lock_irqsave(q.lock)`: the same visible operation, without a fresh iterator
 * per use and without a level of `yield*` on the way. Operations are immutable (the kernel
 * shares frozen ones too), so one object serves every use. Only for primitives whose result is
 * the resume value itself — loads, stores of a fixed value, lock and unlock, fences, costs —
 * not for those that post-process it (the bit operations).
 *
 * - `prebuilt(primitive)`: the operation of a one-operation primitive.
 * - `done(value)`: kernel code that returns `value` at once, for plain functions that hand back
 *   either a generator or an immediate result (one `yield*` level less than a wrapper).
 * - `write_once_op(cell, v)`, `atomic_op(obj, write, label, fn)`, `wake_op(task, mask)`: the
 *   operation of `WRITE_ONCE(cell, v)` / `atomic(obj, write, label, fn)` /
 *   `try_to_wake_up(task, mask)` made directly, for hot paths whose
 *   operands change at every use: `yield write_once_op(c, v)` is `yield* WRITE_ONCE(c, v)`
 *   without the primitive's iterator (the result of `yield atomic_op(...)` is `fn`'s).
 */
import type { Cell } from './cell.js';
import { type AtomicOp, type KernelCode, OP, type Op, type StoreOp, type WakeOp } from './ops.js';
import type { Task } from './task.js';

/** The operation a one-operation primitive yields (see the module doc for which qualify). */
export function prebuilt(primitive: KernelCode<unknown>): Op {
  const r = primitive.next();
  if (r.done === true) throw new Error('prebuilt: the primitive yielded no operation');
  const code = (r.value as Op).code as number | undefined;
  if (code === undefined || code === OP.PRIMITIVE)
    throw new Error('prebuilt: the primitive yielded a call, not an operation');
  return r.value as Op;
}

/** Kernel code that yields nothing and returns `value`. */
class Done<T> implements Generator<Op, T, unknown> {
  private readonly value: T;
  constructor(value: T) {
    this.value = value;
  }
  next(): IteratorResult<Op, T> {
    return { value: this.value, done: true };
  }
  return(v: T): IteratorResult<Op, T> {
    return { value: v, done: true };
  }
  throw(e: unknown): IteratorResult<Op, T> {
    throw e;
  }
  [Symbol.iterator](): Generator<Op, T, unknown> {
    return this;
  }
}

const DONE_VOID: KernelCode<void> = new Done<void>(undefined);

/** Kernel code that returns `value` at once (stateless: the `void` one is shared). */
export function done<T>(value: T): KernelCode<T> {
  return value === undefined ? (DONE_VOID as KernelCode<T>) : new Done(value);
}

/** The operation of `WRITE_ONCE(cell, value)` (see the module doc). */
export function write_once_op(cell: Cell, value: number): StoreOp {
  return { code: OP.STORE, cell, value, how: 'WRITE_ONCE' };
}

/** The operation of `try_to_wake_up(task, mask)` (its result is the primitive's: 1 if woken). */
export function wake_op(task: Task, mask: number): WakeOp {
  return { code: OP.WAKE, task, mask };
}

/** The operation of `atomic(obj, write, label, fn)` (see the module doc). */
export function atomic_op(obj: number, write: boolean, label: string, fn: () => unknown): AtomicOp {
  return { code: OP.ATOMIC, obj, write, label, fn, sched: false };
}
