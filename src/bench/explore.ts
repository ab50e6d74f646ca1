/**
 * Benchmark group `explore`: the race explorer with the whole simulated kernel under it.
 *
 * - `dfs-sb`: plain exhaustive DFS (no sleep sets, no bound, every violation kept, no
 *   minimisation) of `sb` under tso, repeated; unit `execution` (target: 150,000/s).
 * - `dfs-lost-update`: the same on `lost-update`.
 * - `sb-mb-complete`: the default exhaustive search (sleep sets) of `sb-mb` to its complete,
 *   clean verdict, warm, repeated; unit `verdict`; also `executions` per verdict and `msPerVerdict`
 *   (target: under 10 ms).
 *
 * `--quick` divides the repetitions by 10.
 */
import { explore } from '../check/explore.js';
import type { Scenario } from '../check/scenario.js';
import { findScenario } from '../scenarios/index.js';
import type { BenchGroup, BenchModelResult, BenchOptions } from './types.js';
import { measure, result } from './types.js';

function scenario(name: string): Scenario {
  const s = findScenario(name);
  if (s === undefined) throw new Error(`bench explore: no scenario '${name}'`);
  return s;
}

/** Plain DFS of `name`, `reps` times over; counts executions. */
function plainDfs(name: string, reps: number): BenchModelResult {
  const s = scenario(name);
  const opts = { strategy: 'exhaustive', sleepSets: false, stopOnFirst: false, minimize: false } as const;
  const first = explore(s, opts);
  if (!first.complete) throw new Error(`bench explore: plain DFS of ${name} did not complete`);
  const m = measure(
    () => ({ executions: 0, violations: 0 }),
    (w) => {
      for (let i = 0; i < reps; i++) {
        const r = explore(s, opts);
        w.executions += r.explored;
        w.violations += r.violations.length;
      }
    },
  );
  return result(m, m.workload.executions, 'execution', {
    executionsPerSearch: first.explored,
    finalStates: first.coverage.distinctFinalStates,
    violationsPerSearch: first.violations.length,
    memoryModel: first.config.memoryModel,
  });
}

/** The reduced exhaustive search of sb-mb to a complete verdict, `reps` times. */
function sbMbComplete(reps: number): BenchModelResult {
  const s = scenario('sb-mb');
  const first = explore(s);
  if (!first.complete || first.violations.length > 0)
    throw new Error('bench explore: sb-mb did not reach a complete clean verdict');
  const m = measure(
    () => ({ verdicts: 0, executions: 0 }),
    (w) => {
      for (let i = 0; i < reps; i++) {
        const r = explore(s);
        if (r.complete) w.verdicts++;
        w.executions += r.explored;
      }
    },
  );
  return result(m, m.workload.verdicts, 'verdict', {
    executions: first.explored,
    redundant: first.coverage.redundant,
    msPerVerdict: (m.runSec * 1000) / Math.max(1, m.workload.verdicts),
  });
}

/** The `explore` group. */
export const exploreGroup: BenchGroup = {
  name: 'explore',
  models: {
    'dfs-sb': (o: BenchOptions) => plainDfs('sb', o.quick ? 500 : 5000),
    'dfs-lost-update': (o: BenchOptions) => plainDfs('lost-update', o.quick ? 2000 : 20_000),
    'sb-mb-complete': (o: BenchOptions) => sbMbComplete(o.quick ? 2000 : 20_000),
  },
};
