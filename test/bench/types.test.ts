/**
 * The bench harness (src/bench/types.ts): `measure` runs two warm-ups and then three to five
 * timed runs of fresh workloads, never timing a build; `result` reports the fastest run as
 * `runSec` with the median and slowest beside it. (What is asserted is the bookkeeping, never a
 * duration.)
 */
import { describe, expect, it } from 'vitest';
import { measure, result } from '../../src/bench/types.js';

describe('measure', () => {
  it('builds a fresh workload for every run and times runs, not builds', () => {
    let built = 0;
    const ran: number[] = [];
    const m = measure(
      () => ({ id: built++ }),
      (w) => {
        ran.push(w.id);
      },
    );
    // Two warm-ups, then at least three timed runs (short runs: five), each on its own workload.
    expect(m.runs).toBe(5);
    expect(built).toBe(2 + m.runs);
    expect(ran).toEqual([...Array(built).keys()]);
    // The workload handed back is the last timed one.
    expect(m.workload.id).toBe(built - 1);
    expect(m.runSec).toBeLessThanOrEqual(m.medianSec);
    expect(m.medianSec).toBeLessThanOrEqual(m.maxSec);
  });

  it('result reports the fastest run, the work per second of it and the spread', () => {
    const m = { runSec: 0.5, medianSec: 0.75, maxSec: 2, runs: 5, workload: null };
    const r = result(m, 1000, 'thing', { extra: 7 });
    expect(r).toMatchObject({ runSec: 0.5, work: 1000, unit: 'thing', perSec: 2000, extra: 7 });
    expect(r).toMatchObject({ medianSec: 0.75, maxSec: 2, runs: 5 });
    expect(r.peakRssMiB).toBeGreaterThan(0);
  });
});
