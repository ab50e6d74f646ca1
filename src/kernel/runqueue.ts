/**
 * Run queues and the scheduler core: where a new or woken task goes (`placeCpu`, `enqueue`),
 * what an idle CPU takes (`refill`, `pickNext`, stealing), switching a task in, and the kernel's
 * side of schedule(). `Kernel.try_to_wake_up` and `Kernel.spawn` are the ways in.
 *
 * Where things live: the step loop in step.ts, resuming a context in resume.ts, run queues and
 * schedule() in runqueue.ts, interrupts in irq.ts, timed events in timers.ts, hang reports in
 * hang.ts, the memory model in memory.ts, spinlock semantics in spinlock.ts, each operation
 * kind's rules in opexec.ts.
 */
import type { Cpu } from './cpu.js';
import { current as cur } from './current.js';
import type { Kernel } from './kernel.js';
import { advance } from './resume.js';
import { type Context, stateName, TASK_INTERRUPTIBLE, TASK_RUNNING, type Task } from './task.js';
import { startCost } from './timers.js';

export function placeCpu(k: Kernel, t: Task): number {
  if (t.pinned >= 0) return t.pinned;
  const last = t.cpu;
  if (last !== null && last.task === null && last.runqueue.length === 0) return last.id;
  for (const c of k.cpus) if (c.task === null && c.runqueue.length === 0 && c.stack.length === 0) return c.id;
  if (last !== null) return last.id;
  let best = k.cpus[0]!;
  for (const c of k.cpus) if (c.runqueue.length < best.runqueue.length) best = c;
  return best.id;
}

export function enqueue(k: Kernel, t: Task, cpu: Cpu): void {
  t.cpu = cpu;
  const idle = cpu.task === null && cpu.stack.length === 0;
  if (idle && cpu.runqueue.length === 0) {
    // An idle CPU with an empty queue takes `t` at once (what refill would pick).
    switchTo(k, cpu, t, -1, 'TASK_RUNNING');
    return;
  }
  t.queued = true;
  cpu.runqueue.push(t);
  if (idle) refill(k, cpu);
}

/** An idle CPU takes the next runnable task (its own queue first, then steals). */
export function refill(k: Kernel, cpu: Cpu): void {
  if (cpu.task !== null || cpu.stack.length > 0) return;
  const next = pickNext(k, cpu);
  if (next === undefined) return;
  switchTo(k, cpu, next, -1, 'TASK_RUNNING');
}

/** The next task for an idle `cpu`: its own queue's head, else one stolen from another CPU. */
export function pickNext(k: Kernel, cpu: Cpu): Task | undefined {
  let next = cpu.runqueue.shift();
  if (next === undefined) {
    for (const other of k.cpus) {
      if (other === cpu) continue;
      const q = other.runqueue;
      let i = 0;
      while (i < q.length && q[i]!.pinned >= 0) i++;
      if (i < q.length) {
        next = q.splice(i, 1)[0]!;
        if (k.tracing) k.emit('sched.migrate', { task: next.id, from: other.id, to: cpu.id });
        break;
      }
    }
  }
  return next;
}

export function switchTo(k: Kernel, cpu: Cpu, next: Task, prev: number, prevState: string): void {
  const n = switchIn(k, cpu, next, prev, prevState);
  if (n !== null) advance(k, n, undefined);
}

/** Puts `next` on `cpu`; returns it to be resumed now, or null when a switch cost delays it. */
export function switchIn(k: Kernel, cpu: Cpu, next: Task, prev: number, prevState: string): Task | null {
  next.queued = false;
  next.cpu = cpu;
  cpu.task = next;
  cpu.stack.push(next);
  next.switches++;
  k.nSwitches++;
  if (k.tracing) {
    const save = cur.cpu;
    cur.cpu = cpu;
    k.emit('sched.switch', { prev, next: next.id, prevState });
    cur.cpu = save;
  }
  if (k.timed && k.config.switchNs > 0) {
    startCost(k, cpu, k.config.switchNs);
    return null;
  }
  return next;
}

/**
 * schedule() for `t`: sleeps unless its state is TASK_RUNNING (or a signal interrupts), or
 * yields to the next runnable task. Returns the context to resume on `cpu` now (`t` itself,
 * the task switched to, or null when the CPU went idle or a switch cost runs first).
 */
export function schedule(k: Kernel, t: Task, cpu: Cpu, on: string): Context | null {
  const checks = k.scheduleChecks;
  if (checks.length > 0) {
    for (const chk of checks) {
      const msg = chk(t, on);
      if (msg !== undefined) {
        k.violation('bug', msg);
        return null;
      }
    }
  }
  if (k.config.lockdep && t.held.length > 0) {
    k.lockdep.sleepWithLocks(
      t.name,
      t.held.map((l) => l.name),
      k.steps,
    );
    for (const v of k.lockdep.violations.splice(0)) {
      k.violations.push(v);
      if (k.tracing) k.emit('violation', { violationKind: v.kind, message: v.message });
    }
  }
  let state = t.state.value;
  if (state === TASK_INTERRUPTIBLE && t.sigpending) {
    state = TASK_RUNNING;
    k.mem.commit(cpu.id, t.state, TASK_RUNNING);
  }
  if (state !== TASK_RUNNING) {
    t.sleeping = true;
    t.waitingOn = on;
    t.sleepSince = k.steps;
    if (k.tracing) k.emit('sched.sleep', { task: t.id, state: stateName(state), on });
    if (k.tracing) k.emit('sched.switch', { prev: t.id, next: -1, prevState: stateName(state) });
    cpu.stack.pop();
    cpu.task = null;
    const next = pickNext(k, cpu);
    return next === undefined ? null : switchIn(k, cpu, next, -1, 'TASK_RUNNING');
  }
  if (cpu.runqueue.length > 0) {
    // Give the CPU to the next runnable task; we go to the back of the queue.
    cpu.stack.pop();
    cpu.task = null;
    t.queued = true;
    cpu.runqueue.push(t);
    const next = cpu.runqueue.shift()!;
    if (next === t) {
      t.queued = false;
      cpu.task = t;
      cpu.stack.push(t);
      return t;
    }
    if (k.tracing) k.emit('sched.switch', { prev: t.id, next: -1, prevState: 'TASK_RUNNING' });
    return switchIn(k, cpu, next, t.id, 'TASK_RUNNING');
  }
  return t;
}

export function anyStealable(k: Kernel): boolean {
  const cpus = k.cpus;
  for (let i = 0; i < cpus.length; i++) {
    const q = cpus[i]!.runqueue;
    for (let j = 0; j < q.length; j++) if (q[j]!.pinned < 0) return true;
  }
  return false;
}
