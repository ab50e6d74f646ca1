/**
 * explore() recognises an abandoned run by the Abandon its own Chooser kept, not by what
 * reached it: an error from the scenario, whatever its message or class, ends the search.
 */
import { describe, expect, it } from 'vitest';
import { explore, STRATEGIES } from '../../src/check/explore.js';
import type { Scenario } from '../../src/check/scenario.js';
import { Abandon } from '../../src/check/strategy.js';
import { findScenario } from '../../src/scenarios/index.js';

/** `lost-update`, with an invariant that throws `err` at its second step. */
function throwing(err: Error): Scenario {
  const base = findScenario('lost-update');
  if (base === undefined) throw new Error('no scenario lost-update');
  return {
    ...base,
    setup(k) {
      const inst = base.setup(k);
      return {
        ...inst,
        invariants: {
          ...inst.invariants,
          throws: () => {
            if (k.steps >= 2) throw err;
            return true;
          },
        },
      };
    },
  };
}

describe('abandoned runs', () => {
  it('an error with an abandonment message is not taken for one', () => {
    const err = new Error('execution abandoned (sleep)');
    for (const strategy of STRATEGIES)
      expect(() => explore(throwing(err), { strategy }), strategy).toThrow(err);
  });

  it('an Abandon the Chooser did not throw is not taken for one', () => {
    const err = new Abandon('sleep');
    for (const shard of [undefined, { index: 1, count: 2 }]) {
      expect(() => explore(throwing(err), { strategy: 'exhaustive', ...(shard ? { shard } : {}) })).toThrow(
        err,
      );
    }
  });
});
