/**
 * PCT: probabilistic concurrency testing (Burckhardt, Kothari, Musuvathi and Nagarakatte,
 * "A Randomized Scheduler with Probabilistic Guarantees of Finding Bugs", ASPLOS 2010).
 *
 * Every actor (a task or interrupt context, and each store-buffer drain) gets a random
 * distinct priority when it first appears. A drain's actor is the kernel's: one per CPU under
 * tso, where only the oldest entry may drain, and one per CPU and address under pso and invq,
 * where any address's oldest entry may drain first, so the priorities can reorder the drains
 * within one buffer (the message-passing reordering of `mp`). d-1 change
 * points are drawn uniformly among the first k steps. At each step the enabled action of the
 * highest-priority actor runs; when the i-th change point is reached the actor that just ran
 * drops to priority i (below every initial priority). Other decisions (interrupt placement,
 * relaxed-load values) are uniform.
 *
 * Guarantee (the paper's Theorem): a bug of depth d is found by one run with probability at
 * least 1 / (n * k^(d-1)), n actors and k steps.
 */
import type { ActionInfo, ChoicePoint, ChoiceWhy, Chooser } from '../../kernel/chooser.js';
import { Xoshiro128 } from '../../kernel/random.js';
import type { StrategyEntry } from '../strategy.js';
import { randomChooser, runSeed } from './random.js';

/** The per-run lower bound on the probability of hitting a depth-d bug. */
export function pctGuarantee(n: number, k: number, d: number): number {
  return 1 / (Math.max(1, n) * Math.max(1, k) ** Math.max(0, d - 1));
}

/** A PCT Chooser for run `i` of a search, with depth `d` and step estimate `k`. */
export function pctChooser(seed: number, i: number, d: number, k: number): Chooser & { actors(): number } {
  const rng = new Xoshiro128(runSeed(seed, i));
  const prio = new Map<number, number>();
  const changes: number[] = [];
  for (let j = 0; j < d - 1; j++) changes.push(1 + rng.below(Math.max(1, k)));
  let steps = 0;
  // Initial priorities lie in [d, d+1); the j-th change point (in draw order) sets j+1 < d.
  const priority = (a: ActionInfo): number => {
    let p = prio.get(a.actor);
    if (p === undefined) {
      p = d + rng.next();
      prio.set(a.actor, p);
    }
    return p;
  };
  return {
    actors: () => prio.size,
    choose(n: number, why: ChoiceWhy, point?: ChoicePoint): number {
      if (why !== 'step' || point === undefined) return rng.below(n);
      let best = 0;
      let bp = -1;
      for (let j = 0; j < n; j++) {
        const p = priority(point.actions[j]!);
        if (p > bp) {
          bp = p;
          best = j;
        }
      }
      return best;
    },
    observe(a: ActionInfo): void {
      steps++;
      priority(a);
      for (let j = 0; j < changes.length; j++) {
        if (changes[j] === steps) prio.set(a.actor, j + 1);
      }
    },
  };
}

/**
 * The `pct` strategy: `runs` independent PCT runs of depth `pctDepth`. The paper assumes k
 * (steps per run) known: it is estimated from one random run before the first.
 */
export const pct: StrategyEntry = {
  defaultRuns: 1000,
  takes: ['pctDepth', 'seed'],
  shardBy: 'runs',
  distinctRuns: false,
  create(ctx) {
    const { seed, runs, pctDepth } = ctx.options;
    const k = Math.max(1, ctx.run(randomChooser(seed, 0xffffffff)).steps);
    ctx.cut('sampled');
    let i = 0;
    let current: ReturnType<typeof pctChooser> | null = null;
    let actors = 0;
    return {
      newExecution() {
        if (i >= runs) return null;
        current = pctChooser(seed, i++, pctDepth, k);
        return { chooser: current };
      },
      endExecution() {
        if (current !== null) actors = Math.max(actors, current.actors());
        return true;
      },
      finish: () => ({
        pct: { depth: pctDepth, actors, steps: k, guarantee: pctGuarantee(actors, k, pctDepth) },
      }),
    };
  },
};
