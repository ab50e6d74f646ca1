import type { Cpu } from './cpu.js';
import { current as cur } from './current.js';
import { finished, reportHang } from './hang.js';
import { IRQ_ACTOR_BASE, maybeTakeIrq, takeIrq } from './irq.js';
import type { Kernel, RunResult, RunStatus } from './kernel.js';
import { drain } from './memory.js';
import { describe, enabled, execOpHere } from './opexec.js';
import type { ScheduleOp } from './ops.js';
import { OP, type Op } from './ops.js';
import { advance } from './resume.js';
import { anyStealable, refill, schedule } from './runqueue.js';
import type { Context, Task } from './task.js';
import { fireDue, fireNext, skipCancelled } from './timers.js';

/** Actor ids of drains and of the timed-event action (the ids of interrupt actions: irq.ts). */
const DRAIN_ACTOR_BASE = -1_000_000;
const TIMER_ACTOR = -3_000_000;

/** Kinds of enabled actions. */
const ACT_OP = 0;
const ACT_DRAIN = 1;
const ACT_IRQ = 2;
const ACT_TIMER = 3;

/** Thrown out of the step loop to stop a run (a violation that ends it). */
class StopRun {
  readonly status: RunStatus;
  constructor(status: RunStatus) {
    this.status = status;
  }
}

/**
 * Whether `cpu` is the only place anything can happen now (timed fast path): every other CPU
 * is busy with a cost or idle with nothing to take, no interrupt is waiting, no event is due.
 */
export function alone(k: Kernel, cpu: Cpu): boolean {
  if (k.steps >= k.maxStepsRun) return false;
  if (cpu.pendingIrqs.length > 0) return false;
  if (k.heap.peekTime() <= k.now) return false;
  const cpus = k.cpus;
  const n = cpus.length;
  if (n === 1) return true;
  const stealable = cpu.runqueue.length > 0;
  for (let i = 0; i < n; i++) {
    const other = cpus[i]!;
    if (other === cpu) continue;
    // A busy CPU acts only when its cost ends, but an idle one may steal from its queue.
    if (other.busy) {
      if (other.runqueue.length > 0) return false;
      continue;
    }
    if (stealable || other.stack.length > 0 || other.runqueue.length > 0 || other.pendingIrqs.length > 0)
      return false;
  }
  return true;
}

/**
 * Collects the enabled actions (into the parallel arrays `actKind`, `actCtx`, `actCpu`,
 * `actCell` and `infos`, `nAct` of them); returns whether action 0 continues the CPU that ran
 * last. Nothing is allocated for CPU operations: their ActionInfo is the context's own record.
 */
export function collect(k: Kernel): boolean {
  const infos = k.infos;
  let n = 0;
  const timed = k.timed;
  let continues = false;
  const cpus = k.cpus;
  const ncpu = cpus.length;
  const start = Math.max(k.lastCpu, 0);
  // CPU operations, starting with the CPU that ran last (index 0 = no preemption).
  let stealable = -1; // unknown yet
  for (let j = 0; j < ncpu; j++) {
    const cpu = cpus[(start + j) % ncpu]!;
    if (cpu.busy) continue;
    if (timed && cpu.pendingIrqs.length > 0) maybeTakeIrq(k, cpu);
    if (cpu.stack.length === 0) {
      if (cpu.runqueue.length > 0) refill(k, cpu);
      else {
        if (stealable < 0) stealable = anyStealable(k) ? 1 : 0;
        if (stealable === 1) {
          refill(k, cpu);
          stealable = -1; // the steal may have taken the last one
        }
      }
    }
    const ctx = cpu.top();
    if (ctx === null || ctx.pending === null || cpu.busy) continue;
    if (!enabled(k, ctx, cpu)) continue;
    if (j === 0 && k.lastCpu >= 0) continues = true;
    k.actKind[n] = ACT_OP;
    k.actCtx[n] = ctx;
    infos[n++] = ctx.action;
  }
  // Store-buffer drains.
  const model = k.config.memoryModel;
  if (model !== 'sc') {
    for (const cpu of cpus) {
      if (cpu.sb.entries.length === 0) continue;
      const idx = cpu.sb.drainable(model, k.drainIdx);
      for (const i of idx) {
        const e = cpu.sb.entries[i]!;
        infos[n] = {
          actor: DRAIN_ACTOR_BASE - cpu.id * 100_000 - (model !== 'tso' ? e.cell.id : 0),
          cpu: cpu.id,
          obj: e.cell.id,
          write: true,
          sched: false,
          global: false,
          kind: 'drain',
          label: `drain CPU${cpu.id} ${e.cell.name}=${e.value}`,
        };
        k.actKind[n] = ACT_DRAIN;
        k.actCpu[n] = cpu;
        k.actCell[n++] = e.cell;
      }
    }
  }
  if (!timed) {
    // Interrupts waiting to be taken, and the next timed event: choices like any other.
    for (const cpu of cpus) {
      if (cpu.pendingIrqs.length === 0 || cpu.irqsOff || cpu.busy) continue;
      const top = cpu.top();
      if (top !== null && top.kind === 'irq') continue;
      infos[n] = {
        actor: IRQ_ACTOR_BASE - cpu.id,
        cpu: cpu.id,
        obj: -1,
        write: true,
        sched: true,
        global: true,
        kind: 'irq',
        label: `irq ${cpu.pendingIrqs[0]!.name} on CPU${cpu.id}`,
      };
      k.actKind[n] = ACT_IRQ;
      k.actCpu[n++] = cpu;
    }
    if (k.fgEvents > 0 || (k.heap.size > 0 && n > 0)) {
      skipCancelled(k);
      // (An event past the run's time limit, CLOCK_MAX at most, is not offered: the clock stops.)
      if (k.heap.size > 0 && k.heap.peekTime() <= k.untilRun) {
        const ev = k.heap.peek();
        infos[n] = {
          actor: TIMER_ACTOR,
          cpu: -1,
          obj: -1,
          write: true,
          sched: true,
          global: true,
          kind: 'timer',
          label: `event ${ev.label}`,
        };
        k.actKind[n++] = ACT_TIMER;
      }
    }
  }
  k.nAct = n;
  return continues;
}

/** Runs action `i` of the last `collect()`. */
export function runAction(k: Kernel, i: number): void {
  switch (k.actKind[i]) {
    case ACT_OP: {
      const ctx = k.actCtx[i]!;
      k.lastCpu = ctx.cpu!.id;
      execute(k, ctx);
      return;
    }
    case ACT_DRAIN: {
      const cpu = k.actCpu[i]!;
      const cell = k.actCell[i];
      drain(
        k,
        cpu,
        cpu.sb.entries.findIndex((x) => x.cell === cell),
      );
      return;
    }
    case ACT_IRQ:
      takeIrq(k, k.actCpu[i]!);
      return;
    default:
      fireNext(k);
  }
}

/** Executes `ctx`'s pending op and runs it on to its next visible op. */
export function execute(k: Kernel, ctx: Context): void {
  const op = ctx.pending!;
  const code = ctx.pendingCode;
  const cpu = ctx.cpu!;
  ctx.pending = null;
  if (code === OP.SCHEDULE) {
    if (ctx.kind !== 'task') {
      k.violation(
        'bug',
        `scheduling while atomic: ${ctx.name} on CPU${cpu.id} called schedule() in interrupt context (step ${k.steps})`,
      );
      return;
    }
    const save = cur.cpu;
    const saveTask = cur.task;
    cur.cpu = cpu;
    cur.task = cpu.task;
    let nx: Context | null;
    try {
      nx = schedule(k, ctx as Task, cpu, (op as ScheduleOp).on);
    } finally {
      cur.cpu = save;
      cur.task = saveTask;
    }
    if (nx !== null) advance(k, nx, undefined);
    return;
  }
  advance(k, ctx, execOp(k, ctx, cpu, op, code));
}

/** Executes a visible operation other than schedule() and returns its result. */
export function execOp(k: Kernel, ctx: Context, cpu: Cpu, op: Op, code: number): unknown {
  const save = cur.cpu;
  const saveTask = cur.task;
  const saveStepping = cpu.stepping;
  cur.cpu = cpu;
  cur.task = cpu.task;
  cpu.stepping = ctx;
  try {
    return execOpHere(k, ctx, cpu, op, code);
  } finally {
    cur.cpu = save;
    cur.task = saveTask;
    cpu.stepping = saveStepping;
  }
}

/**
 * `Kernel.run`: runs until every non-daemon task has exited (and every store buffer drained), a hang, a
 * violation that stops the run, or a budget.
 */
export function runSteps(k: Kernel, until: number, maxSteps: number): RunResult {
  const timed = k.timed;
  const checks = k.stepChecks;
  const observe = k.chooser.inner.observe !== undefined;
  // Describing the enabled actions is only worth it for strategies that look at them.
  const needPoint = k.chooser.inner.needsPoint !== false;
  k.maxStepsRun = maxSteps;
  k.untilRun = until;
  k.fastForward = k.config.fastForward && timed && k.sc && !observe && checks.length === 0;
  let status: RunStatus = 'done';
  try {
    for (;;) {
      if (k.stopStatus !== null) throw new StopRun(k.stopStatus);
      if (timed) {
        fireDue(k);
        if (k.stopStatus !== null) throw new StopRun(k.stopStatus);
      }
      if (finished(k)) break;
      const continues = collect(k);
      if (k.stopStatus !== null) throw new StopRun(k.stopStatus);
      const n = k.nAct;
      if (n === 0) {
        // Collecting may have run a task to its end (one refilled onto an idle CPU).
        if (finished(k)) break;
        skipCancelled(k);
        if (k.heap.size > 0 && k.fgEvents > 0) {
          const t = k.heap.peekTime();
          if (t > until) {
            status = 'until';
            break;
          }
          // (Untimed runs offer a due event as an action: only timed runs get here with one.)
          k.now = t;
          continue;
        }
        status = 'hang';
        reportHang(k);
        break;
      }
      if (k.steps >= maxSteps) {
        status = 'max-steps';
        break;
      }
      let pick = 0;
      if ((n > 1 && needPoint) || observe) {
        // Describe pending operations only when a strategy will look at them.
        for (let i = 0; i < n; i++) {
          if (k.actKind[i] !== ACT_OP) continue;
          const ctx = k.actCtx[i]!;
          if (!ctx.described) {
            describe(k, ctx, ctx.pending!);
            ctx.described = true;
          }
        }
      }
      if (n > 1) {
        if (needPoint) {
          k.infos.length = n;
          k.point.continues = continues;
          pick = k.chooser.choose(n, 'step', k.point);
        } else {
          pick = k.chooser.choose(n, 'step');
        }
      }
      k.steps++;
      if (observe) k.chooser.observe(k.infos[pick]!);
      runAction(k, pick);
      if (checks.length > 0) {
        for (const chk of checks) {
          const msg = chk();
          if (msg !== undefined) {
            k.violation('invariant', msg);
            break;
          }
        }
      }
    }
  } catch (e) {
    if (!(e instanceof StopRun)) throw e;
    status = e.status;
  } finally {
    // Between runs (a spawn, a raise_irq from outside) everything goes through the step loop.
    k.fastForward = false;
  }
  return {
    status,
    steps: k.steps,
    simTimeNs: k.now,
    violations: k.violations,
    choices: k.chooser.choices,
  };
}
