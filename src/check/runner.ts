/**
 * The runner: one execution of a scenario under a config and a Chooser.
 *
 * Everything else (run, explore, replay, fast-check properties) is a loop around `runScenario`.
 */
import type { Chooser } from '../kernel/chooser.js';
import { seeded } from '../kernel/chooser.js';
import { DEFAULT_KERNEL_CONFIG, Kernel, type KernelConfig, type RunStatus } from '../kernel/kernel.js';
import type { Violation } from '../kernel/violation.js';
import type { TraceEvent } from '../trace/events.js';
import type { Scenario } from './scenario.js';

/** Options of one run. */
export interface RunScenarioOptions {
  /** Config overrides on top of the scenario's own defaults. */
  readonly config?: Partial<KernelConfig>;
  /** The Chooser (default: seeded with `seed`). */
  readonly chooser?: Chooser;
  /** Seed for the default Chooser (default 1). */
  readonly seed?: number;
  /** Step budget. */
  readonly maxSteps?: number;
  /** Simulated-time budget (ns). */
  readonly until?: number;
  /** Keep the trace events (default: the config's `trace`). */
  readonly keepTrace?: boolean;
  /** Called with the kernel after setup, before running (to attach recorders, etc.). */
  readonly onKernel?: (k: Kernel) => void;
}

/** The outcome of one run. */
export interface RunReport {
  readonly scenario: string;
  readonly config: KernelConfig;
  readonly status: RunStatus;
  readonly steps: number;
  readonly simTimeNs: number;
  readonly violations: readonly Violation[];
  readonly choices: readonly number[];
  readonly stats: Readonly<Record<string, unknown>>;
  readonly state: Readonly<Record<string, number | string | boolean>>;
  readonly events: readonly TraceEvent[];
  readonly tasks: readonly { pid: number; name: string }[];
}

/** The config a scenario runs with under the given overrides. */
export function scenarioConfig(s: Scenario, overrides: Partial<KernelConfig> = {}): KernelConfig {
  // A complete, frozen config already has the scenario's defaults applied (explore builds one).
  if (Object.isFrozen(overrides) && 'switchNs' in overrides && 'lockdep' in overrides)
    return overrides as KernelConfig;
  return { ...DEFAULT_KERNEL_CONFIG, ...s.config, ...overrides };
}

/** Runs `scenario` once. */
export function runScenario(scenario: Scenario, opts: RunScenarioOptions = {}): RunReport {
  const config = scenarioConfig(scenario, opts.config);
  const k = new Kernel(config, opts.chooser ?? seeded(opts.seed ?? 1));
  const events: TraceEvent[] = [];
  const keep = opts.keepTrace ?? config.trace;
  if (keep) {
    k.tracing = true;
    k.events.on('trace', (e: TraceEvent) => {
      events.push(e);
    });
  }
  const inst = scenario.setup(k);
  const invariants = inst.invariants;
  if (invariants !== undefined) {
    for (const [name, fn] of Object.entries(invariants)) {
      k.stepChecks.push(() => {
        const r = fn();
        if (r === undefined || r === true) return undefined;
        return r === false ? `invariant '${name}' failed at step ${k.steps}` : `${name}: ${r}`;
      });
    }
  }
  opts.onKernel?.(k);
  const runOpts: { maxSteps?: number; until?: number } = {};
  if (opts.maxSteps !== undefined) runOpts.maxSteps = opts.maxSteps;
  if (opts.until !== undefined) runOpts.until = opts.until;
  const r = k.run(runOpts);
  let status = r.status;
  if (status === 'done' && inst.final !== undefined) {
    const msg = inst.final();
    if (msg !== undefined) {
      k.violation('invariant', msg);
      status = 'violation';
    }
  }
  const stats: Record<string, unknown> = k.snapshotStats();
  if (inst.stats !== undefined) Object.assign(stats, inst.stats());
  return {
    scenario: scenario.name,
    config,
    status,
    steps: r.steps,
    simTimeNs: r.simTimeNs,
    // The kernel is dropped after the run: its arrays need no copies.
    violations: k.violations,
    choices: r.choices,
    stats,
    state: inst.state?.() ?? {},
    events,
    tasks: k.taskNames(),
  };
}
