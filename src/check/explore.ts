/**
 * `explore()`: runs a scenario under many schedules and reports what went wrong, with a replay
 * token for each failure.
 *
 * Strategies (one small file each under `strategies/`): `exhaustive` (DFS with a preemption
 * bound, a step bound and sleep sets), `random`, `pct`, and `fast-check` (choice lists drawn
 * by fast-check, which shrinks failures). Every violation is minimised (`minimize.ts`) before
 * it is reported, and violations that minimise to the same replay token are reported once,
 * with a count. `shard` runs a deterministic share of an exhaustive search; shards' totals
 * add up to one whole run.
 *
 * A search ends with a verdict: `violation`, `clean-complete` (an exhaustive search that
 * nothing cut) or `clean-incomplete`, with `cutBy` naming every cut: the run cap, the step
 * bound in some execution, the preemption bound, the time limit, an interruption, or sampling
 * (random, pct and fast-check never cover the whole space). A search that was cut is not a pass.
 *
 * `explore` runs to the end on the calling thread; `exploreAsync` lets the event loop in
 * between executions, so that an AbortSignal raised by a signal handler (SIGINT) is seen.
 */
import fc from 'fast-check';
import type { Chooser } from '../kernel/chooser.js';
import { fromArray } from '../kernel/chooser.js';
import type { Kernel, KernelConfig } from '../kernel/kernel.js';
import type { ViolationKind } from '../kernel/violation.js';
import { countPreemptions, minimize } from './minimize.js';
import { type RunReport, runScenario, scenarioConfig } from './runner.js';
import type { Scenario } from './scenario.js';
import { Abandon, DfsSearch, schedWatch } from './strategies/dfs.js';
import { pctChooser, pctGuarantee } from './strategies/pct.js';
import { randomChooser } from './strategies/random.js';
import { encodeToken } from './token.js';

/** Exploration strategies. */
export type Strategy = 'exhaustive' | 'random' | 'pct' | 'fast-check';
export const STRATEGIES: readonly Strategy[] = ['exhaustive', 'random', 'pct', 'fast-check'];

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

/**
 * What cut a search: the run cap, the step bound in some execution, the preemption bound, the
 * time limit, an interruption (SIGINT, an aborted signal), sampling (random, pct, fast-check),
 * or the first violation (`stopped`).
 */
export type Cut =
  | 'runs'
  | 'max-steps'
  | 'preemption-bound'
  | 'time-limit'
  | 'interrupted'
  | 'sampled'
  | 'stopped';

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

const DEFAULT_MAX_STEPS = 10_000;
/** Decisions above this depth decide which shard owns a subtree. */
export const SHARD_DEPTH = 6;

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
  const {
    strategy = 'exhaustive',
    seed = 1,
    pctDepth = 3,
    stopOnFirst = true,
    minimize: doMin = true,
  } = options;
  if (!STRATEGIES.includes(strategy))
    throw new Error(`explore: unknown strategy '${strategy}' (use ${STRATEGIES.join(', ')})`);
  // The scenario says whether it runs timed (performance scenarios) or untimed (races, where
  // time is only an order and timed events are choices like any other).
  const config = scenarioConfig(scenario, { trace: false, ...options.config });
  // Complete and frozen: every run hands it to the kernel as it is.
  const runCfg: KernelConfig = Object.freeze({ ...config, trace: false });
  const maxSteps = options.maxSteps ?? scenario.bounds?.maxSteps ?? DEFAULT_MAX_STEPS;
  const bound = options.preemptionBound ?? scenario.bounds?.preemptionBound;
  const runs =
    options.runs ?? (strategy === 'exhaustive' ? 1_000_000 : strategy === 'fast-check' ? 300 : 1000);
  if (!Number.isInteger(runs) || runs < 1)
    throw new Error(`explore: runs must be a positive integer, got ${runs}`);
  if (!Number.isInteger(maxSteps) || maxSteps < 1)
    throw new Error(`explore: maxSteps must be a positive integer, got ${maxSteps}`);
  if (bound !== undefined && (!Number.isInteger(bound) || bound < 0)) {
    throw new Error(`explore: preemptionBound must be a non-negative integer, got ${bound}`);
  }
  if (options.preemptionBound !== undefined && strategy !== 'exhaustive')
    throw new Error(`explore: preemptionBound applies to the exhaustive strategy, not ${strategy}`);
  if (options.pctDepth !== undefined && strategy !== 'pct')
    throw new Error(`explore: pctDepth applies to the pct strategy, not ${strategy}`);
  if (options.pctDepth !== undefined && (!Number.isInteger(pctDepth) || pctDepth < 1 || pctDepth > 64))
    throw new Error(`explore: pctDepth must be an integer from 1 to 64, got ${pctDepth}`);
  const timeLimit = options.timeLimitMs;
  if (timeLimit !== undefined && !(Number.isFinite(timeLimit) && timeLimit >= 0))
    throw new Error(`explore: timeLimitMs must be a non-negative number, got ${timeLimit}`);
  const deadline = timeLimit !== undefined ? Date.now() + timeLimit : options.deadline;
  const interrupted = (): Cut | null => {
    if (options.signal?.aborted === true) return 'interrupted';
    if (deadline !== undefined && Date.now() >= deadline) return 'time-limit';
    return null;
  };
  const progressEvery = options.progressIntervalMs ?? 2000;
  let lastProgress = performance.now();
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
    if (strategy !== 'exhaustive' && strategy !== 'random' && strategy !== 'pct') {
      throw new Error(`explore: --shard works with exhaustive, random and pct, not ${strategy}`);
    }
  }
  const t0 = performance.now();
  const violations: FoundViolation[] = [];
  const states = new Set<string>();
  const schedules = new Set<string>();
  let exhaustiveSchedules = 0;
  const cutBy = new Set<Cut>();
  /** Checked before each execution: whether a budget or an interruption stops the search. */
  const budgetOut = (): boolean => {
    const why = interrupted();
    if (why !== null) cutBy.add(why);
    return why !== null;
  };
  let explored = 0;
  let longest = 0;
  let complete = false;
  let redundant = 0;
  let pctInfo: ExploreReport['pct'];

  const runOnce = (chooser: Chooser, onKernel?: (k: Kernel) => void): RunReport =>
    runScenario(scenario, {
      config: runCfg,
      chooser,
      maxSteps,
      keepTrace: false,
      ...(onKernel !== undefined ? { onKernel } : {}),
    });

  const record = (r: RunReport): boolean => {
    explored++;
    if (r.steps > longest) longest = r.steps;
    states.add(stateKey(r));
    if (r.status === 'max-steps') cutBy.add('max-steps');
    if (options.onProgress !== undefined) {
      const now = performance.now();
      if (now - lastProgress >= progressEvery) {
        lastProgress = now;
        options.onProgress({ explored, violations: violations.length, elapsedMs: now - t0 });
      }
    }
    if (r.violations.length === 0) return false;
    const v = report(r);
    if (violations.length < MAX_VIOLATIONS || violations.some((x) => x.replay === v.replay))
      addViolation(violations, v);
    return stopOnFirst;
  };

  const report = (r: RunReport): FoundViolation => {
    const v = r.violations[0]!;
    let choices = r.choices;
    let final = r;
    let preemptions: number;
    if (doMin) {
      const m = minimize(scenario, runCfg, choices, v.kind, maxSteps);
      choices = m.choices;
      final = m.report;
      preemptions = m.preemptions;
    } else {
      preemptions = countPreemptions(scenario, runCfg, choices, maxSteps);
    }
    const fv = final.violations.find((x) => x.kind === v.kind) ?? v;
    return {
      kind: fv.kind,
      message: fv.message,
      replay: encodeToken(
        scenario.name,
        scenarioConfig(scenario, runCfg),
        final.choices,
        final.status === 'max-steps' ? maxSteps : undefined,
      ),
      preemptions,
      steps: final.steps,
      choicesBefore: r.choices.length,
      choicesAfter: choices.length,
      count: 1,
    };
  };

  if (strategy === 'exhaustive') {
    const dfsOpts: { preemptionBound?: number; sleepSets?: boolean } = {};
    if (bound !== undefined) dfsOpts.preemptionBound = bound;
    dfsOpts.sleepSets = options.sleepSets ?? (bound === undefined && !config.timed);
    const search = new DfsSearch(dfsOpts);
    const attach = search.sleepSets ? (k: Kernel) => search.watch(schedWatch(k)) : undefined;
    // Sharding: the subtrees below the first SHARD_DEPTH decisions are dealt out in DFS order
    // (a run that ends above that depth is a subtree of its own). Every shard walks the same
    // decisions above the depth, so their ordinals agree; a shard abandons a subtree it does
    // not own as soon as the run reaches the depth.
    let prefixOrdinal = 0;
    let lastPrefix = '';
    let ownPrefix = true;
    let stopped = false;
    for (;;) {
      if (explored >= runs) {
        cutBy.add('runs');
        break;
      }
      if (budgetOut()) break;
      let r: RunReport | null = null;
      const chooser = search.chooser();
      // The abandonment of this run, if the search or the shard abandoned it: the kernel may
      // wrap what a decision taken inside task code throws, so the marker is kept here.
      let abandoned: Abandon | null = null;
      const guarded: Chooser = {
        choose: (n, why, point) => {
          try {
            const c = chooser.choose(n, why, point);
            if (shard !== undefined && search.currentDepth === SHARD_DEPTH) {
              const key = search.choices().join(',');
              if (key !== lastPrefix) {
                lastPrefix = key;
                ownPrefix = prefixOrdinal++ % shard.count === shard.index;
              }
              if (!ownPrefix) throw new Abandon('shard');
            }
            return c;
          } catch (e) {
            if (e instanceof Abandon) abandoned = e;
            throw e;
          }
        },
        observe: (a) => chooser.observe?.(a),
      };
      try {
        r = runOnce(guarded, attach);
      } catch (e) {
        if (abandoned === null) throw e;
      }
      if (r !== null) {
        let mine = true;
        if (shard !== undefined && search.currentDepth < SHARD_DEPTH) {
          mine = prefixOrdinal++ % shard.count === shard.index;
        }
        if (mine) {
          exhaustiveSchedules++; // every execution of the DFS follows a decision list of its own
          if (record(r)) {
            stopped = true;
            cutBy.add('stopped');
            break;
          }
        }
      }
      yield;
      if (!search.next()) {
        complete = !stopped;
        break;
      }
    }
    redundant = Math.max(0, search.redundant);
    if (search.cutByPreemption > 0) cutBy.add('preemption-bound');
    // Complete within the preemption bound: every execution with at most K preemptions was
    // covered, unless something else cut the search too.
    const others = [...cutBy].filter((c) => c !== 'preemption-bound');
    complete = complete && others.length === 0;
  } else if (strategy === 'random' || strategy === 'pct') {
    let k = maxSteps;
    if (strategy === 'pct') {
      // Estimate k (steps per run) from one random run, as the paper assumes k is known.
      const probe = runOnce(randomChooser(seed, 0xffffffff));
      k = Math.max(1, probe.steps);
    }
    let actors = 0;
    cutBy.add('sampled');
    for (let i = 0; i < runs; i++) {
      if (shard !== undefined && i % shard.count !== shard.index) continue;
      if (budgetOut()) break;
      const ch = strategy === 'pct' ? pctChooser(seed, i, pctDepth, k) : randomChooser(seed, i);
      const r = runOnce(ch);
      if ('actors' in ch) actors = Math.max(actors, (ch as { actors(): number }).actors());
      schedules.add(r.choices.join(','));
      if (record(r)) {
        cutBy.add('stopped');
        break;
      }
      yield;
    }
    if (strategy === 'pct') {
      pctInfo = { depth: pctDepth, actors, steps: k, guarantee: pctGuarantee(actors, k, pctDepth) };
    }
  } else {
    // fast-check: choice lists as arrays of naturals; fast-check shrinks a failure.
    // fast-check drives its own loop: when a budget runs out, the property throws `halt`,
    // which fast-check takes for a failure and shrinks (every attempt throws at once), so its
    // counterexample is kept only if it really fails; else the first real failure is.
    const halt = new Error('explore: budget out');
    let firstFailing: number[] | null = null;
    cutBy.add('sampled');
    const prop = fc.property(
      fc.array(fc.nat({ max: 15 }), { maxLength: Math.min(maxSteps, 200) }),
      (ints) => {
        if (cutBy.has('time-limit') || cutBy.has('interrupted') || budgetOut()) throw halt;
        const r = runOnce(fromArray(ints));
        explored++;
        if (r.steps > longest) longest = r.steps;
        states.add(stateKey(r));
        schedules.add(r.choices.join(','));
        if (r.violations.length > 0 && firstFailing === null) firstFailing = ints;
        return r.violations.length === 0;
      },
    );
    const out = fc.check(prop, { numRuns: runs, seed, endOnFailure: false });
    if (out.failed && out.counterexample !== null) {
      let r = runOnce(fromArray(out.counterexample[0]));
      if (r.violations.length === 0 && firstFailing !== null) r = runOnce(fromArray(firstFailing));
      if (r.violations.length > 0) {
        addViolation(violations, report(r));
        cutBy.add('stopped');
      }
    }
  }
  const cuts = [...cutBy];
  return {
    scenario: scenario.name,
    strategy,
    config: scenarioConfig(scenario, runCfg),
    explored,
    elapsedMs: Math.round((performance.now() - t0) * 1000) / 1000,
    violations,
    verdict: verdictOf(violations, cuts),
    complete: strategy === 'exhaustive' ? complete : false,
    cutBy: cuts,
    coverage: {
      distinctSchedules: strategy === 'exhaustive' ? exhaustiveSchedules : schedules.size,
      distinctFinalStates: states.size,
      longestRun: longest,
      redundant,
    },
    bounds: { preemptionBound: bound ?? null, maxSteps, runs },
    ...(pctInfo !== undefined ? { pct: pctInfo } : {}),
    stateKeys: [...states].sort(),
    ...(shard !== undefined ? { shard } : {}),
  };
}
