/**
 * Independence of seeds: run i of a random or PCT search is seeded from (seed, run index)
 * through a mixing function, so two searches with different seeds explore different schedules
 * (with seeds combined as s + i, seed 2 repeated seed 1's runs shifted by one).
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import { pctChooser } from '../../src/check/strategies/pct.js';
import { randomChooser, runSeed } from '../../src/check/strategies/random.js';
import type { Chooser } from '../../src/kernel/chooser.js';
import { findScenario } from '../../src/scenarios/index.js';

const s = findScenario('aio-complete-wakeup')!;

function schedules(make: (i: number) => Chooser, runs: number): Set<string> {
  const out = new Set<string>();
  for (let i = 0; i < runs; i++) {
    out.add(runScenario(s, { chooser: make(i), maxSteps: 10_000, keepTrace: false }).choices.join(','));
  }
  return out;
}

function shared(a: Set<string>, b: Set<string>): number {
  let n = 0;
  for (const x of a) if (b.has(x)) n++;
  return n;
}

describe('seeds are independent', () => {
  it('the run seeds of two searches (20,000 runs each) almost never meet', () => {
    for (const [x, y] of [
      [1, 2],
      [0, 1],
      [7, 2 ** 32 + 7],
    ] as const) {
      const a = new Set<number>();
      for (let i = 0; i < 20_000; i++) a.add(runSeed(x, i));
      let n = 0;
      for (let i = 0; i < 20_000; i++) if (a.has(runSeed(y, i))) n++;
      expect(n).toBeLessThanOrEqual(2);
    }
  });

  it('random: seeds 1 and 2 share almost none of 400 schedules', () => {
    const a = schedules((i) => randomChooser(1, i), 400);
    const b = schedules((i) => randomChooser(2, i), 400);
    expect(a.size).toBeGreaterThan(390);
    expect(shared(a, b)).toBeLessThanOrEqual(4);
  });

  it('pct: seeds 1 and 2 share no more schedules than two disjoint sets of runs of one seed', () => {
    const a = schedules((i) => pctChooser(1, i, 3, 60), 400);
    const b = schedules((i) => pctChooser(2, i, 3, 60), 400);
    // PCT's schedules are few by design (priorities, not coin flips), so independent runs do
    // meet: runs 400..799 of seed 1 are the baseline.
    const later = schedules((i) => pctChooser(1, 400 + i, 3, 60), 400);
    expect(shared(a, b)).toBeLessThanOrEqual(shared(a, later) * 1.5 + 10);
  });
});
