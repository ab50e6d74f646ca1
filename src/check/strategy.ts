/**
 * The strategy interface of `explore()`, on the model of shuttle's `Scheduler`: a strategy is
 * an object with a per-execution lifecycle.
 *
 * ```
 *   explore()                         strategy
 *   ---------                         --------
 *   newExecution()  ----------------> the next run's Chooser, or null: done
 *   run the scenario with it
 *   endExecution(report | null) ----> learns from the run (null: it abandoned it);
 *                                     says whether the run counts as explored
 *   ... until done, a budget, or the first violation ...
 *   finish()  ----------------------> what it adds to the report
 * ```
 *
 * `explore()` drives every strategy the same way: it checks the budgets before each
 * execution, runs it, records coverage and violations of the runs that count, minimises and
 * reports. A strategy only chooses. Sharding wraps a strategy (`shard.ts`); worker threads
 * run shards. A strategy is made by its registry entry (`strategies/index.ts`) from a
 * `SearchContext`.
 */
import type { Chooser } from '../kernel/chooser.js';
import type { Kernel } from '../kernel/kernel.js';
import type { ResolvedOptions } from './options.js';
import type { RunReport } from './runner.js';
import type { Scenario } from './scenario.js';

/**
 * What cut a search: the run cap, the step bound in some execution, the preemption bound, the
 * time limit, an interruption (SIGINT, an aborted signal), sampling (random, pct, fast-check,
 * round-robin), or the first violation (`stopped`).
 */
export type Cut =
  | 'runs'
  | 'max-steps'
  | 'preemption-bound'
  | 'time-limit'
  | 'interrupted'
  | 'sampled'
  | 'stopped';

/**
 * Thrown by a Chooser inside a run to abandon it: redundant by sleep sets, beyond the
 * preemption bound, or (sharded searches) in a subtree another shard owns. The kernel may wrap
 * what a decision taken inside task code throws, so whoever throws one also keeps it where
 * `Execution.abandoned` finds it.
 */
export class Abandon extends Error {
  readonly reason: string;
  constructor(reason: 'sleep' | 'preemption' | 'shard' | (string & {})) {
    super(`execution abandoned (${reason})`);
    this.reason = reason;
  }
}

/** One execution a strategy asks for. */
export interface Execution {
  readonly chooser: Chooser;
  /** Called with the kernel after setup, before the run (to attach watchers). */
  readonly onKernel?: ((k: Kernel) => void) | undefined;
  /** The Abandon this execution's Chooser threw, if any (strategies that abandon runs). */
  readonly abandoned?: (() => Abandon | null) | undefined;
  /**
   * The preemptions of this execution's run, for a strategy that counts them as it chooses;
   * a violation that is not minimised is then reported without running its schedule again.
   */
  readonly preemptions?: (() => number) | undefined;
}

/** What a strategy adds to the report once the search is over. */
export interface StrategyOutcome {
  /** The whole bounded space was covered (exhaustive searches). */
  readonly complete?: boolean;
  /** Executions abandoned as redundant. */
  readonly redundant?: number;
  /** A failing run to report (strategies that drive their own loop and shrink themselves). */
  readonly failing?: RunReport;
  /** PCT's guarantee. */
  readonly pct?: {
    readonly depth: number;
    readonly actors: number;
    readonly steps: number;
    readonly guarantee: number;
  };
}

/** A strategy, for one search. */
export interface SearchStrategy {
  /** The next execution, or null when the strategy has nothing more to run. */
  newExecution(): Execution | null;
  /**
   * The run of the execution `newExecution` returned ended: its report, or null when its
   * Chooser abandoned it. Returns whether the run counts as explored (is recorded).
   */
  endExecution(run: RunReport | null): boolean;
  /** The search is over (done, cut or stopped). */
  finish(): StrategyOutcome;
}

/** What a strategy sees of the search that drives it. */
export interface SearchContext {
  readonly scenario: Scenario;
  readonly options: ResolvedOptions;
  /** Executions recorded so far. */
  explored(): number;
  /** Marks the search as cut by `c`. */
  cut(c: Cut): void;
  /** The cuts so far, in the order they were made. */
  cuts(): readonly Cut[];
  /** Whether a budget or an interruption stops the search now (and marks the cut if so). */
  budgetOut(): boolean;
  /** A run outside the search: not recorded (e.g. PCT's probe of the run length). */
  run(chooser: Chooser): RunReport;
  /**
   * A run for a strategy that drives its own loop: counted in coverage, its violations left
   * to the strategy (which reports one through `StrategyOutcome.failing`).
   */
  sample(chooser: Chooser): RunReport;
}

/** How a strategy's executions can be dealt out among shards (see `shard.ts`), if at all. */
export type ShardBy = 'runs' | 'prefix' | null;

/** A strategy's entry in the registry. */
export interface StrategyEntry {
  /** Default of `runs`: the executions a search runs, or the cap on them. */
  readonly defaultRuns: number;
  /** Options of `ExploreOptions` that apply to this strategy alone among others. */
  readonly takes: readonly ('preemptionBound' | 'pctDepth' | 'seed')[];
  /** How shards (and worker threads) split it. */
  readonly shardBy: ShardBy;
  /** Every recorded execution follows a decision list of its own (distinct schedules = explored). */
  readonly distinctRuns: boolean;
  /** Makes the strategy for one search. */
  create(ctx: SearchContext): SearchStrategy;
}
