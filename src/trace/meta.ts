/**
 * What the exporters know about a run besides its events.
 *
 * - {@link TraceMeta}: the scenario, machine shape, memory model, seed, task names and the
 *   choice list of the run (the kernel fills it in and hands it to every exporter).
 * - {@link taskNames}: pid → name, from the meta and from the trace's own `task.new` events.
 * - {@link taskLabel}: the `name-pid` label the text exporters print for a context.
 */
import type { TraceEvent } from './events.js';

/** Description of the run a trace came from. */
export interface TraceMeta {
  /** Scenario name. */
  scenario: string;
  /** Number of simulated CPUs. */
  cpus: number;
  /** Memory model name (`sc`, `tso`, `pso`, ...). */
  memoryModel: string;
  /** Seed of the Chooser, when the run was seeded. */
  seed?: number;
  /** Every task of the run, with its name. */
  tasks: { pid: number; name: string }[];
  /** The choice list of the run (what a replay needs), when known. */
  choices?: number[];
}

/**
 * Pid → task name. Names come from `meta.tasks`, then from `task.new` events for tasks the
 * meta does not list. The map's insertion order is pid order.
 */
export function taskNames(events: readonly TraceEvent[], meta: TraceMeta): Map<number, string> {
  const found = new Map<number, string>();
  for (const t of meta.tasks) found.set(t.pid, t.name);
  for (const e of events) {
    if ((e.kind === 'task.new' || e.kind === 'task.exit') && !found.has(e.task)) found.set(e.task, e.name);
  }
  const sorted = [...found.keys()].sort((a, b) => a - b);
  return new Map(sorted.map((pid) => [pid, found.get(pid)!]));
}

/**
 * The label of a context: `name-pid` for a task (`pid-N` when the name is unknown), `<irq>`
 * for interrupt context, `<idle>` for an idle CPU and `<none>` for events outside any CPU.
 */
export function taskLabel(
  names: ReadonlyMap<number, string>,
  pid: number,
  cpu: number,
  inIrq: boolean,
): string {
  if (pid >= 0) return `${names.get(pid) ?? 'pid'}-${pid}`;
  if (cpu < 0) return '<none>';
  return inIrq ? '<irq>' : '<idle>';
}
