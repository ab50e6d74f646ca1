/**
 * Random strategy: every decision uniform over its options, from xoshiro128** seeded per run
 * (run i of a search with seed s uses the stream seeded by mix(s, i)), so any run can be
 * repeated from its seed alone and runs are independent of each other.
 */
import { type Chooser, seeded } from '../../kernel/chooser.js';

/** The seed of run `i` in a search seeded with `seed`. */
export function runSeed(seed: number, i: number): number {
  let h = (seed ^ 0x9e3779b9) >>> 0;
  h = Math.imul(h ^ (i + 0x7f4a7c15), 0x85ebca6b) >>> 0;
  h ^= h >>> 13;
  h = Math.imul(h, 0xc2b2ae35) >>> 0;
  return (h ^ (h >>> 16)) >>> 0;
}

/** A uniform random Chooser for run `i`. */
export function randomChooser(seed: number, i: number): Chooser {
  return seeded(runSeed(seed, i));
}
