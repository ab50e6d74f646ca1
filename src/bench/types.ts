/**
 * Types and small helpers shared by the benchmark groups of `npm run bench`.
 *
 * - `BenchGroup`: a named set of models; `src/bench/groups.ts` lists the groups.
 * - `BenchModelResult`: what one model reports (the JSON shape of `--json`).
 * - `BenchOptions`: what the harness passes to a model (`quick` for smaller sizes).
 * - `measure`: builds and runs a workload twice to warm up, then several times timed, and returns
 *   the fastest of the timed runs (each the run alone, not the build), with the median and the
 *   slowest.
 * - `result`: assembles a `BenchModelResult` (perSec and peak RSS filled in).
 *
 * Why several runs, and the fastest: the second run of a process is not yet the steady state
 * (it still pays for the first run's garbage and for late optimisation: pingpong's second run
 * is often 20-40% slower than its later ones). Every model is seeded, so every run does exactly
 * the same work: what varies between runs is only what the machine adds (other load, its slow
 * phases, which last from seconds to minutes), and that only ever adds time. The fastest run is
 * then the best estimate of what the code costs on this machine (the estimator of Julia's
 * BenchmarkTools, after Chen and Revels, "Robust benchmarking in noisy environments", 2016);
 * `medianSec` and `maxSec` show how much the machine added.
 *
 * No garbage collection is forced between runs. A forced full collection right after a run
 * frees that run's kernel, devices and closures, and V8 then throws away every piece of
 * optimised code that refers to one of them (its "weak objects"): the next run is re-optimised
 * while it is timed. On the AIO model a forced collection costs 220 such deoptimisations
 * against 65 without, and a 10,000-IO run takes 180 ms instead of 80 ms. The runs are left to
 * collect their own garbage, as a process that runs one simulation after another does.
 */

/** What one benchmark model reports. Extra figures (`meanWait`, `nsPerHandoff`, ...) sit beside the fixed ones. */
export interface BenchModelResult {
  /** Seconds of the measured run alone: the fastest of the timed runs, after two warm-up runs. */
  runSec: number;
  /** Units of work done in the measured run. */
  work: number;
  /** What one unit of work is (`timeout`, `customer`, ...). */
  unit: string;
  /** `work / runSec`. */
  perSec: number;
  /** Peak resident set size of the benchmark process so far, in MiB. */
  peakRssMiB: number;
  /** Model-specific figures. */
  [extra: string]: number | string | boolean;
}

/** Options the harness passes to every model. */
export interface BenchOptions {
  /** Run smaller sizes (a smoke run rather than a measurement). */
  readonly quick: boolean;
}

/** A named group of models; each model builds and runs its own workload, timing itself. */
export interface BenchGroup {
  /** Group name, as given to `--group`. */
  name: string;
  /** Model name → model. A model may ignore the options. */
  models: Record<string, (options: BenchOptions) => BenchModelResult>;
}

/** Peak RSS of this process so far, in MiB. */
export function peakRssMiB(): number {
  return process.resourceUsage().maxRSS / 1024;
}

/** Warm-up runs before the timed ones. */
const WARMUPS = 2;
/** Timed runs: at most this many ... */
const MAX_RUNS = 5;
/** ... and at least this many, stopping early once the timed runs add up to `LONG_SEC`. */
const MIN_RUNS = 3;
const LONG_SEC = 8;

/** What `measure` gives: the fastest timed run, the spread, and the last workload run. */
export interface Measured<W> {
  /** The fastest of the timed runs, in seconds. */
  runSec: number;
  /** Median of the timed runs. */
  medianSec: number;
  /** Slowest timed run. */
  maxSec: number;
  /** How many timed runs. */
  runs: number;
  /** The workload of the last timed run (to read counters from). */
  workload: W;
}

/**
 * Warm-up then measurement: `run(build())` `WARMUPS` times untimed, then `run(build())` timed
 * `MIN_RUNS` to `MAX_RUNS` times (see the module doc). Only `run` is timed, never `build`.
 */
export function measure<W>(build: () => W, run: (workload: W) => void): Measured<W> {
  for (let i = 0; i < WARMUPS; i++) run(build());
  const times: number[] = [];
  let total = 0;
  let workload: W;
  do {
    workload = build();
    const t0 = process.hrtime.bigint();
    run(workload);
    const sec = Number(process.hrtime.bigint() - t0) / 1e9;
    times.push(sec);
    total += sec;
  } while (times.length < MAX_RUNS && (times.length < MIN_RUNS || total < LONG_SEC));
  times.sort((a, b) => a - b);
  const mid = times.length >> 1;
  const medianSec = times.length % 2 === 1 ? times[mid]! : (times[mid - 1]! + times[mid]!) / 2;
  return { runSec: times[0]!, medianSec, maxSec: times[times.length - 1]!, runs: times.length, workload };
}

/**
 * Builds a result from measurement `m`: `perSec` = work / fastest run, `peakRssMiB` read now,
 * then `extra`, then the spread (`medianSec`, `maxSec`, `runs`).
 */
export function result(
  m: Measured<unknown>,
  work: number,
  unit: string,
  extra: Record<string, number | string | boolean> = {},
): BenchModelResult {
  const runSec = m.runSec;
  return {
    runSec,
    work,
    unit,
    perSec: runSec > 0 ? work / runSec : 0,
    peakRssMiB: peakRssMiB(),
    ...extra,
    medianSec: m.medianSec,
    maxSec: m.maxSec,
    runs: m.runs,
  };
}
