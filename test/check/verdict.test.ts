/**
 * The verdict of `explore()` (library): a search is `clean-complete` only when nothing cut it;
 * a run cap, a step bound, a preemption bound, sampling, a time limit or an interruption each
 * make it `clean-incomplete` and are named in `cutBy`. Budgets: `timeLimitMs`, `deadline` and
 * `signal` stop every strategy between executions; `exploreAsync` lets an abort raised on the
 * event loop reach the search. Options that do not apply to the strategy are refused.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explore, exploreAsync, STRATEGIES, verdictOf } from '../../src/check/explore.js';
import { findScenario } from '../../src/scenarios/index.js';

const big = findScenario('wtd-lock-page')!;
const sbMb = findScenario('sb-mb')!;

describe('verdicts', () => {
  it('clean-complete only when nothing cut the search', () => {
    expect(explore(sbMb)).toMatchObject({ verdict: 'clean-complete', complete: true, cutBy: [] });
    expect(explore(sbMb, { runs: 2 })).toMatchObject({ verdict: 'clean-incomplete', cutBy: ['runs'] });
    expect(explore(sbMb, { maxSteps: 3 })).toMatchObject({
      verdict: 'clean-incomplete',
      cutBy: ['max-steps'],
    });
    for (const strategy of ['random', 'pct', 'fast-check'] as const) {
      const r = explore(sbMb, { strategy, runs: 10 });
      expect(r.verdict, strategy).toBe('clean-incomplete');
      expect(r.cutBy).toContain('sampled');
    }
    expect(explore(findScenario('lost-update')!).verdict).toBe('violation');
  });

  it('verdictOf: a violation wins; otherwise any cut makes it incomplete (property)', () => {
    const cut = fc.constantFrom(
      'runs' as const,
      'max-steps' as const,
      'preemption-bound' as const,
      'time-limit' as const,
      'interrupted' as const,
      'sampled' as const,
    );
    fc.assert(
      fc.property(fc.nat({ max: 3 }), fc.array(cut, { maxLength: 4 }), (n, cuts) => {
        const v = verdictOf(new Array(n).fill(0), cuts);
        expect(v).toBe(n > 0 ? 'violation' : cuts.length > 0 ? 'clean-incomplete' : 'clean-complete');
      }),
    );
  });
});

describe('budgets', () => {
  it('timeLimitMs stops every strategy and reports what was covered', () => {
    for (const strategy of STRATEGIES) {
      const t0 = Date.now();
      const r = explore(big, {
        strategy,
        runs: 1_000_000,
        timeLimitMs: 200,
        ...(strategy === 'exhaustive' ? { preemptionBound: 9 } : {}),
      });
      expect(Date.now() - t0, strategy).toBeLessThan(3000);
      expect(r.cutBy).toContain('time-limit');
      expect(r.verdict).toBe('clean-incomplete');
      expect(r.complete).toBe(false);
      expect(r.explored).toBeGreaterThan(0);
    }
  });

  it('a deadline already past and an aborted signal stop the search before any execution', () => {
    expect(explore(sbMb, { deadline: Date.now() - 1 })).toMatchObject({
      explored: 0,
      cutBy: ['time-limit'],
      verdict: 'clean-incomplete',
    });
    expect(explore(sbMb, { strategy: 'random', signal: { aborted: true } }).cutBy).toContain('interrupted');
  });

  it('exploreAsync sees an abort raised on the event loop while it runs', async () => {
    const ac = new AbortController();
    setTimeout(() => ac.abort(), 150);
    const t0 = Date.now();
    const r = await exploreAsync(big, { preemptionBound: 9, signal: ac.signal });
    expect(Date.now() - t0).toBeLessThan(3000);
    expect(r.cutBy).toContain('interrupted');
    expect(r.explored).toBeGreaterThan(0);
  });

  it('refuses options that do not apply to the strategy', () => {
    expect(() => explore(sbMb, { strategy: 'random', preemptionBound: 1 })).toThrow(
      /preemptionBound applies to the exhaustive strategy, not random/,
    );
    expect(() => explore(sbMb, { pctDepth: 2 })).toThrow(
      /pctDepth applies to the pct strategy, not exhaustive/,
    );
    expect(() => explore(sbMb, { strategy: 'pct', pctDepth: 1e9 })).toThrow(
      /pctDepth must be an integer from 1 to 64/,
    );
    expect(() => explore(sbMb, { timeLimitMs: -1 })).toThrow(/timeLimitMs/);
  });
});
