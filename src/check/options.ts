/**
 * `explore()`'s options, resolved once: every default in one frozen place (`EXPLORE_DEFAULTS`,
 * and each strategy's `defaultRuns` in its registry entry), every value checked, the result
 * frozen. Strategies and the driver read nothing else.
 */
import type { KernelConfig } from '../kernel/kernel.js';
import type { ExploreOptions, Progress, Strategy } from './explore.js';
import { scenarioConfig } from './runner.js';
import type { Scenario } from './scenario.js';
import { STRATEGY_REGISTRY } from './strategies/index.js';

/** Defaults of `ExploreOptions` (runs: see each strategy's `defaultRuns`). */
export const EXPLORE_DEFAULTS = Object.freeze({
  strategy: 'exhaustive' as Strategy,
  seed: 1,
  pctDepth: 3,
  maxPctDepth: 64,
  stopOnFirst: true,
  minimize: true,
  maxSteps: 10_000,
  progressIntervalMs: 2000,
});

/** `ExploreOptions` with every default applied and every value checked. */
export interface ResolvedOptions {
  readonly strategy: Strategy;
  /** The complete, frozen config every run hands to the kernel as it is. */
  readonly config: KernelConfig;
  readonly runs: number;
  readonly maxSteps: number;
  readonly preemptionBound: number | undefined;
  readonly sleepSets: boolean;
  readonly seed: number;
  readonly pctDepth: number;
  readonly stopOnFirst: boolean;
  readonly minimize: boolean;
  readonly shard: { readonly index: number; readonly count: number } | undefined;
  /** Wall-clock deadline (`Date.now()` milliseconds), from `timeLimitMs` or `deadline`. */
  readonly deadline: number | undefined;
  readonly signal: { readonly aborted: boolean } | undefined;
  readonly onProgress: ((p: Progress) => void) | undefined;
  readonly progressIntervalMs: number;
}

/** "a, b and c". */
function list(names: readonly string[]): string {
  return names.length < 2
    ? names.join('')
    : `${names.slice(0, -1).join(', ')} and ${names[names.length - 1]}`;
}

/** The strategies an option applies to. */
function takers(option: 'preemptionBound' | 'pctDepth' | 'seed'): Strategy[] {
  return (Object.keys(STRATEGY_REGISTRY) as Strategy[]).filter((s) =>
    STRATEGY_REGISTRY[s].takes.includes(option),
  );
}

/** Resolves and checks `options` for a search of `scenario`; throws an Error saying what is wrong. */
export function resolveOptions(scenario: Scenario, options: ExploreOptions): ResolvedOptions {
  const d = EXPLORE_DEFAULTS;
  const strategy = options.strategy ?? d.strategy;
  if (!Object.hasOwn(STRATEGY_REGISTRY, strategy))
    throw new Error(
      `explore: unknown strategy '${strategy}' (use ${Object.keys(STRATEGY_REGISTRY).join(', ')})`,
    );
  const entry = STRATEGY_REGISTRY[strategy];
  // The scenario says whether it runs timed (performance scenarios) or untimed (races, where
  // time is only an order and timed events are choices like any other).
  const base = scenarioConfig(scenario, { trace: false, ...options.config });
  const config: KernelConfig = Object.freeze({ ...base, trace: false });
  const maxSteps = options.maxSteps ?? scenario.bounds?.maxSteps ?? d.maxSteps;
  const bound = options.preemptionBound ?? scenario.bounds?.preemptionBound;
  const runs = options.runs ?? entry.defaultRuns;
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`explore: runs must be a positive integer, got ${runs}`);
  if (!Number.isInteger(maxSteps) || maxSteps < 1)
    throw new Error(`explore: maxSteps must be a positive integer, got ${maxSteps}`);
  if (bound !== undefined && (!Number.isInteger(bound) || bound < 0)) {
    throw new Error(`explore: preemptionBound must be a non-negative integer, got ${bound}`);
  }
  for (const option of ['preemptionBound', 'pctDepth'] as const) {
    if (options[option] !== undefined && !entry.takes.includes(option))
      throw new Error(`explore: ${option} applies to the ${list(takers(option))} strategy, not ${strategy}`);
  }
  const pctDepth = options.pctDepth ?? d.pctDepth;
  if (
    options.pctDepth !== undefined &&
    (!Number.isInteger(pctDepth) || pctDepth < 1 || pctDepth > d.maxPctDepth)
  )
    throw new Error(`explore: pctDepth must be an integer from 1 to ${d.maxPctDepth}, got ${pctDepth}`);
  const timeLimit = options.timeLimitMs;
  if (timeLimit !== undefined && !(Number.isFinite(timeLimit) && timeLimit >= 0))
    throw new Error(`explore: timeLimitMs must be a non-negative number, got ${timeLimit}`);
  const shard = options.shard;
  if (shard !== undefined) {
    if (
      !Number.isInteger(shard.count) ||
      shard.count < 1 ||
      !Number.isInteger(shard.index) ||
      shard.index < 0 ||
      shard.index >= shard.count
    ) {
      throw new Error(`explore: shard must be i/N with 0 <= i < N, got ${shard.index}/${shard.count}`);
    }
    if (entry.shardBy === null) {
      const shardable = (Object.keys(STRATEGY_REGISTRY) as Strategy[]).filter(
        (s) => STRATEGY_REGISTRY[s].shardBy !== null,
      );
      throw new Error(`explore: --shard works with ${list(shardable)}, not ${strategy}`);
    }
  }
  return Object.freeze({
    strategy,
    config,
    runs,
    maxSteps,
    preemptionBound: bound,
    sleepSets: options.sleepSets ?? (bound === undefined && !config.timed),
    seed: options.seed ?? d.seed,
    pctDepth,
    stopOnFirst: options.stopOnFirst ?? d.stopOnFirst,
    minimize: options.minimize ?? d.minimize,
    shard,
    deadline: timeLimit !== undefined ? Date.now() + timeLimit : options.deadline,
    signal: options.signal,
    onProgress: options.onProgress,
    progressIntervalMs: options.progressIntervalMs ?? d.progressIntervalMs,
  });
}
