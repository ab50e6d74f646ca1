/**
 * Sharding wraps a strategy so that share `index` of `count` of its search runs here, and the
 * shares' totals add up to one whole search (worker threads run one share each).
 *
 * - By runs (strategies whose executions do not depend on each other: random, pct): the
 *   strategy's executions are dealt out in turn, the i-th to shard i mod N.
 * - By prefix (tree searches: exhaustive): the subtrees below the first SHARD_DEPTH decisions
 *   are dealt out in the order the search reaches them (a run that ends above that depth is a
 *   subtree of its own). Every shard walks the same decisions above the depth, so their
 *   ordinals agree; a shard abandons a subtree it does not own as soon as a run reaches the
 *   depth.
 */
import type { Chooser } from '../kernel/chooser.js';
import type { RunReport } from './runner.js';
import { Abandon, type Execution, type SearchStrategy, type ShardBy } from './strategy.js';

/** Decisions above this depth decide which shard owns a subtree. */
export const SHARD_DEPTH = 6;

/** A share of a search. */
export interface Shard {
  readonly index: number;
  readonly count: number;
}

/** Share `shard` of `inner`'s executions, taken in turn. */
export function shardByRuns(inner: SearchStrategy, shard: Shard): SearchStrategy {
  let ordinal = 0;
  return {
    newExecution() {
      for (;;) {
        const ex = inner.newExecution();
        if (ex === null || ordinal++ % shard.count === shard.index) return ex;
      }
    },
    endExecution: (run) => inner.endExecution(run),
    finish: () => inner.finish(),
  };
}

/** Share `shard` of the subtrees of `inner`'s search below its first SHARD_DEPTH decisions. */
export function shardByPrefix(inner: SearchStrategy, shard: Shard): SearchStrategy {
  let ordinal = 0;
  let lastPrefix = '';
  let own = true;
  let depth = 0;
  let abandon: Abandon | null = null;
  const prefix: number[] = [];
  const owns = (): boolean => ordinal++ % shard.count === shard.index;
  return {
    newExecution(): Execution | null {
      const ex = inner.newExecution();
      if (ex === null) return null;
      depth = 0;
      prefix.length = 0;
      abandon = null;
      const ch = ex.chooser;
      const chooser: Chooser = {
        choose(n, why, point) {
          const c = ch.choose(n, why, point);
          if (depth++ < SHARD_DEPTH) {
            prefix.push(c);
            if (depth === SHARD_DEPTH) {
              const key = prefix.join(',');
              if (key !== lastPrefix) {
                lastPrefix = key;
                own = owns();
              }
              if (!own) {
                abandon = new Abandon('shard');
                throw abandon;
              }
            }
          }
          return c;
        },
        observe: (a) => ch.observe?.(a),
      };
      return {
        chooser,
        onKernel: ex.onKernel,
        abandoned: () => abandon ?? ex.abandoned?.() ?? null,
        preemptions: ex.preemptions,
      };
    },
    endExecution(run: RunReport | null): boolean {
      const counts = inner.endExecution(run);
      // A run that ended above the depth is a subtree of its own; deeper ones were checked.
      if (run !== null && depth < SHARD_DEPTH) return owns() && counts;
      return counts;
    },
    finish: () => inner.finish(),
  };
}

/** `inner` sharded the way its registry entry says. */
export function sharded(inner: SearchStrategy, by: ShardBy, shard: Shard): SearchStrategy {
  if (by === 'runs') return shardByRuns(inner, shard);
  if (by === 'prefix') return shardByPrefix(inner, shard);
  throw new Error('explore: this strategy cannot be sharded');
}
