/**
 * Interrupts: taking a raised interrupt on its CPU (nesting, cutting into a cost), the handler's
 * context and its exit hook, and the local irq/bh operations (`local_irq_save` and friends).
 * `Kernel.raise_irq` is the way in.
 *
 * Where things live: the step loop in step.ts, resuming a context in resume.ts, run queues and
 * schedule() in runqueue.ts, interrupts in irq.ts, timed events in timers.ts, hang reports in
 * hang.ts, the memory model in memory.ts, spinlock semantics in spinlock.ts, each operation
 * kind's rules in opexec.ts.
 */
import type { Cpu, IrqRequest } from './cpu.js';
import { current as cur } from './current.js';
import type { Kernel } from './kernel.js';
import type { KernelCode } from './ops.js';
import { advance } from './resume.js';
import { Context } from './task.js';

/** Actor ids of interrupt contexts and of the step loop's interrupt actions count down from here. */
export const IRQ_ACTOR_BASE = -2_000_000;

/** An interrupt handler, then the interrupt-exit hook (tq_immediate) in the same context. */
function* irqBody(k: Kernel, handler: () => KernelCode<unknown>): KernelCode<void> {
  yield handler();
  const hook = k.irqExitHook;
  const exit = hook === null ? null : hook();
  if (exit !== null) yield exit;
}

/** Interrupt context names (`irq:<name>`), made once per interrupt name. */
const irqContextNames = new Map<string, string>();

export function maybeTakeIrq(k: Kernel, c: Cpu): void {
  if (c.irqsOff || c.pendingIrqs.length === 0) return;
  const top = c.top();
  if (top !== null && (top.kind === 'irq' || top === c.stepping)) return; // no nesting; not mid-step
  if (c.busy) {
    // The interrupt cuts into a cost: the rest of it resumes when the handler is done.
    if (top === null || c.costEvent === null) return;
    c.costEvent.cancel();
    c.costEvent = null;
    top.suspendedCost = Math.max(0, c.costEnd - k.now);
    // A cost ending right now is over: the context resumes when the handler returns.
    if (top.suspendedCost === 0) top.needsResume = true;
    c.busy = false;
  }
  takeIrq(k, c);
}

export function takeIrq(k: Kernel, c: Cpu): void {
  const req = c.pendingIrqs.shift() as IrqRequest;
  // The exit hook is looked up when the handler ends: a handler may be what installs it
  // (the first use of tq_immediate), and its routines must still run at k exit.
  const body = irqBody(k, req.handler);
  let name = irqContextNames.get(req.name);
  if (name === undefined) {
    name = `irq:${req.name}`;
    irqContextNames.set(req.name, name);
  }
  const ctx = new Context(IRQ_ACTOR_BASE - 1000 * ++k.irqSeq, name, 'irq', body);
  ctx.cpu = c;
  c.stack.push(ctx);
  c.irqsOff = true;
  const save = cur.cpu;
  cur.cpu = c;
  if (k.tracing) k.emit('irq.enter', { irq: req.name });
  cur.cpu = save;
  advance(k, ctx, undefined);
}

export function irqOp(k: Kernel, cpu: Cpu, action: string, flags: number): number {
  switch (action) {
    case 'disable':
      cpu.irqsOff = true;
      if (k.tracing) k.emit('irq.disable', {});
      return 0;
    case 'enable':
      cpu.irqsOff = false;
      if (k.tracing) k.emit('irq.enable', {});
      return 0;
    case 'save': {
      const f = cpu.irqsOff ? 1 : 0;
      cpu.irqsOff = true;
      if (k.tracing) k.emit('irq.disable', {});
      return f;
    }
    case 'restore':
      cpu.irqsOff = flags !== 0;
      if (!cpu.irqsOff) k.emit('irq.enable', {});
      return 0;
    case 'bh_disable':
      cpu.bhOff++;
      return 0;
    case 'bh_enable':
      if (cpu.bhOff === 0) throw new Error('local_bh_enable() without a matching local_bh_disable()');
      cpu.bhOff--;
      return 0;
    default:
      throw new Error(`unknown irq op ${action}`);
  }
}
