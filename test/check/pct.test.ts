/**
 * PCT under pso and invq: a store buffer may drain a younger entry (another address) before
 * an older one, and PCT's priorities must be able to choose that, or it never finds a race
 * that needs it: the message-passing reordering of `mp` (data and flag stored in order,
 * drained flag first), which the exhaustive search finds in a handful of executions.
 */
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/check/explore.js';
import { findScenario } from '../../src/scenarios/index.js';

const mp = findScenario('mp')!;

describe('pct reorders drains within a store buffer', () => {
  it('finds the mp reordering under pso and invq within 300 runs, for each of 5 seeds', () => {
    for (const memoryModel of ['pso', 'invq'] as const) {
      expect(explore(mp, { config: { memoryModel } }).verdict).toBe('violation');
      for (let seed = 1; seed <= 5; seed++) {
        const r = explore(mp, { strategy: 'pct', seed, runs: 300, config: { memoryModel } });
        expect(r.verdict, `${memoryModel}, seed ${seed}`).toBe('violation');
        expect(r.violations[0]!.message).toMatch(/flag/);
      }
    }
  });

  it('and does not invent it under tso, where stores drain in order', () => {
    const r = explore(mp, { strategy: 'pct', runs: 2000, config: { memoryModel: 'tso' } });
    expect(r.violations).toEqual([]);
  });
});
