/**
 * Spinlocks.
 *
 * A spinlock is a cell (0 free, 1 held). `spin_lock` is a locked RMW: under tso it waits for
 * the CPU's store buffer to drain, and it can only complete while the lock is free in memory;
 * until then the CPU spins (visible in the trace as `lock.spin`; a CPU that can never get the
 * lock is reported by the hang detector with the lock's holder). `spin_unlock` is a release
 * store that enters the store buffer like any store, as on x86.
 *
 * What the kernel does with them lives here too, after the API: `lockPending` (a lock
 * operation comes up: irq/bh state, recursion check, spinning), `acquire`, `trylock` and
 * `unlock`.
 */
import type { Cell } from './cell.js';
import type { Cpu } from './cpu.js';
import type { Kernel } from './kernel.js';
import { bufferStore } from './memory.js';
import type { KernelCode, LockFlavour, LockOp } from './ops.js';
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

export function lockPending(k: Kernel, ctx: Context, cpu: Cpu, op: LockOp): void {
  const lock = op.lock;
  ctx.irqFlags = cpu.irqsOff ? 1 : 0;
  if (op.flavour === 'spin_lock_irqsave' || op.flavour === 'spin_lock_irq') {
    cpu.irqsOff = true;
  } else if (op.flavour === 'spin_lock_bh') {
    cpu.bhOff++;
  }
  if (lock.owner === ctx) validate_acquire(k, ctx, cpu, lock, false);
  if (lock.cell.value !== 0 && lock.owner !== null) {
    cpu.spinning = lock;
    if (k.tracing) k.emit('lock.spin', { lock: lock.name, holder: lock.owner.id });
  }
}

/**
 * Tells the lock validator that `ctx` takes `lock` (with what it holds, and whether interrupts
 * are on: spin_lock_irqsave/_irq disabled them at lockPending) and moves what it found into the
 * kernel's violations, in the trace too when `traced`.
 */
function validate_acquire(k: Kernel, ctx: Context, cpu: Cpu, lock: Spinlock, traced: boolean): void {
  k.lockdep.acquire(
    lock.lockClass,
    ctx.held.map((l) => ({ cls: l.lockClass, site: { task: ctx.name, step: l.since } })),
    { task: ctx.name, step: k.steps },
    ctx.kind === 'irq',
    !cpu.irqsOff,
  );
  for (const v of k.lockdep.violations.splice(0)) {
    k.violations.push(v);
    if (traced && k.tracing) k.emit('violation', { violationKind: v.kind, message: v.message });
  }
}

export function acquire(k: Kernel, ctx: Context, cpu: Cpu, lock: Spinlock, kind: string): void {
  cpu.spinning = null;
  if (k.config.lockdep && lock.owner !== ctx) validate_acquire(k, ctx, cpu, lock, true);
  k.mem.commit(cpu.id, lock.cell, 1);
  if (k.config.memoryModel === 'invq') k.mem.flush(cpu.id);
  lock.owner = ctx;
  lock.since = k.steps;
  if (kind === 'spin_lock_irqsave' || kind === 'spin_lock_irq') lock.savedFlags = ctx.irqFlags;
  ctx.held.push(lock);
  if (k.tracing) k.emit('lock.acquire', { lock: lock.name, lockKind: kind });
}

/** spin_trylock: takes `lock` if it is free in memory; 1 if taken, 0 (a failed RMW) if not. */
export function trylock(k: Kernel, ctx: Context, cpu: Cpu, lock: Spinlock): number {
  if (lock.cell.value === 0) {
    acquire(k, ctx, cpu, lock, 'spin_trylock');
    return 1;
  }
  if (k.tracing) k.emit('mem.rmw', { cell: lock.cell.name, old: 1, value: 1, op: 'spin_trylock' });
  return 0;
}

export function unlock(k: Kernel, ctx: Context, cpu: Cpu, lock: Spinlock, flavour: string): void {
  if (lock.owner !== ctx) {
    throw new Error(
      `${ctx.name} unlocks '${lock.name}' which it does not hold (${lock.owner === null ? 'it is free' : `held by ${lock.owner.name}`})`,
    );
  }
  // Usually the innermost lock: pop it (no search); else close the gap (no array made,
  // unlike splice).
  const held = ctx.held;
  const last = held.length - 1;
  if (held[last] !== lock) {
    const i = held.lastIndexOf(lock);
    for (let j = i + 1; j <= last; j++) held[j - 1] = held[j]!;
  }
  held.pop();
  lock.owner = null;
  if (k.sc) {
    k.mem.commit(cpu.id, lock.cell, 0);
    if (k.tracing)
      k.emit('mem.store', { cell: lock.cell.name, value: 0, buffered: false, op: 'spin_unlock' });
  } else {
    bufferStore(k, cpu, lock.cell, 0, true, 'spin_unlock');
  }
  if (k.tracing) k.emit('lock.release', { lock: lock.name, lockKind: flavour });
  if (flavour === 'spin_lock_irqsave') {
    cpu.irqsOff = lock.savedFlags !== 0;
  } else if (flavour === 'spin_lock_irq') {
    cpu.irqsOff = false;
  } else if (flavour === 'spin_lock_bh') {
    cpu.bhOff--;
  }
}
