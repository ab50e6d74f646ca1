/**
 * `explore()`: runs a scenario under many schedules and reports what went wrong, with a replay
 * token for each failure.
 *
 * Strategies (one small file each under `strategies/`): `exhaustive` (DFS with a preemption
 * bound, a step bound and sleep sets), `random`, `pct`, and `fast-check` (choice lists drawn
 * by fast-check, which shrinks failures). Every violation is minimised (`minimize.ts`) before
 * it is reported. `shard` runs a deterministic share of an exhaustive search; shards' totals
 * add up to one whole run.
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
  /** Called every so often with progress. */
  readonly onProgress?: (p: { explored: number; violations: number }) => void;
}

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

/** The report of `explore` (DESIGN §6's JSON for `aiosim explore`). */
export interface ExploreReport {
  readonly scenario: string;
  readonly strategy: Strategy;
  readonly config: KernelConfig;
  readonly explored: number;
  readonly elapsedMs: number;
  readonly violations: FoundViolation[];
  /** True when an exhaustive search covered the whole bounded space. */
  readonly complete: boolean;
  /** Which bounds cut the search, if any: 'preemption-bound', 'max-steps', 'runs', 'stopped'. */
  readonly cutBy: string[];
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

function stateKey(r: RunReport): string {
  return `${r.status}|${r.violations.map((v) => v.kind).join(',')}|${JSON.stringify(r.state)}`;
}

/** Runs `scenario` under many schedules. */
export function explore(scenario: Scenario, options: ExploreOptions = {}): ExploreReport {
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
  const cutBy = new Set<string>();
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
    if (options.onProgress !== undefined && explored % 1000 === 0) {
      options.onProgress({ explored, violations: violations.length });
    }
    if (r.violations.length === 0) return false;
    if (violations.length < 20) violations.push(report(r));
    return stopOnFirst;
  };

  // The exhaustive search knows the preemptions of the run it just did (used when not minimising).
  let knownPreemptions: (() => number) | null = null;

  const report = (r: RunReport): FoundViolation => {
    const v = r.violations[0]!;
    let choices = r.choices;
    let final = r;
    if (doMin) {
      const m = minimize(scenario, runCfg, choices, v.kind, maxSteps);
      choices = m.choices;
      final = m.report;
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
      preemptions:
        !doMin && knownPreemptions !== null
          ? knownPreemptions()
          : countPreemptions(scenario, runCfg, choices, maxSteps),
      steps: final.steps,
      choicesBefore: r.choices.length,
      choicesAfter: choices.length,
    };
  };

  if (strategy === 'exhaustive') {
    const dfsOpts: { preemptionBound?: number; sleepSets?: boolean } = {};
    if (bound !== undefined) dfsOpts.preemptionBound = bound;
    dfsOpts.sleepSets = options.sleepSets ?? (bound === undefined && !config.timed);
    const search = new DfsSearch(dfsOpts);
    knownPreemptions = () => search.preemptions();
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
      let r: RunReport | null = null;
      const chooser = search.chooser();
      const guarded: Chooser =
        shard === undefined
          ? chooser
          : {
              choose: (n, why, point) => {
                const c = chooser.choose(n, why, point);
                if (search.currentDepth === SHARD_DEPTH) {
                  const key = search.choices().join(',');
                  if (key !== lastPrefix) {
                    lastPrefix = key;
                    ownPrefix = prefixOrdinal++ % shard.count === shard.index;
                  }
                  if (!ownPrefix) throw new Abandon('shard');
                }
                return c;
              },
              observe: (a) => chooser.observe?.(a),
            };
      try {
        r = runOnce(guarded, attach);
      } catch (e) {
        // Abandon may come wrapped, when a decision taken inside kernel code abandoned the run.
        if (!(e instanceof Abandon) && !(e instanceof Error && e.message.includes('execution abandoned')))
          throw e;
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
      if (!search.next()) {
        complete = !stopped;
        break;
      }
    }
    redundant = Math.max(0, search.redundant);
    if (search.cutByPreemption > 0) cutBy.add('preemption-bound');
    if (cutBy.has('max-steps') || cutBy.has('runs') || cutBy.has('preemption-bound') || stopped)
      complete = false;
    if (cutBy.has('preemption-bound') && !cutBy.has('max-steps') && !cutBy.has('runs') && !stopped) {
      // Complete within the preemption bound: every execution with at most K preemptions was covered.
      complete = true;
    }
  } else if (strategy === 'random' || strategy === 'pct') {
    let k = maxSteps;
    if (strategy === 'pct') {
      // Estimate k (steps per run) from one random run, as the paper assumes k is known.
      const probe = runOnce(randomChooser(seed, 0xffffffff));
      k = Math.max(1, probe.steps);
    }
    let actors = 0;
    for (let i = 0; i < runs; i++) {
      if (shard !== undefined && i % shard.count !== shard.index) continue;
      const ch = strategy === 'pct' ? pctChooser(seed, i, pctDepth, k) : randomChooser(seed, i);
      const r = runOnce(ch);
      if ('actors' in ch) actors = Math.max(actors, (ch as { actors(): number }).actors());
      schedules.add(r.choices.join(','));
      if (record(r)) {
        cutBy.add('stopped');
        break;
      }
    }
    if (strategy === 'pct') {
      pctInfo = { depth: pctDepth, actors, steps: k, guarantee: pctGuarantee(actors, k, pctDepth) };
    }
  } else {
    // fast-check: choice lists as arrays of naturals; fast-check shrinks a failure.
    let failing: number[] | null = null;
    const prop = fc.property(
      fc.array(fc.nat({ max: 15 }), { maxLength: Math.min(maxSteps, 200) }),
      (ints) => {
        const r = runOnce(fromArray(ints));
        explored++;
        if (r.steps > longest) longest = r.steps;
        states.add(stateKey(r));
        schedules.add(r.choices.join(','));
        return r.violations.length === 0;
      },
    );
    const out = fc.check(prop, { numRuns: runs, seed, endOnFailure: false });
    if (out.failed && out.counterexample !== null) {
      failing = out.counterexample[0];
      const r = runOnce(fromArray(failing));
      if (r.violations.length > 0) violations.push(report(r));
      cutBy.add('stopped');
    }
  }
  return {
    scenario: scenario.name,
    strategy,
    config: scenarioConfig(scenario, runCfg),
    explored,
    elapsedMs: Math.round((performance.now() - t0) * 1000) / 1000,
    violations,
    complete: strategy === 'exhaustive' ? complete : false,
    cutBy: [...cutBy],
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
