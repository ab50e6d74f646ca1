/**
 * The `exhaustive` strategy: the depth-first search of `dfs.ts`, one execution per decision
 * list, with the preemption bound and sleep sets the options ask for. Its runs are a cap: a
 * search that reaches it is cut by `runs`. Shards split it by prefix.
 */
import type { Kernel } from '../../kernel/kernel.js';
import type { StrategyEntry } from '../strategy.js';
import { DfsSearch, schedWatch } from './dfs.js';

export const exhaustive: StrategyEntry = {
  defaultRuns: 1_000_000,
  takes: ['preemptionBound'],
  shardBy: 'prefix',
  distinctRuns: true,
  create(ctx) {
    const o = ctx.options;
    const search = new DfsSearch({
      ...(o.preemptionBound !== undefined ? { preemptionBound: o.preemptionBound } : {}),
      sleepSets: o.sleepSets,
    });
    const onKernel = search.sleepSets ? (k: Kernel) => search.watch(schedWatch(k)) : undefined;
    const abandoned = () => search.abandoned;
    const preemptions = () => search.preemptions();
    let started = false;
    let done = false;
    return {
      newExecution() {
        if (started && !search.next()) {
          done = true;
          return null;
        }
        started = true;
        if (ctx.explored() >= o.runs) {
          ctx.cut('runs');
          return null;
        }
        return { chooser: search.chooser(), onKernel, abandoned, preemptions };
      },
      endExecution: (run) => run !== null,
      finish() {
        if (search.cutByPreemption > 0) ctx.cut('preemption-bound');
        // Complete within the preemption bound: every execution with at most K preemptions was
        // covered, unless something else cut the search too.
        const others = ctx.cuts().filter((c) => c !== 'preemption-bound');
        return { complete: done && others.length === 0, redundant: Math.max(0, search.redundant) };
      },
    };
  },
};
