import { current } from './current.js';
import { irqOp, maybeTakeIrq } from './irq.js';
import type { Kernel } from './kernel.js';
import { bufferStore, fenceLocal } from './memory.js';
import { execOpHere } from './opexec.js';
import type {
  CostOp,
  FenceOp,
  IrqOp,
  KernelCall,
  KernelCode,
  LockOp,
  NoteOp,
  ScheduleOp,
  StoreOp,
  UnlockOp,
} from './ops.js';
import { OP, type Op, type Primitive } from './ops.js';
import { refill, schedule } from './runqueue.js';
import { lockPending, unlock } from './spinlock.js';
import { alone } from './step.js';
import { type Context, GeneratorPrototype, isGenerator, type Task } from './task.js';
import { emitCost, startCost } from './timers.js';

/**
 * `current`, as a constant of this module: the optimising compiler folds a module's own constant
 * into the code, where an imported binding is loaded and checked at every use.
 */
const cur = current;

/**
 * The generators' own `next` (%GeneratorPrototype%.next). `resumeGenerator.call(gen, v)` resumes
 * any generator object without looking `next` up (`gen.next(v)`, at a site that sees generators
 * of many functions, looks it up in a megamorphic cache every time). A constant of this module,
 * not an import: the optimising compiler calls a constant it can see straight into the builtin,
 * where an imported binding is loaded and called through the generic call.
 */
const resumeGenerator = (GeneratorPrototype as Generator).next as (
  this: KernelCode<unknown>,
  v: unknown,
) => IteratorResult<unknown, unknown>;

/** The full barrier an `smp_store_mb` waits in when its store is buffered. */
const MB_OP: Op = Object.freeze({ code: OP.FENCE, kind: 'smp_mb' });

/** The generator a task holds until its own code is created. */
export const PLACEHOLDER: KernelCode<unknown> = (function* () {})();

/**
 * Resumes `ctx` with `value` and runs it on through local operations up to its next visible
 * operation (left in `ctx.pending`), a cost, or its end.
 */
export function advance(k: Kernel, ctx: Context, value: unknown): void {
  const cpu = ctx.cpu!;
  ctx.needsResume = false;
  const saveCpu = cur.cpu;
  const saveTask = cur.task;
  const saveCtx = cur.ctx;
  const saveStepping = cpu.stepping;
  cpu.stepping = ctx;
  cur.cpu = cpu;
  cur.task = cpu.task;
  cur.ctx = ctx;
  cur.kernel = k;
  let threw = false;
  try {
    for (;;) {
      let r: IteratorResult<Op | KernelCall, unknown>;
      if (ctx.give !== null && !threw) {
        // The result of a primitive taken without a frame goes through its own ending; what
        // that throws, the frame that yielded the primitive gets, as with yield*.
        const g = ctx.give;
        ctx.give = null;
        try {
          value = g.give(value);
        } catch (e) {
          value = e;
          threw = true;
        }
      }
      try {
        r = threw
          ? ctx.gen.throw(value)
          : ctx.native
            ? (resumeGenerator.call(ctx.gen, value) as IteratorResult<Op | KernelCall, unknown>)
            : ctx.gen.next(value);
      } catch (e) {
        // Thrown out of a trampolined call: into its caller, as `yield*` would.
        const calls = ctx.calls;
        if (calls === null || calls.length === 0) throw wrapError(k, ctx, e);
        popFrame(k, ctx, calls);
        value = e;
        threw = true;
        continue;
      }
      threw = false;
      if (r.done === true) {
        const calls = ctx.calls;
        if (calls !== null && calls.length > 0) {
          // A trampolined call returns: resume its caller with the result.
          popFrame(k, ctx, calls);
          value = r.value;
          continue;
        }
        finish(k, ctx, r.value);
        return;
      }
      let op = r.value as Op;
      // The only read of the operation's code (a load that sees every shape of operation and
      // of kernel code); a primitive says its operation's code itself.
      let oc = op.code as number | undefined;
      if (oc === undefined || oc === OP.PRIMITIVE) {
        // `yield f()`: a call. A primitive gives up its operation at once; other code runs as
        // a frame on k context's stack.
        const callee = r.value as KernelCall;
        let direct: Op | null = null;
        if (oc === OP.PRIMITIVE) {
          const p = r.value as unknown as Primitive;
          direct = p.take();
          if (direct !== null) {
            oc = p.opCode;
            if (p.gives) ctx.give = p;
          }
        }
        if (direct === null) {
          if (ctx.calls === null) ctx.calls = [];
          if (!ctx.native) (ctx.foreign ?? (ctx.foreign = [])).push(ctx.calls.length);
          ctx.calls.push(ctx.gen);
          ctx.gen = callee;
          ctx.native = isGenerator(callee);
          value = undefined;
          continue;
        }
        op = direct;
      }
      value = undefined;
      const o: Op = op;
      const code = oc as number;
      switch (code) {
        case OP.COST: {
          const ns = (o as CostOp).ns;
          if (ctx.kind === 'task') (ctx as Task).cpuNs += ns;
          cpu.busyNs += ns;
          if (k.timed && ns > 0) {
            const end = k.now + ns;
            if (
              k.fastForward &&
              k.live > 0 &&
              end <= k.untilRun &&
              k.heap.peekTime() > end &&
              alone(k, cpu)
            ) {
              // A forced wait: nothing else can happen on any CPU before the cost ends (no
              // event is due until after it), so the clock moves on and the CPU carries on here,
              // exactly as the cost's own event would have resumed it. (With no task left to
              // wait for, the step loop ends the run here instead: an interrupt handler's
              // cost after the last exit is not waited for.)
              if (k.tracing) emitCost(k, cpu, ns);
              k.now = end;
              continue;
            }
            startCost(k, cpu, ns);
            return;
          }
          continue;
        }
        case OP.STORE: {
          if (k.sc) break;
          const st = o as StoreOp;
          if (st.how === 'smp_store_mb') {
            // smp_store_mb: the store enters the buffer, then a full barrier waits for it.
            bufferStore(k, cpu, st.cell, st.value, false, 'WRITE_ONCE');
            if (fenceLocal(k, cpu, 'smp_mb')) continue;
            ctx.pending = MB_OP;
            ctx.pendingCode = OP.FENCE;
            ctx.described = false;
            return;
          }
          bufferStore(k, cpu, st.cell, st.value, st.how === 'smp_store_release', st.how);
          continue;
        }
        case OP.FENCE:
          if (fenceLocal(k, cpu, (o as FenceOp).kind)) continue;
          break;
        case OP.UNLOCK: {
          if (k.sc) break;
          const u = o as UnlockOp;
          unlock(k, ctx, cpu, u.lock, u.flavour);
          continue;
        }
        case OP.IRQ: {
          const q = o as IrqOp;
          value = irqOp(k, cpu, q.action, q.flags);
          continue;
        }
        case OP.NOTE:
          if (k.tracing) k.emit('note', { text: (o as NoteOp).text });
          continue;
        case OP.LOCK:
          lockPending(k, ctx, cpu, o as LockOp);
          break;
        default:
          break;
      }
      // (The fast path runs under sc only, where store buffers stay empty: of the conditions of
      // opEnabled, only a held lock remains.)
      if (k.fastForward && alone(k, cpu) && (code !== OP.LOCK || (o as LockOp).lock.cell.value === 0)) {
        // A forced move: no other CPU, store buffer, interrupt or due event could act before
        // it, so it runs now, exactly as the step loop would run it next (same step number).
        if (code === OP.SCHEDULE) {
          if (ctx.kind !== 'task') {
            ctx.pendingCode = code;
            ctx.pending = o; // the step loop reports sleeping in interrupt context
            ctx.described = false;
            return;
          }
          k.steps++;
          k.lastCpu = cpu.id;
          // The task sleeps or yields: carry on here with whatever k CPU runs next, in
          // k same loop (a trampoline: no recursion however many switches follow).
          const nx = schedule(k, ctx as Task, cpu, (o as ScheduleOp).on);
          if (nx === null || k.stopStatus !== null) return;
          ctx = nx;
          cpu.stepping = ctx;
          ctx.needsResume = false;
          cur.task = cpu.task;
          cur.ctx = ctx;
          value = undefined;
          continue;
        }
        k.steps++;
        k.lastCpu = cpu.id;
        value = execOpHere(k, ctx, cpu, o, code);
        if (k.stopStatus !== null) {
          ctx.pending = null;
          return;
        }
        continue;
      }
      ctx.pendingCode = code;
      ctx.pending = o;
      ctx.described = false;
      return;
    }
  } finally {
    cur.cpu = saveCpu;
    cur.task = saveTask;
    cur.ctx = saveCtx;
    cpu.stepping = saveStepping;
  }
  // An interrupt raised for k CPU during the step is taken at its end.
  if (saveStepping === null && k.timed && cpu.pendingIrqs.length > 0) maybeTakeIrq(k, cpu);
}

/** Resumes `ctx`'s innermost caller (`calls`, not empty) as its running frame. */
export function popFrame(_k: Kernel, ctx: Context, calls: KernelCode<unknown>[]): void {
  ctx.gen = calls.pop()!;
  const f = ctx.foreign;
  if (f !== null && f.length > 0 && f[f.length - 1] === calls.length) {
    f.pop();
    ctx.native = false;
  } else ctx.native = true;
}

export function wrapError(k: Kernel, ctx: Context, e: unknown): Error {
  const msg = e instanceof Error ? e.message : String(e);
  const err = new Error(
    `${ctx.kind === 'task' ? `task '${ctx.name}' (pid ${ctx.id})` : `interrupt handler '${ctx.name}'`} threw at step ${k.steps}: ${msg}`,
  );
  if (e instanceof Error && e.stack !== undefined) err.stack = `${err.message}\n${e.stack}`;
  return err;
}

export function finish(k: Kernel, ctx: Context, result: unknown): void {
  const cpu = ctx.cpu!;
  ctx.pending = null;
  if (ctx.kind === 'task') k.emit('task.exit', { task: ctx.id, name: ctx.name });
  cpu.stack.pop();
  if (ctx.held.length > 0) {
    k.violation(
      'lock-validator',
      `${ctx.name} ended holding ${ctx.held.map((l) => `'${l.name}'`).join(', ')} (taken at step ${ctx.held[0]!.since})`,
    );
  }
  if (ctx.kind === 'irq') {
    if (k.tracing) k.emit('irq.exit', { irq: ctx.name.slice(4) });
    cpu.irqsOff = false;
    const below = cpu.top();
    if (below === null) {
      refill(k, cpu);
      return;
    }
    if (k.timed) maybeTakeIrq(k, cpu);
    if (cpu.top() !== below || cpu.busy) return;
    if (below.suspendedCost > 0) {
      const ns = below.suspendedCost;
      below.suspendedCost = 0;
      startCost(k, cpu, ns);
    } else if (below.needsResume) {
      advance(k, below, undefined);
    }
    return;
  }
  const t = ctx as Task;
  t.exited = true;
  t.result = result;
  // Off the task list, and its code let go of: whoever still holds the task (its spawner)
  // keeps its result, not its frames.
  k.taskList.release(t);
  t.gen = PLACEHOLDER;
  t.calls = null;
  t.foreign = null;
  t.hot = null;
  t.give = null;
  t.state.value = 8;
  if (!t.daemon) k.live--;
  cpu.task = null;
  if (k.tracing) k.emit('sched.switch', { prev: t.id, next: -1, prevState: 'TASK_ZOMBIE' });
  refill(k, cpu);
}
