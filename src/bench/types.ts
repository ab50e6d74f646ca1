/**
 * Types and small helpers shared by the benchmark groups of `npm run bench`.
 *
 * - `BenchGroup`: a named set of models; `src/bench/groups.ts` lists the groups.
 * - `BenchModelResult`: what one model reports (the JSON shape of `--json`).
 * - `BenchOptions`: what the harness passes to a model (`quick` for smaller sizes).
 * - `measure`: builds and runs a workload once to warm up, then again timed, and returns the
 *   timed seconds of the run alone (not of the build).
 * - `result`: assembles a `BenchModelResult` (perSec and peak RSS filled in).
 */

/** What one benchmark model reports. Extra figures (`meanWait`, `nsPerHandoff`, ...) sit beside the fixed ones. */
export interface BenchModelResult {
  /** Seconds spent in the measured run alone, after one warm-up run. */
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

/**
 * Warm-up then measurement: `run(build())` once untimed, then `run(build())` again timed.
 * Returns the timed run's seconds and the workload it ran (to read counters from).
 */
export function measure<W>(build: () => W, run: (workload: W) => void): { runSec: number; workload: W } {
  run(build());
  const workload = build();
  const t0 = process.hrtime.bigint();
  run(workload);
  const t1 = process.hrtime.bigint();
  return { runSec: Number(t1 - t0) / 1e9, workload };
}

/** Builds a result: `perSec` = work / runSec, `peakRssMiB` read now, then `extra`. */
export function result(
  runSec: number,
  work: number,
  unit: string,
  extra: Record<string, number | string | boolean> = {},
): BenchModelResult {
  return { runSec, work, unit, perSec: runSec > 0 ? work / runSec : 0, peakRssMiB: peakRssMiB(), ...extra };
}
