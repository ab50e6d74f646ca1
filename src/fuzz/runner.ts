/**
 * The fuzz loop: generates programs with fast-check from a seed, runs each, and shrinks every
 * failure of a new kind to a minimal program, printed with its replay token.
 *
 * Programs are drawn in chunks: chunk c is `fc.check` with the seed `mix(seed, c)`; a failure's
 * token is that seed and fast-check's shrink path, `<seed>:<path>`, which `replayToken` turns
 * back into the very program. While a failure shrinks, a candidate counts as failing only if it
 * fails in the same way (the same signature), so the minimal program shows the bug that was
 * found, not another one met on the way; shrinking has a budget of runs.
 *
 * A timed `sc` program with fast-forward on is run a second time with it off: fast-forward
 * promises the same steps, so both runs must report the same failures (`checkFastForward`).
 */

import fc from 'fast-check';
import { checkFastForward } from './checks.js';
import { type GenOptions, programArb } from './generate.js';
import { type Failure, runProgram } from './interp.js';
import type { Program } from './program.js';
import { signature } from './signature.js';

/** Options of `fuzz`. */
export interface FuzzOptions {
  /** Stop starting programs after this many seconds (default: no limit). */
  readonly seconds?: number;
  /** Stop after this many programs (default: no limit; one of the two must be given). */
  readonly programs?: number;
  readonly seed?: number;
  /** Most program runs spent shrinking one failure (default 400). */
  readonly shrinkRuns?: number;
  /** Called with each failure as it is found (already shrunk). */
  readonly onFound?: (f: FoundFailure) => void;
  readonly gen?: GenOptions;
}

/** A failure of a new kind, shrunk. */
export interface FoundFailure {
  readonly signature: string;
  /** What the minimal program's run reported. */
  readonly failures: readonly Failure[];
  readonly program: Program;
  /** `<seed>:<path>`: `npm run fuzz -- --replay <token>` runs the minimal program again. */
  readonly token: string;
  /** Programs that failed with this signature. */
  count: number;
}

/** What a fuzz session did. */
export interface FuzzReport {
  readonly seed: number;
  readonly programs: number;
  readonly syscalls: number;
  /** Program runs spent shrinking. */
  readonly shrinkRuns: number;
  readonly failingPrograms: number;
  readonly found: readonly FoundFailure[];
  readonly elapsedMs: number;
}

const CHUNK = 50;

/** Seed of chunk `c` of a session seeded with `seed` (SplitMix32's finaliser over both). */
export function mix(seed: number, c: number): number {
  let z = (Math.imul(seed | 0, 0x9e3779b9) + Math.imul(c + 1, 0x85ebca6b)) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
  z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
  return (z ^ (z >>> 15)) >>> 0;
}

/**
 * The failures of `prog` with their signatures; for a timed `sc` program with fast-forward on,
 * a failure too when the same program run with fast-forward off reports other failures.
 */
export function judge(prog: Program): { failures: readonly Failure[]; sigs: string[]; syscalls: number } {
  const r = runProgram(prog);
  const failures = [...r.failures];
  if (prog.timed && prog.fastForward && prog.memoryModel === 'sc') {
    const d = checkFastForward(r.failures, runProgram({ ...prog, fastForward: false }).failures);
    if (d !== null) failures.push({ kind: 'fast-forward', message: d });
  }
  return { failures, sigs: failures.map(signature), syscalls: r.syscalls };
}

/** Runs the fuzzer. */
export function fuzz(opts: FuzzOptions): FuzzReport {
  const seed = opts.seed ?? 1;
  const maxShrink = opts.shrinkRuns ?? 400;
  if (opts.seconds === undefined && opts.programs === undefined)
    throw new Error('fuzz: give seconds or programs');
  const t0 = Date.now();
  const deadline = opts.seconds === undefined ? Number.POSITIVE_INFINITY : t0 + opts.seconds * 1000;
  const maxPrograms = opts.programs ?? Number.POSITIVE_INFINITY;
  const arb = programArb(opts.gen);
  const found = new Map<string, FoundFailure>();
  let programs = 0;
  let syscalls = 0;
  let shrinkRuns = 0;
  let failingPrograms = 0;
  let hunting: string | null = null;
  let shrinkLeft = 0;
  const done = () => programs >= maxPrograms || Date.now() >= deadline;
  const property = (prog: Program): boolean => {
    if (hunting === null) {
      if (done()) return true;
      programs++;
      const j = judge(prog);
      syscalls += j.syscalls;
      if (j.sigs.length === 0) return true;
      failingPrograms++;
      const fresh = j.sigs.find((s) => !found.has(s));
      for (const s of new Set(j.sigs)) {
        const f = found.get(s);
        if (f !== undefined) f.count++;
      }
      if (fresh === undefined) return true;
      hunting = fresh;
      shrinkLeft = maxShrink;
      return false;
    }
    if (shrinkLeft <= 0) return true;
    shrinkLeft--;
    shrinkRuns++;
    return !judge(prog).sigs.includes(hunting);
  };
  for (let c = 0; !done(); c++) {
    const chunkSeed = mix(seed, c);
    const left = maxPrograms - programs;
    const details = fc.check(fc.property(arb, property), {
      seed: chunkSeed,
      numRuns: Number.isFinite(left) ? Math.min(CHUNK, left) : CHUNK,
    });
    if (details.failed && hunting !== null && details.counterexample !== null) {
      const prog = details.counterexample[0];
      const j = judge(prog);
      const f: FoundFailure = {
        signature: hunting,
        failures: j.failures,
        program: prog,
        token: `${chunkSeed}:${details.counterexamplePath ?? ''}`,
        count: 1,
      };
      found.set(hunting, f);
      opts.onFound?.(f);
    }
    hunting = null;
  }
  return {
    seed,
    programs,
    syscalls,
    shrinkRuns,
    failingPrograms,
    found: [...found.values()],
    elapsedMs: Date.now() - t0,
  };
}

/** The program a token names (from `fuzz` with the same generator options), or null if it is not one. */
export function replayToken(token: string, opts: { gen?: GenOptions } = {}): Program | null {
  const m = /^(\d{1,10}):(\d+(?::\d+)*)$/.exec(token);
  if (m === null) return null;
  const seed = Number(m[1]);
  if (seed > 0xffffffff) return null;
  let prog: Program | null = null;
  const arb = programArb(opts.gen);
  try {
    fc.check(
      fc.property(arb, (p) => {
        prog = p;
        return false;
      }),
      { seed, path: m[2]!, numRuns: CHUNK, endOnFailure: true },
    );
  } catch {
    return null;
  }
  return prog;
}
