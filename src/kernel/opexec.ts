/**
 * What each visible operation kind does, in one place: how the Chooser sees it (`describe`),
 * when it may run (`enabled`), and what running it does (`execOpHere`). Adding an operation
 * kind means a case in each of these three, plus, if it has local work that runs without a
 * step, a case in `advance`'s switch (resume.ts).
 *
 * Where things live: the step loop in step.ts, resuming a context in resume.ts, run queues and
 * schedule() in runqueue.ts, interrupts in irq.ts, timed events in timers.ts, hang reports in
 * hang.ts, the memory model in memory.ts, spinlock semantics in spinlock.ts, each operation
 * kind's rules in opexec.ts.
 */
import type { Cpu } from './cpu.js';
import type { Kernel } from './kernel.js';
import { fenceLocal, load, rmw, store } from './memory.js';
import type {
  AtomicOp,
  FenceOp,
  LoadOp,
  LockOp,
  RmwOp,
  StoreOp,
  TrylockOp,
  UnlockOp,
  WakeOp,
} from './ops.js';
import { OP, type Op } from './ops.js';
import { wrapError } from './resume.js';
import { acquire, trylock, unlock } from './spinlock.js';
import type { Context, Task } from './task.js';

/** Describes `ctx`'s pending op for the Chooser. */
export function describe(_k: Kernel, ctx: Context, op: Op): void {
  const a = ctx.action;
  a.cpu = ctx.cpu!.id;
  a.sched = false;
  a.global = false;
  a.write = true;
  a.obj = -1;
  switch (op.code) {
    case OP.LOAD:
      a.obj = op.cell.id;
      a.write = false;
      a.label = `load ${op.cell.name}`;
      break;
    case OP.STORE:
      a.obj = op.cell.id;
      a.label = `store ${op.cell.name}`;
      break;
    case OP.RMW:
      a.obj = op.cell.id;
      a.label = `${op.name} ${op.cell.name}`;
      break;
    case OP.LOCK:
    case OP.TRYLOCK:
    case OP.UNLOCK:
      a.obj = op.lock.cell.id;
      a.label = `${op.code === OP.UNLOCK ? 'unlock' : 'lock'} ${op.lock.name}`;
      break;
    case OP.FENCE:
      a.write = false;
      a.label = op.kind;
      break;
    case OP.SCHEDULE:
      a.sched = true;
      a.obj = (ctx as Task).state?.id ?? -1;
      a.label = 'schedule';
      break;
    case OP.WAKE:
      a.sched = true;
      a.obj = op.task.state.id;
      a.label = `wake ${op.task.name}`;
      break;
    case OP.ATOMIC:
      a.obj = op.obj;
      a.write = op.write;
      a.sched = op.sched === true;
      a.label = op.label;
      break;
    default:
      a.label = 'op';
  }
}

/** Whether `ctx`'s pending op can execute now. */
export function enabled(_k: Kernel, ctx: Context, cpu: Cpu): boolean {
  const sbEmpty = cpu.sb.entries.length === 0;
  switch (ctx.pendingCode) {
    case OP.LOCK:
      return (ctx.pending as LockOp).lock.cell.value === 0 && sbEmpty;
    case OP.TRYLOCK:
    case OP.RMW:
    case OP.FENCE:
    case OP.SCHEDULE:
    case OP.WAKE:
      return sbEmpty;
    default:
      return true;
  }
}

/**
 * execOp, with `cur` already describing `cpu` (inside `advance`). `code` is `op.code`, read
 * once by the caller: each case says which operation that makes `op`.
 */
export function execOpHere(k: Kernel, ctx: Context, cpu: Cpu, op: Op, code: number): unknown {
  let value: unknown;
  switch (code) {
    case OP.LOAD: {
      const o = op as LoadOp;
      value = load(k, cpu, o.cell, o.how);
      break;
    }
    case OP.STORE: {
      const o = op as StoreOp;
      if (k.sc && !k.tracing) {
        // Sequential consistency: the store is the whole of it (smp_store_mb's barrier waits
        // for nothing).
        o.cell.value = o.value;
        break;
      }
      store(k, cpu, o);
      break;
    }
    case OP.RMW: {
      value = rmw(k, cpu, op as RmwOp);
      break;
    }
    case OP.FENCE:
      fenceLocal(k, cpu, (op as FenceOp).kind);
      break;
    case OP.LOCK: {
      const o = op as LockOp;
      acquire(k, ctx, cpu, o.lock, o.flavour);
      break;
    }
    case OP.TRYLOCK: {
      value = trylock(k, ctx, cpu, (op as TrylockOp).lock);
      break;
    }
    case OP.UNLOCK: {
      const o = op as UnlockOp;
      unlock(k, ctx, cpu, o.lock, o.flavour);
      break;
    }
    case OP.WAKE: {
      const o = op as WakeOp;
      value = k.try_to_wake_up(o.task, o.mask);
      break;
    }
    case OP.ATOMIC:
      try {
        value = (op as AtomicOp).fn();
      } catch (e) {
        throw wrapError(k, ctx, e);
      }
      break;
    default:
      throw new Error(`operation ${code} cannot be pending`);
  }
  return value;
}
