/**
 * Hang detection: when a run is over (`finished`) and, when nothing can move, the report that
 * names every blocked task, what it sleeps on or spins for, and who holds the lock.
 *
 * Where things live: the step loop in step.ts, resuming a context in resume.ts, run queues and
 * schedule() in runqueue.ts, interrupts in irq.ts, timed events in timers.ts, hang reports in
 * hang.ts, the memory model in memory.ts, spinlock semantics in spinlock.ts, each operation
 * kind's rules in opexec.ts.
 */
import type { Kernel } from './kernel.js';
import { describe } from './opexec.js';
import { type LockOp, OP } from './ops.js';
import { stateName } from './task.js';

export function finished(k: Kernel): boolean {
  if (k.live > 0) return false;
  for (const c of k.cpus) if (c.sb.entries.length > 0) return false;
  return true;
}

/** Describes every blocked task and spinning CPU as a hang violation. */
export function reportHang(k: Kernel): void {
  const lines: string[] = [];
  for (const t of k.tasks) {
    if (t.exited || t.daemon) continue;
    if (t.sleeping) {
      lines.push(
        `${t.name} (pid ${t.id}) sleeps in ${stateName(t.state.value)} on ${t.waitingOn || 'nothing named'} since step ${t.sleepSince}` +
          (t.held.length > 0 ? `, holding ${t.held.map((l) => `'${l.name}'`).join(', ')}` : ''),
      );
    } else if (t.cpu !== null && t.cpu.top() === t && t.pending !== null) {
      const cpu = t.cpu;
      const lock = cpu.spinning ?? (t.pendingCode === OP.LOCK ? (t.pending as LockOp).lock : null);
      if (lock !== null) {
        const h = lock.owner;
        lines.push(
          `${t.name} (pid ${t.id}) spins on CPU${cpu.id} for '${lock.name}', held by ${h === null ? 'nobody (released but not yet visible)' : `${h.name} since step ${lock.since}`}`,
        );
      } else {
        // The label of a pending operation is made only when a strategy reads it.
        if (!t.described) {
          describe(k, t, t.pending);
          t.described = true;
        }
        lines.push(`${t.name} (pid ${t.id}) is stuck on CPU${cpu.id} in front of '${t.action.label}'`);
      }
    } else {
      lines.push(`${t.name} (pid ${t.id}) is runnable but no CPU takes it`);
    }
  }
  for (const t of k.tasks) {
    if (!t.daemon || t.exited || !t.sleeping || t.held.length === 0) continue;
    lines.push(
      `${t.name} (daemon) sleeps on ${t.waitingOn} holding ${t.held.map((l) => `'${l.name}'`).join(', ')}`,
    );
  }
  k.violation('hang', `no task can make progress and nothing pending can wake one\n  ${lines.join('\n  ')}`);
}
