/**
 * `explore()`: runs a scenario under many schedules and reports what went wrong, with a replay
 * token for each failure.
 *
 * Strategies (one small file each under `strategies/`, listed in `strategies/index.ts`):
 * `exhaustive` (DFS with a preemption bound, a step bound and sleep sets), `random`, `pct`,
 * `fast-check` (choice lists drawn by fast-check, which shrinks failures) and `round-robin`.
 * `explore` resolves its options once (`options.ts`), then drives any strategy the same way
 * (the lifecycle of `strategy.ts`): budgets before each execution, coverage and violations of
 * each run that counts. Every violation is minimised (`minimize.ts`) before it is reported,
 * and violations that minimise to the same replay token are reported once, with a count.
 * `shard` runs a deterministic share of a search (`shard.ts`); shards' totals add up to one
 * whole run.
 *
 * A search ends with a verdict: `violation`, `clean-complete` (an exhaustive search that
 * nothing cut) or `clean-incomplete`, with `cutBy` naming every cut: the run cap, the step
 * bound in some execution, the preemption bound, the time limit, an interruption, or sampling
 * (random, pct, fast-check and round-robin never cover the whole space). A search that was cut
 * is not a pass.
 *
 * `explore` runs to the end on the calling thread; `exploreAsync` lets the event loop in
 * between executions, so that an AbortSignal raised by a signal handler (SIGINT) is seen.
 */
import type { Chooser } from '../kernel/chooser.js';
import type { Kernel, KernelConfig } from '../kernel/kernel.js';
import type { ViolationKind } from '../kernel/violation.js';
import { countPreemptions, minimize } from './minimize.js';
import { resolveOptions } from './options.js';
import { type RunReport, runScenario, scenarioConfig } from './runner.js';
import type { Scenario } from './scenario.js';
import { sharded } from './shard.js';
import { STRATEGY_REGISTRY } from './strategies/index.js';
import type { Cut, SearchContext } from './strategy.js';
import { encodeToken } from './token.js';

export { SHARD_DEPTH } from './shard.js';
export type { Cut } from './strategy.js';

/** Exploration strategies: the names in the registry. */
export type Strategy = keyof typeof STRATEGY_REGISTRY;
export const STRATEGIES: readonly Strategy[] = Object.keys(STRATEGY_REGISTRY) as Strategy[];

/** Options of `explore`. */
export interface ExploreOptions {
  readonly strategy?: Strategy;
  /** Executions: a cap for exhaustive (default 1,000,000), the count for the others (default 1000; fast-check 300). */
  readonly runs?: number;
  /** Preemption bound (exhaustive; default: the scenario's, else none). */
  readonly preemptionBound?: number;
  /** Step bound per execution (default: the scenario's, else 10,000). */
  readonly maxSteps?: number;
  /** Config overrides (memory model, CPUs, timed ...) on top of the scenario's own config. */
  readonly config?: Partial<KernelConfig>;
  /** Seed (random, pct, fast-check). */
  readonly seed?: number;
  /** PCT depth (default 3). */
  readonly pctDepth?: number;
  /** Stop at the first violation (default true). */
  readonly stopOnFirst?: boolean;
  /** Minimise violations (default true). */
  readonly minimize?: boolean;
  /** Sleep-set reduction for exhaustive (default: on when there is no preemption bound). */
  readonly sleepSets?: boolean;
  /** Run share `index` of `count` of an exhaustive search. */
  readonly shard?: { readonly index: number; readonly count: number };
  /** Stop after this many milliseconds of wall time (default: no limit). */
  readonly timeLimitMs?: number;
  /** Stop at this wall-clock time (`Date.now()` milliseconds). */
  readonly deadline?: number;
  /** Stop when this is aborted (checked between executions). */
  readonly signal?: { readonly aborted: boolean };
  /** Called at most every `progressIntervalMs` (default 2000) with progress. */
  readonly onProgress?: (p: Progress) => void;
  readonly progressIntervalMs?: number;
}

/** Progress of a search. */
export interface Progress {
  readonly explored: number;
  readonly violations: number;
  readonly elapsedMs: number;
}

/** How a search ended. */
export type Verdict = 'violation' | 'clean-complete' | 'clean-incomplete';

/** A violation found by exploration. */
export interface FoundViolation {
  readonly kind: ViolationKind;
  readonly message: string;
  /** Token for `aiosim replay`. */
  readonly replay: string;
  /** Preemptions in the (minimised) schedule. */
  readonly preemptions: number;
  /** Steps of the (minimised) run. */
  readonly steps: number;
  /** Length of the choice list before and after minimisation. */
  readonly choicesBefore: number;
  readonly choicesAfter: number;
  /** Failing executions that minimised to this same token. */
  readonly count: number;
}

/** Coverage of a search. */
export interface Coverage {
  /** Distinct choice lists executed. */
  readonly distinctSchedules: number;
  /** Distinct final states (the scenario's `state()` plus how the run ended). */
  readonly distinctFinalStates: number;
  /** Steps of the longest execution. */
  readonly longestRun: number;
  /** Executions abandoned as redundant by sleep sets (exhaustive). */
  readonly redundant: number;
}

/** The report of `explore` (what `aiosim explore --json` prints). */
export interface ExploreReport {
  readonly scenario: string;
  readonly strategy: Strategy;
  readonly config: KernelConfig;
  readonly explored: number;
  readonly elapsedMs: number;
  readonly violations: FoundViolation[];
  /** `violation`, or clean and complete (nothing cut the search), or clean but incomplete. */
  readonly verdict: Verdict;
  /**
   * True when an exhaustive search covered the whole bounded space (every execution within
   * the preemption bound, if one cut it). Only `verdict` says whether the search was a proof.
   */
  readonly complete: boolean;
  /** What cut the search, if anything. */
  readonly cutBy: Cut[];
  readonly coverage: Coverage;
  readonly bounds: {
    readonly preemptionBound: number | null;
    readonly maxSteps: number;
    readonly runs: number;
  };
  /** PCT: the per-run probability guarantee for the depth used. */
  readonly pct?: {
    readonly depth: number;
    readonly actors: number;
    readonly steps: number;
    readonly guarantee: number;
  };
  /** Final-state keys seen (for merging shards). */
  readonly stateKeys: string[];
  /** Shard run, if any. */
  readonly shard?: { readonly index: number; readonly count: number };
}

/** The verdict of a search that found `violations` and was cut by `cutBy`. */
export function verdictOf(violations: readonly unknown[], cutBy: readonly Cut[]): Verdict {
  if (violations.length > 0) return 'violation';
  return cutBy.length === 0 ? 'clean-complete' : 'clean-incomplete';
}

/** Adds `v` to `list`, or counts it on the one with the same replay token. */
export function addViolation(list: FoundViolation[], v: FoundViolation): void {
  const i = list.findIndex((x) => x.replay === v.replay);
  if (i >= 0) list[i] = { ...list[i]!, count: list[i]!.count + v.count };
  else list.push(v);
}

/** Distinct violations kept in a report. */
const MAX_VIOLATIONS = 20;

function stateKey(r: RunReport): string {
  return `${r.status}|${r.violations.map((v) => v.kind).join(',')}|${JSON.stringify(r.state)}`;
}

/** Runs `scenario` under many schedules. */
export function explore(scenario: Scenario, options: ExploreOptions = {}): ExploreReport {
  const steps = exploreSteps(scenario, options);
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
  }
}

/** `explore`, letting the event loop run every few tens of milliseconds (between executions). */
export async function exploreAsync(scenario: Scenario, options: ExploreOptions = {}): Promise<ExploreReport> {
  const steps = exploreSteps(scenario, options);
  let last = performance.now();
  for (;;) {
    const r = steps.next();
    if (r.done === true) return r.value;
    if (performance.now() - last >= 25) {
      await new Promise<void>((resolve) => setImmediate(resolve));
      last = performance.now();
    }
  }
}

/** The search, yielding after each execution. */
function* exploreSteps(scenario: Scenario, options: ExploreOptions): Generator<void, ExploreReport> {
  const o = resolveOptions(scenario, options);
  const { config, maxSteps, shard } = o;
  const entry = STRATEGY_REGISTRY[o.strategy];
  const t0 = performance.now();
  let lastProgress = t0;
  const violations: FoundViolation[] = [];
  const states = new Set<string>();
  // Kept only for strategies whose runs may repeat a schedule.
  const schedules = entry.distinctRuns ? null : new Set<string>();
  const cutBy = new Set<Cut>();
  let explored = 0;
  let longest = 0;

  const runOnce = (chooser: Chooser, onKernel?: (k: Kernel) => void): RunReport =>
    runScenario(scenario, {
      config,
      chooser,
      maxSteps,
      keepTrace: false,
      ...(onKernel !== undefined ? { onKernel } : {}),
    });

  /** Coverage of a run that counts. */
  const tally = (r: RunReport): void => {
    explored++;
    if (r.steps > longest) longest = r.steps;
    states.add(stateKey(r));
    schedules?.add(r.choices.join(','));
  };

  /** Records a run that counts; returns whether the search stops there. */
  const record = (r: RunReport, known?: () => number): boolean => {
    tally(r);
    if (r.status === 'max-steps') cutBy.add('max-steps');
    if (o.onProgress !== undefined) {
      const now = performance.now();
      if (now - lastProgress >= o.progressIntervalMs) {
        lastProgress = now;
        o.onProgress({ explored, violations: violations.length, elapsedMs: now - t0 });
      }
    }
    if (r.violations.length === 0) return false;
    note(r, known);
    return o.stopOnFirst;
  };

  // Kept violations by the schedule they replay (what their token encodes): a schedule seen
  // again is counted, and the token of one that will not be kept is never made.
  const kept = new Map<string, number>();

  /** Reports the violation of `r` (minimised), or counts it on the one kept for its schedule. */
  const note = (r: RunReport, known?: () => number): void => {
    const v = r.violations[0]!;
    const m = o.minimize ? minimize(scenario, config, r.choices, v.kind, maxSteps) : null;
    const final = m === null ? r : m.report;
    const cut = final.status === 'max-steps';
    const key = `${cut ? 'm' : ''}${final.choices.join(',')}`;
    const i = kept.get(key);
    if (i !== undefined) {
      violations[i] = { ...violations[i]!, count: violations[i]!.count + 1 };
      return;
    }
    if (violations.length >= MAX_VIOLATIONS) return;
    const fv = final.violations.find((x) => x.kind === v.kind) ?? v;
    kept.set(key, violations.length);
    violations.push({
      kind: fv.kind,
      message: fv.message,
      replay: encodeToken(
        scenario.name,
        scenarioConfig(scenario, config),
        final.choices,
        cut ? maxSteps : undefined,
      ),
      preemptions:
        m !== null
          ? m.preemptions
          : known !== undefined
            ? known()
            : countPreemptions(scenario, config, r.choices, maxSteps),
      steps: final.steps,
      choicesBefore: r.choices.length,
      choicesAfter: m === null ? r.choices.length : m.choices.length,
      count: 1,
    });
  };

  const ctx: SearchContext = {
    scenario,
    options: o,
    explored: () => explored,
    cut: (c) => {
      cutBy.add(c);
    },
    cuts: () => [...cutBy],
    budgetOut: () => {
      let why: Cut | null = null;
      if (o.signal?.aborted === true) why = 'interrupted';
      else if (o.deadline !== undefined && Date.now() >= o.deadline) why = 'time-limit';
      if (why !== null) cutBy.add(why);
      return why !== null;
    },
    run: (chooser) => runOnce(chooser),
    sample: (chooser) => {
      const r = runOnce(chooser);
      tally(r);
      return r;
    },
  };

  const created = entry.create(ctx);
  const strategy = shard !== undefined ? sharded(created, entry.shardBy, shard) : created;
  for (;;) {
    const ex = strategy.newExecution();
    if (ex === null || ctx.budgetOut()) break;
    let r: RunReport | null = null;
    try {
      r = runOnce(ex.chooser, ex.onKernel);
    } catch (e) {
      // An abandoned run is recognised by the marker its Chooser kept, not by what reached here.
      if (ex.abandoned?.() == null) throw e;
    }
    const counts = strategy.endExecution(r);
    if (counts && r !== null && record(r, ex.preemptions)) {
      cutBy.add('stopped');
      break;
    }
    yield;
  }
  const outcome = strategy.finish();
  if (outcome.failing !== undefined) {
    note(outcome.failing);
    cutBy.add('stopped');
  }
  const cuts = [...cutBy];
  return {
    scenario: scenario.name,
    strategy: o.strategy,
    config: scenarioConfig(scenario, config),
    explored,
    elapsedMs: Math.round((performance.now() - t0) * 1000) / 1000,
    violations,
    verdict: verdictOf(violations, cuts),
    complete: outcome.complete ?? false,
    cutBy: cuts,
    coverage: {
      distinctSchedules: schedules === null ? explored : schedules.size,
      distinctFinalStates: states.size,
      longestRun: longest,
      redundant: outcome.redundant ?? 0,
    },
    bounds: { preemptionBound: o.preemptionBound ?? null, maxSteps, runs: o.runs },
    ...(outcome.pct !== undefined ? { pct: outcome.pct } : {}),
    stateKeys: [...states].sort(),
    ...(shard !== undefined ? { shard } : {}),
  };
}
