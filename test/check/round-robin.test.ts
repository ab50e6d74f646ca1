/**
 * Tests of the `round-robin` strategy, the example strategy of docs/explore.md: its Chooser
 * answers (i + k) mod n, and explore drives it like any other strategy (violations with
 * replay tokens, the sampled verdict, shards that add up to the whole search).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type ExploreReport, explore, STRATEGIES } from '../../src/check/explore.js';
import { replayToken } from '../../src/check/replay.js';
import type { Scenario } from '../../src/check/scenario.js';
import { roundRobinChooser } from '../../src/check/strategies/round-robin.js';
import { decodeToken } from '../../src/check/token.js';
import { findScenario } from '../../src/scenarios/index.js';

function scenario(name: string): Scenario {
  const s = findScenario(name);
  if (s === undefined) throw new Error(`no scenario ${name}`);
  return s;
}

/** A report without its wall-clock time. */
function timeless(r: ExploreReport): Omit<ExploreReport, 'elapsedMs'> {
  const { elapsedMs: _t, ...rest } = r;
  return rest;
}

describe('round-robin', () => {
  it('is in the registry', () => {
    expect(STRATEGIES).toContain('round-robin');
  });

  test.prop([fc.nat({ max: 1000 }), fc.array(fc.integer({ min: 2, max: 9 }), { maxLength: 40 })])(
    'run i answers its k-th decision with (i + k) mod n',
    (i, ns) => {
      const c = roundRobinChooser(i);
      ns.forEach((n, k) => {
        expect(c.choose(n, 'step')).toBe((i + k) % n);
      });
    },
  );

  it('finds the lost update, with a token that replays it, the same way every time', () => {
    const s = scenario('lost-update');
    const r = explore(s, { strategy: 'round-robin' });
    expect(r.verdict).toBe('violation');
    expect(r.cutBy).toEqual(['sampled', 'stopped']);
    expect(r.explored).toBeLessThanOrEqual(10);
    const v = r.violations[0]!;
    const again = replayToken(s, decodeToken(v.replay));
    expect(again.diverged).toBe(false);
    if (!again.diverged) expect(again.report.violations[0]!.message).toBe(v.message);
    expect(timeless(explore(s, { strategy: 'round-robin' }))).toEqual(timeless(r));
  });

  it('a clean search is sampled, never complete', () => {
    const r = explore(scenario('sb-mb'), { strategy: 'round-robin', runs: 50 });
    expect(r).toMatchObject({
      verdict: 'clean-incomplete',
      complete: false,
      cutBy: ['sampled'],
      explored: 50,
    });
    expect(r.coverage.distinctSchedules).toBeGreaterThan(1);
  });

  it('shards deal out its runs and add up to the whole search', () => {
    const s = scenario('sb-mb');
    const opts = { strategy: 'round-robin', runs: 30 } as const;
    const whole = explore(s, opts);
    const parts = [0, 1, 2].map((index) => explore(s, { ...opts, shard: { index, count: 3 } }));
    expect(parts.map((p) => p.explored)).toEqual([10, 10, 10]);
    const states = new Set(parts.flatMap((p) => p.stateKeys));
    expect([...states].sort()).toEqual(whole.stateKeys);
  });

  it('refuses the options of other strategies', () => {
    const s = scenario('sb');
    expect(() => explore(s, { strategy: 'round-robin', preemptionBound: 1 })).toThrow(
      /preemptionBound applies to the exhaustive strategy, not round-robin/,
    );
    expect(() => explore(s, { strategy: 'round-robin', pctDepth: 2 })).toThrow(
      /pctDepth applies to the pct strategy, not round-robin/,
    );
  });
});
