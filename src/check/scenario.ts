/**
 * Scenarios: named, self-contained simulations with their invariants.
 *
 * A scenario builds its world on a fresh kernel (`setup`): cells, locks, wait queues, devices
 * and the tasks that race on them. It returns its checks: `invariants` run after every step
 * (and may see `k.steps` and `k.now`), `final` runs once at the end of a run that finished,
 * and `state` summarises the final state (for coverage counts and litmus outcomes).
 */
import type { Kernel, KernelConfig } from '../kernel/kernel.js';

/** What `Scenario.setup` returns. */
export interface ScenarioInstance {
  /** Checked after every step: a string (or false) is a violation of kind `invariant`. */
  readonly invariants?: Readonly<Record<string, () => string | boolean | undefined>>;
  /** Checked once when the run ends with every task done: a string is a violation. */
  readonly final?: () => string | undefined;
  /** The final state, for coverage and reports. */
  readonly state?: () => Readonly<Record<string, number | string | boolean>>;
  /** Scenario figures added to the run's `stats`. */
  readonly stats?: () => Readonly<Record<string, unknown>>;
}

/** Default exploration bounds of a scenario. */
export interface ScenarioBounds {
  readonly preemptionBound?: number;
  readonly maxSteps?: number;
}

/** A named scenario. */
export interface Scenario {
  /** Name used on the command line (`wq-active-race`). */
  readonly name: string;
  /** One line for `aiosim list`. */
  readonly title: string;
  /** A paragraph or more: what it shows and what to look for. */
  readonly description: string;
  /** Config defaults (the command line may override cpus and memoryModel). */
  readonly config?: Partial<KernelConfig>;
  /** The fewest CPUs `setup` works with: one more than the highest CPU it places a task on (default 1). */
  readonly minCpus?: number;
  /** Exploration defaults. */
  readonly bounds?: ScenarioBounds;
  /** What exploration should find: `clean` (no violation) or a violation kind. */
  readonly expect?: 'clean' | 'hang' | 'invariant' | 'lock-validator' | 'bug';
  /** Seed `aiosim run` uses by default (one that shows the scenario's point). */
  readonly demoSeed?: number;
  /** Builds the world on `k`. */
  setup(k: Kernel): ScenarioInstance;
}
