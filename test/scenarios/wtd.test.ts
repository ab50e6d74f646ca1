import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/check/explore.js';
import { runScenario } from '../../src/check/runner.js';
import { decodeToken } from '../../src/check/token.js';
import { fromArray, replay } from '../../src/kernel/chooser.js';
import { findScenario } from '../../src/scenarios/index.js';
import {
  type PhaseFigures,
  wtdLockPage,
  wtdLockPageRacy,
  wtdLockPageScenario,
  wtdVsThreads,
  wtdVsThreadsScenario,
} from '../../src/scenarios/wtd.js';

describe('wtd-lock-page', () => {
  it('is clean under exhaustive exploration with K=2 wtds and S=1 locker, complete within its bound', () => {
    const r = explore(wtdLockPage);
    expect(r.violations).toEqual([]);
    expect(r.complete).toBe(true);
    expect(r.bounds.preemptionBound).toBe(3);
    expect(r.explored).toBeGreaterThan(1000);
    expect(r.cutBy).toEqual(['preemption-bound']);
  });

  it('is clean with no bound at all for K=1, S=1 (the whole space)', () => {
    const s = wtdLockPageScenario({ wtds: 1, lockers: 1 });
    const r = explore({ ...s, bounds: { maxSteps: 2000 } });
    expect(r.bounds.preemptionBound).toBeNull();
    expect(r.violations).toEqual([]);
    expect(r.complete).toBe(true);
    expect(r.cutBy).toEqual([]);
  });

  it('is clean under the fast-check strategy', () => {
    const r = explore(wtdLockPage, { strategy: 'fast-check', runs: 300, seed: 7 });
    expect(r.explored).toBe(300);
    expect(r.violations).toEqual([]);
  });

  test.prop(
    [
      fc.integer({ min: 1, max: 3 }),
      fc.integer({ min: 0, max: 2 }),
      fc.integer({ min: 1, max: 2 }),
      fc.array(fc.nat(), { maxLength: 120 }),
    ],
    { numRuns: 150 },
  )(
    'any K, S, pool size and schedule: each action once, under the lock, nobody hangs, nothing sleeps',
    (K, S, P, choices) => {
      const r = runScenario(wtdLockPageScenario({ wtds: K, lockers: S, workers: P }), {
        chooser: fromArray(choices),
        config: { trace: false },
        maxSteps: 5000,
      });
      expect(r.violations).toEqual([]);
      expect(r.status).toBe('done');
      expect(r.state.done).toBe(K);
    },
  );

  it('explores schedules where a waiter loses the page to a locker and stays queued', () => {
    let lost = 0;
    for (let seed = 1; seed <= 400 && lost === 0; seed++) {
      const r = runScenario(wtdLockPageScenario({ wtds: 2, lockers: 2 }), { seed, config: { trace: false } });
      expect(r.violations).toEqual([]);
      lost += Number(r.stats['wtd.waiter.lost'] ?? 0);
    }
    expect(lost).toBeGreaterThan(0);
  });

  it('a waiter that does not take the lock for the wtd is caught: the action runs unlocked', () => {
    const r = explore(wtdLockPageScenario({ variant: 'no-trylock' }));
    expect(r.violations[0]?.kind).toBe('invariant');
    expect(r.violations[0]?.message).toMatch(/critical section without PG_locked|while .* was in it/);
  });
});

describe('wtd-lock-page-racy', () => {
  it('exploration finds the lost wake-up (a hang) with a replay token that replays it', () => {
    const r = explore(wtdLockPageRacy);
    expect(r.violations).toHaveLength(1);
    const v = r.violations[0]!;
    expect(v.kind).toBe('hang');
    expect(v.message).toMatch(/submitter \(pid \d+\) sleeps in TASK_UNINTERRUPTIBLE on wq:done/);
    expect(v.replay).toMatch(/^aiosim2\.wtd-lock-page-racy\./);
    const tok = decodeToken(v.replay);
    expect(tok.scenario).toBe('wtd-lock-page-racy');
    const again = runScenario(findScenario(tok.scenario)!, {
      config: tok.config,
      chooser: replay(tok.choices),
    });
    expect(again.status).toBe('hang');
    expect(again.violations[0]?.kind).toBe('hang');
  });
});

describe('wtd-vs-threads', () => {
  it('does the same reads both ways and reports tasks, switches, CPU per read and elapsed time', () => {
    const r = runScenario(wtdVsThreads);
    expect(r.status).toBe('done');
    expect(r.violations).toEqual([]);
    const threads = r.stats.threads as PhaseFigures;
    const wtd = r.stats.wtd as PhaseFigures;
    expect(threads.ops).toBe(64);
    expect(wtd.ops).toBe(64);
    expect(threads.tasks).toBe(16);
    expect(wtd.tasks).toBe(3);
    // Each blocking read costs its thread a sleep and a switch back in; the pool does not.
    expect(threads.contextSwitches).toBeGreaterThanOrEqual(64);
    expect(wtd.contextSwitches).toBeLessThan(threads.contextSwitches / 2);
    expect(wtd.cpuNsPerOp).toBeLessThan(threads.cpuNsPerOp);
    // Both are bound by the disk: four rounds of 200 us.
    expect(threads.elapsedNs).toBeGreaterThanOrEqual(800_000);
    expect(wtd.elapsedNs).toBeGreaterThanOrEqual(800_000);
    expect(wtd.elapsedNs).toBeLessThan(1.2 * threads.elapsedNs);
  });

  it('with one worker the pool still completes every read', () => {
    const r = runScenario(wtdVsThreadsScenario({ threads: 4, ops: 2, wtds: 4, workers: 1 }));
    expect(r.status).toBe('done');
    expect((r.stats.wtd as PhaseFigures).ops).toBe(8);
    expect(() => wtdVsThreadsScenario({ threads: 3, ops: 1, wtds: 2 })).toThrow(/do not divide/);
  });
});

describe('catalogue', () => {
  it('lists the wtd scenarios', () => {
    for (const name of ['wtd-lock-page', 'wtd-lock-page-racy', 'wtd-vs-threads']) {
      expect(findScenario(name)?.name).toBe(name);
    }
  });
});
