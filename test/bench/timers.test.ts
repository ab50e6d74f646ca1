import { expect, it } from 'vitest';
import { timersGroup } from '../../src/bench/timers.js';

// The three loops run the same workload: every model fires exactly the timers it armed.
it.each(['heap', 'des', 'kernel'])('timers/%s fires every timer it armed', (model) => {
  const r = timersGroup.models[model]!({ quick: true });
  expect(r.unit).toBe('timer');
  expect(r.work).toBe(100_000);
  expect(r.perSec).toBeGreaterThan(0);
});
