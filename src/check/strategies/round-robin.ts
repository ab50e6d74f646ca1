/**
 * The `round-robin` strategy, the smallest real one (and the example of docs/explore.md): run
 * i answers its k-th decision with (i + k) mod n, so run 0 rotates through the options from
 * the first, run 1 from the second, and so on. No randomness: the same runs every time.
 */
import type { Chooser } from '../../kernel/chooser.js';
import type { StrategyEntry } from '../strategy.js';

/** The Chooser of run `i`. */
export function roundRobinChooser(i: number): Chooser {
  let k = i;
  return { needsPoint: false, choose: (n) => k++ % n };
}

export const roundRobin: StrategyEntry = {
  defaultRuns: 1000,
  takes: [],
  shardBy: 'runs',
  distinctRuns: false,
  create(ctx) {
    ctx.cut('sampled');
    let i = 0;
    return {
      newExecution: () => (i < ctx.options.runs ? { chooser: roundRobinChooser(i++) } : null),
      endExecution: () => true,
      finish: () => ({}),
    };
  },
};
