/**
 * Counters and gauges: what `Kernel.stats` holds. A count is added to its counter (no lookup of
 * the name in the big `stats` record on a hot path) and joins `stats` when `stats` is next read;
 * a gauge is read from its subsystem's own state at that moment.
 *
 * Where things live: the step loop in step.ts, resuming a context in resume.ts, run queues and
 * schedule() in runqueue.ts, interrupts in irq.ts, timed events in timers.ts, hang reports in
 * hang.ts, the memory model in memory.ts, spinlock semantics in spinlock.ts, each operation
 * kind's rules in opexec.ts.
 */
import type { Kernel } from './kernel.js';
import { keyed } from './keyed.js';

/** A name of `Kernel.stats` and what was counted under it since `stats` was last read. */
export interface Counter {
  readonly name: string;
  pending: number;
}

/**
 * A hot path's counter: `c(k)` is the counter `name` of kernel `k` (made on its first use, when
 * the name takes its place in `stats`), for `k.add(c(k), n)`: `k.count(name, n)` without the
 * Map lookup of the name at every count.
 */
export function counter(name: string): (k: Kernel) => Counter {
  return keyed((k: Kernel) => k.counterOf(name));
}

/** `Kernel.stats`: adds in what was counted since the last read and reads every gauge. */
export function readStats(k: Kernel): Record<string, number> {
  if (k.countersDirty) flushCounters(k);
  const g = k.gauges;
  for (let i = 0; i < g.length; i++) k.statsRecord[g[i]!.name] = g[i]!.read();
  return k.statsRecord;
}

/** `Kernel.counterOf`. */
export function counterOf(k: Kernel, name: string): Counter {
  const counters = k.counters ?? (k.counters = new Map());
  let c = counters.get(name);
  if (c === undefined) {
    c = { name, pending: 0 };
    counters.set(name, c);
    // Names keep the order of their first use.
    if (k.statsRecord[name] === undefined) k.statsRecord[name] = 0;
  }
  return c;
}

/** `Kernel.gauge`. */
export function gauge(k: Kernel, name: string, read: () => number): void {
  const i = k.gauges.findIndex((g) => g.name === name);
  if (i >= 0) k.gauges.splice(i, 1);
  k.gauges.push({ name, read });
  k.statsRecord[name] = read();
}

/** `Kernel.setStat`. */
export function setStat(k: Kernel, name: string, value: number): void {
  const c = k.counters?.get(name);
  if (c !== undefined) c.pending = 0;
  k.statsRecord[name] = value;
}

function flushCounters(k: Kernel): void {
  k.countersDirty = false;
  const rec = k.statsRecord;
  if (k.counters === null) return;
  for (const c of k.counters.values()) {
    if (c.pending === 0) continue;
    rec[c.name] = (rec[c.name] ?? 0) + c.pending;
    c.pending = 0;
  }
}
