/**
 * Spinlocks.
 *
 * A spinlock is a cell (0 free, 1 held). `spin_lock` is a locked RMW: under tso it waits for
 * the CPU's store buffer to drain, and it can only complete while the lock is free in memory;
 * until then the CPU spins (visible in the trace as `lock.spin`; a CPU that can never get the
 * lock is reported by the hang detector with the lock's holder). `spin_unlock` is a release
 * store that enters the store buffer like any store, as on x86.
 */
import type { Cell } from './cell.js';
import type { KernelCode, LockFlavour } from './ops.js';
import { OP, OpIter } from './ops.js';
import type { Context } from './task.js';

/** A spinlock (`spinlock_t`). Create with `Kernel.spinlock(name)`. */
export class Spinlock {
  readonly cell: Cell;
  readonly name: string;
  /** Lock class for the validator (defaults to the name). */
  readonly lockClass: string;
  /** Context holding it, or null. */
  owner: Context | null = null;
  /** Step at which it was taken. */
  since = -1;
  /** IRQ flags saved by spin_lock_irqsave (restored by the matching unlock). */
  savedFlags = 0;

  constructor(cell: Cell, name: string, lockClass: string) {
    this.cell = cell;
    this.name = name;
    this.lockClass = lockClass;
  }
}

function lockOp(lock: Spinlock, flavour: LockFlavour): KernelCode<void> {
  return new OpIter<void>({ code: OP.LOCK, lock, flavour });
}
function unlockOp(lock: Spinlock, flavour: LockFlavour): KernelCode<void> {
  return new OpIter<void>({ code: OP.UNLOCK, lock, flavour });
}

/** `spin_lock(l)`. */
export function spin_lock(lock: Spinlock): KernelCode<void> {
  return lockOp(lock, 'spin_lock');
}
/** `spin_unlock(l)`. */
export function spin_unlock(lock: Spinlock): KernelCode<void> {
  return unlockOp(lock, 'spin_lock');
}
/** `spin_lock_irq(l)`: disables local interrupts, then locks. */
export function spin_lock_irq(lock: Spinlock): KernelCode<void> {
  return lockOp(lock, 'spin_lock_irq');
}
/** `spin_unlock_irq(l)`: unlocks, then enables local interrupts. */
export function spin_unlock_irq(lock: Spinlock): KernelCode<void> {
  return unlockOp(lock, 'spin_lock_irq');
}
/** `spin_lock_irqsave(l, flags)`: the flags are kept with the lock and restored by the unlock. */
export function spin_lock_irqsave(lock: Spinlock): KernelCode<void> {
  return lockOp(lock, 'spin_lock_irqsave');
}
/** `spin_unlock_irqrestore(l, flags)`. */
export function spin_unlock_irqrestore(lock: Spinlock): KernelCode<void> {
  return unlockOp(lock, 'spin_lock_irqsave');
}
/** `spin_lock_bh(l)`: disables bottom halves, then locks. */
export function spin_lock_bh(lock: Spinlock): KernelCode<void> {
  return lockOp(lock, 'spin_lock_bh');
}
/** `spin_unlock_bh(l)`. */
export function spin_unlock_bh(lock: Spinlock): KernelCode<void> {
  return unlockOp(lock, 'spin_lock_bh');
}
/** `spin_trylock(l)`: 1 if it took the lock, 0 if it was held. */
export function spin_trylock(lock: Spinlock): KernelCode<number> {
  return new OpIter<number>({ code: OP.TRYLOCK, lock });
}
/** `spin_is_locked(l)`: a lockless peek. */
export function spin_is_locked(lock: Spinlock): KernelCode<number> {
  return new OpIter<number>({ code: OP.LOAD, cell: lock.cell, how: 'READ_ONCE' });
}
