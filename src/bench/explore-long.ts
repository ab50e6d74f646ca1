/**
 * `npm run explore:long`: the exhaustive searches too big for the test suite, with their
 * verdicts and sizes. Each prints one line; `--json` prints one JSON object.
 *
 * - wtd-lock-page with 2 wtds and 1 sync locker and no preemption bound (about 1.9M executions);
 * - aio-complete-wakeup-mb, wq-active-mb, aio-ring-reap-rmb and aio-cancel-race without bounds.
 */
import { type ExploreReport, explore } from '../check/explore.js';
import type { Scenario } from '../check/scenario.js';
import { findScenario } from '../scenarios/index.js';
import { wtdLockPageScenario } from '../scenarios/wtd.js';

interface Job {
  readonly name: string;
  readonly scenario: Scenario;
  readonly runs: number;
}

function named(n: string): Scenario {
  const s = findScenario(n);
  if (s === undefined) throw new Error(`explore-long: no scenario '${n}'`);
  return s;
}

const jobs: Job[] = [
  { name: 'wq-active-mb', scenario: named('wq-active-mb'), runs: 5_000_000 },
  { name: 'aio-complete-wakeup-mb', scenario: named('aio-complete-wakeup-mb'), runs: 5_000_000 },
  { name: 'aio-ring-reap-rmb', scenario: named('aio-ring-reap-rmb'), runs: 5_000_000 },
  { name: 'aio-cancel-race', scenario: named('aio-cancel-race'), runs: 5_000_000 },
  {
    name: 'wtd-lock-page K=2 S=1 unbounded',
    scenario: { ...wtdLockPageScenario({ wtds: 2, lockers: 1 }), bounds: {} },
    runs: 5_000_000,
  },
];

const json = process.argv.includes('--json');
const out: Record<string, Omit<ExploreReport, 'stateKeys'>> = {};
for (const j of jobs) {
  const r = explore(j.scenario, { strategy: 'exhaustive', runs: j.runs, stopOnFirst: true });
  const { stateKeys: _k, ...rest } = r;
  out[j.name] = rest;
  if (!json) {
    console.log(
      `${j.name.padEnd(34)} ${String(r.explored).padStart(9)} executions  ${(r.elapsedMs / 1000).toFixed(1).padStart(7)} s  ` +
        `${r.complete ? 'complete' : `incomplete (${r.cutBy.join(', ')})`}  ${r.violations.length === 0 ? 'clean' : `${r.violations[0]!.kind}: ${r.violations[0]!.replay}`}`,
    );
  }
}
if (json) console.log(JSON.stringify(out));
