/**
 * Tests of shards and worker threads: the shards of an exhaustive search split it exactly
 * (their executions add up to the whole search's and their final states union to its), for
 * the reduced and the plain search and for 2 or 3 shards; `exploreParallel` with 2 workers
 * (threads loading the TypeScript sources) gives the same totals; random and pct shards split
 * the runs; `mergeReports` merges.
 */
import { describe, expect, it } from 'vitest';
import { type ExploreOptions, type ExploreReport, explore } from '../../src/check/explore.js';
import { exploreParallel, mergeReports } from '../../src/check/parallel.js';
import { findScenario } from '../../src/scenarios/index.js';

const wq = findScenario('wq-active-mb')!;

function shards(opts: ExploreOptions, count: number): ExploreReport[] {
  return Array.from({ length: count }, (_, index) => explore(wq, { ...opts, shard: { index, count } }));
}

describe('shards', () => {
  for (const [label, opts] of [
    ['with sleep sets', {}],
    ['plain DFS', { sleepSets: false }],
    ['within a preemption bound', { preemptionBound: 2 }],
  ] as const) {
    it(`cover exactly one whole search (${label})`, () => {
      const whole = explore(wq, opts);
      expect(whole.complete).toBe(true);
      for (const count of [2, 3]) {
        const parts = shards(opts, count);
        for (const p of parts) {
          expect(p.explored).toBeGreaterThan(0); // every shard has work
          expect(p.complete).toBe(true);
        }
        expect(parts.reduce((a, p) => a + p.explored, 0)).toBe(whole.explored);
        expect(new Set(parts.flatMap((p) => p.stateKeys))).toEqual(new Set(whole.stateKeys));
        const merged = mergeReports(parts);
        expect(merged.explored).toBe(whole.explored);
        expect(merged.coverage.distinctSchedules).toBe(whole.coverage.distinctSchedules);
        expect(merged.stateKeys).toEqual(whole.stateKeys);
        expect(merged.complete).toBe(true);
        expect(merged.shard).toBeUndefined();
      }
    });
  }

  it('split the violations of a racy scenario between them', () => {
    const race = findScenario('wq-active-race')!;
    const opts = { stopOnFirst: false, minimize: false };
    const whole = explore(race, opts);
    const parts = [0, 1].map((index) => explore(race, { ...opts, shard: { index, count: 2 } }));
    expect(parts[0]!.explored + parts[1]!.explored).toBe(whole.explored);
    expect(parts[0]!.violations.length + parts[1]!.violations.length).toBe(whole.violations.length);
  });

  it('random and pct shards take every other run', () => {
    for (const strategy of ['random', 'pct'] as const) {
      const o = { strategy, runs: 40, stopOnFirst: false, seed: 3 };
      const whole = explore(wq, o);
      const parts = [0, 1].map((index) => explore(wq, { ...o, shard: { index, count: 2 } }));
      expect(parts.map((p) => p.explored)).toEqual([20, 20]);
      expect(new Set(parts.flatMap((p) => p.stateKeys))).toEqual(new Set(whole.stateKeys));
    }
  });

  it('mergeReports refuses an empty list', () => {
    expect(() => mergeReports([])).toThrow(/no reports/);
  });
});

describe('exploreParallel (worker threads)', () => {
  it('2 workers explore exactly what one does', async () => {
    const whole = explore(wq, {});
    const par = await exploreParallel('wq-active-mb', {}, 2);
    expect(par.explored).toBe(whole.explored);
    expect(par.complete).toBe(true);
    expect(par.stateKeys).toEqual(whole.stateKeys);
    expect(par.coverage.distinctSchedules).toBe(whole.coverage.distinctSchedules);
    expect(par.violations).toEqual([]);
  });

  it('workers inside an outer shard split that shard', async () => {
    const outer = explore(wq, { shard: { index: 1, count: 2 } });
    const par = await exploreParallel('wq-active-mb', { shard: { index: 1, count: 2 } }, 2);
    expect(par.explored).toBe(outer.explored);
    expect(par.shard).toEqual({ index: 1, count: 2 });
  });

  it('reports a violation found in a worker with its token', async () => {
    const par = await exploreParallel('lost-update', { stopOnFirst: false }, 2);
    expect(par.violations.length).toBeGreaterThan(0);
    expect(par.violations[0]!.replay).toMatch(/^aiosim2\.lost-update\./);
  });

  it('rejects a bad worker count', async () => {
    await expect(exploreParallel('sb', {}, 0)).rejects.toThrow(/workers must be >= 1/);
  });
});
