/**
 * The `fast-check` strategy: choice lists drawn by fast-check as arrays of naturals, a failure
 * shrunk by fast-check.
 *
 * fast-check drives its own loop (`fc.check` calls the property), so this strategy runs the
 * whole of it inside its first `newExecution()`, each property call one `ctx.sample` run, and
 * then has nothing more to run; `finish()` hands the failing run back for `explore()` to
 * minimise and report. When a budget runs out, the property throws `halt`, which fast-check
 * takes for a failure and shrinks (every attempt throws at once), so its counterexample is
 * kept only if it really fails; else the first real failure is.
 */
import fc from 'fast-check';
import { fromArray } from '../../kernel/chooser.js';
import type { RunReport } from '../runner.js';
import type { StrategyEntry } from '../strategy.js';

export const fastCheck: StrategyEntry = {
  defaultRuns: 300,
  takes: ['seed'],
  shardBy: null,
  distinctRuns: false,
  create(ctx) {
    const { seed, runs, maxSteps } = ctx.options;
    let failing: RunReport | undefined;
    let ran = false;
    const search = (): void => {
      const halt = new Error('explore: budget out');
      let firstFailing: number[] | null = null;
      ctx.cut('sampled');
      const prop = fc.property(
        fc.array(fc.nat({ max: 15 }), { maxLength: Math.min(maxSteps, 200) }),
        (ints) => {
          const cuts = ctx.cuts();
          if (cuts.includes('time-limit') || cuts.includes('interrupted') || ctx.budgetOut()) throw halt;
          const r = ctx.sample(fromArray(ints));
          if (r.violations.length > 0 && firstFailing === null) firstFailing = ints;
          return r.violations.length === 0;
        },
      );
      const out = fc.check(prop, { numRuns: runs, seed, endOnFailure: false });
      if (out.failed && out.counterexample !== null) {
        let r = ctx.run(fromArray(out.counterexample[0]));
        if (r.violations.length === 0 && firstFailing !== null) r = ctx.run(fromArray(firstFailing));
        if (r.violations.length > 0) failing = r;
      }
    };
    return {
      newExecution() {
        if (!ran) {
          ran = true;
          search();
        }
        return null;
      },
      endExecution: () => false,
      finish: () => (failing !== undefined ? { failing } : {}),
    };
  },
};
