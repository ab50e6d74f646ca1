/**
 * Random strategy: every decision uniform over its options, from xoshiro128** seeded per run.
 * Run i of a search with seed s uses the stream seeded by `runSeed(s, i)`, which mixes seed and
 * run index through murmur3's 32-bit finaliser, so any run can be repeated from its seed alone
 * and two searches with different seeds share (almost) no runs.
 */
import { type Chooser, seeded } from '../../kernel/chooser.js';
import type { StrategyEntry } from '../strategy.js';

/** murmur3's fmix32: a bijection on 32-bit words whose every output bit depends on every input bit. */
export function fmix32(x: number): number {
  let h = x >>> 0;
  h = Math.imul(h ^ (h >>> 16), 0x85ebca6b);
  h = Math.imul(h ^ (h >>> 13), 0xc2b2ae35);
  return (h ^ (h >>> 16)) >>> 0;
}

/**
 * The seed of run `i` in a search seeded with `seed` (any non-negative integer up to 2^53).
 * Seed and index are mixed separately before they are combined: combining them first (as
 * `s + i` or `s ^ i`) would make run i of seed s the same as run i+1 of seed s-1.
 */
export function runSeed(seed: number, i: number): number {
  const hi = Math.floor(seed / 4294967296);
  const s = fmix32((seed >>> 0) ^ fmix32(hi + 0x632be5ab));
  const r = fmix32((i >>> 0) + 0x9e3779b9);
  return fmix32(s ^ Math.imul(r, 0x27d4eb2d));
}

/** A uniform random Chooser for run `i`. */
export function randomChooser(seed: number, i: number): Chooser {
  return seeded(runSeed(seed, i));
}

/** The `random` strategy: `runs` independent runs, run i from `randomChooser(seed, i)`. */
export const random: StrategyEntry = {
  defaultRuns: 1000,
  takes: ['seed'],
  shardBy: 'runs',
  distinctRuns: false,
  create(ctx) {
    const { seed, runs } = ctx.options;
    ctx.cut('sampled');
    let i = 0;
    return {
      newExecution: () => (i < runs ? { chooser: randomChooser(seed, i++) } : null),
      endExecution: () => true,
      finish: () => ({}),
    };
  },
};
