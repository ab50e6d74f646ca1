/**
 * `aiosim explore`: option parsing, the time limit and Ctrl-C, progress on stderr, the human
 * report and the JSON one, and the exit status (0 clean and complete, 1 violation, 3 clean
 * but incomplete, 130 interrupted).
 */
import { checkDeterminism } from '../check/determinism.js';
import {
  type Cut,
  type ExploreOptions,
  type ExploreReport,
  exploreAsync,
  type Progress,
  STRATEGIES,
  type Strategy,
} from '../check/explore.js';
import { exploreParallel } from '../check/parallel.js';
import type { Scenario } from '../check/scenario.js';
import { STRATEGY_REGISTRY } from '../check/strategies/index.js';
import { decodeToken } from '../check/token.js';
import type { KernelConfig } from '../kernel/kernel.js';
import {
  cpusOption,
  intOption,
  MAX_PCT_DEPTH,
  modelOption,
  seedOption,
  UsageError,
  workersOption,
} from './args.js';
import type { CliIo } from './main.js';

/** Parses `--shard i/N`. */
export function parseShard(v: unknown): { index: number; count: number } | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)\/(\d+)$/.exec(String(v));
  if (m === null) throw new UsageError(`--shard must look like i/N (e.g. 0/4), got '${String(v)}'`);
  const index = Number(m[1]);
  const count = Number(m[2]);
  if (count < 1 || index >= count) throw new UsageError(`--shard ${index}/${count}: need 0 <= i < N`);
  return { index, count };
}

/** Default `--time-limit` of `aiosim explore`, in seconds. */
export const DEFAULT_TIME_LIMIT_S = 60;

/** Parses `--time-limit <seconds>` (0: none) into milliseconds. */
export function timeLimitOption(v: unknown, dflt?: number): number | undefined {
  if (v === undefined) return dflt === undefined ? undefined : dflt * 1000;
  const n = typeof v === 'number' ? v : Number(v);
  if (typeof v === 'boolean' || !Number.isFinite(n) || n < 0 || n > 1e7)
    throw new UsageError(`--time-limit must be a number of seconds from 0 (none) to 1e7, got '${String(v)}'`);
  return n === 0 ? undefined : n * 1000;
}

/** Exit status of a search: 1 violation, 130 interrupted, 3 clean but incomplete, 0 clean and complete. */
export function exploreStatus(r: ExploreReport): number {
  if (r.cutBy.includes('interrupted')) return 130;
  if (r.verdict === 'violation') return 1;
  return r.verdict === 'clean-incomplete' ? 3 : 0;
}

/** How the human report names each cut, in the order it lists them (a budget first). */
const CUT_TEXT: Record<Cut, (r: ExploreReport) => string> = {
  interrupted: () => 'Ctrl-C',
  'time-limit': () => 'the time limit',
  runs: (r) => `the run cap (${r.bounds.runs} executions)`,
  'max-steps': (r) => `the step bound (${r.bounds.maxSteps} steps) in some execution`,
  'preemption-bound': (r) =>
    r.complete
      ? `the preemption bound (every execution with at most ${r.bounds.preemptionBound} preemptions was covered)`
      : `the preemption bound (${r.bounds.preemptionBound})`,
  sampled: (r) => `sampling (${r.strategy} never covers the whole space)`,
  stopped: () => 'the first violation',
};

/** The verdict line of the human report. */
export function verdictLine(r: ExploreReport): string {
  const order = Object.keys(CUT_TEXT) as Cut[];
  const cuts = order.filter((c) => c !== 'stopped' && r.cutBy.includes(c)).map((c) => CUT_TEXT[c](r));
  if (r.verdict === 'violation') {
    const n = r.violations.reduce((a, v) => a + v.count, 0);
    // Only a budget or Ctrl-C is worth saying next to a violation: the search stopped early.
    const early = r.cutBy.filter((c) => c === 'time-limit' || c === 'interrupted').map((c) => CUT_TEXT[c](r));
    return `  verdict: violation (${n} failing execution(s), ${r.violations.length} distinct after minimisation)${early.length > 0 ? `; stopped by ${early.join(', ')}` : ''}\n`;
  }
  const what = r.shard !== undefined ? 'this shard was covered' : 'the whole space was covered';
  if (r.verdict === 'clean-complete') return `  verdict: clean and complete (${what})\n`;
  return `  verdict: clean but incomplete (cut by ${cuts.join(', ')}): no violation found in what was covered\n`;
}

/** Flags of `aiosim explore` that only some strategies take (see each one's `takes`). */
const STRATEGY_FLAGS: readonly [key: 'preemptionBound' | 'pctDepth' | 'seed', flag: string][] = [
  ['preemptionBound', '--preemption-bound'],
  ['pctDepth', '--pct-depth'],
  ['seed', '--seed'],
];

/** Runs the explore command. */
export async function runExploreCommand(
  s: Scenario,
  strategy: Strategy,
  opts: Record<string, unknown>,
  io: CliIo,
): Promise<number> {
  for (const [key, flag] of STRATEGY_FLAGS) {
    const takes = STRATEGIES.filter((t) => STRATEGY_REGISTRY[t].takes.includes(key));
    if (opts[key] !== undefined && !takes.includes(strategy))
      throw new UsageError(`${flag} does not apply to the ${strategy} strategy (only ${takes.join(', ')})`);
  }
  const config: Partial<{ -readonly [K in keyof KernelConfig]: KernelConfig[K] }> = {};
  const model = modelOption(opts.memoryModel);
  if (model !== undefined) config.memoryModel = model;
  const cpus = cpusOption(opts.cpus, s);
  if (cpus !== undefined) config.cpus = cpus;
  const options: { -readonly [K in keyof ExploreOptions]: ExploreOptions[K] } = { strategy, config };
  const runs = intOption(opts.runs, 'runs', 1);
  if (runs !== undefined) options.runs = runs;
  const pb = intOption(opts.preemptionBound, 'preemption-bound', 0);
  if (pb !== undefined) options.preemptionBound = pb;
  const ms = intOption(opts.maxSteps, 'max-steps', 1);
  if (ms !== undefined) options.maxSteps = ms;
  const seed = seedOption(opts.seed);
  if (seed !== undefined) options.seed = seed;
  const depth = intOption(opts.pctDepth, 'pct-depth', 1, MAX_PCT_DEPTH);
  if (depth !== undefined) options.pctDepth = depth;
  if (opts.all === true) options.stopOnFirst = false;
  if (opts.minimize === false) options.minimize = false;
  const shard = parseShard(opts.shard);
  if (shard !== undefined) options.shard = shard;
  const workers = workersOption(opts.workers, io.err) ?? 1;
  // Worker threads run shards of the search.
  if (workers > 1 && STRATEGY_REGISTRY[strategy].shardBy === null)
    throw new UsageError(`--workers does not apply to the ${strategy} strategy`);
  const limit = timeLimitOption(opts.timeLimit, DEFAULT_TIME_LIMIT_S);
  if (limit !== undefined) options.timeLimitMs = limit;
  if (opts.quiet !== true) {
    options.onProgress = (p: Progress) => {
      const secs = p.elapsedMs / 1000;
      const line = `${p.explored} executions, ${p.violations} violations, ${Math.round(p.explored / Math.max(secs, 1e-3))}/s, ${secs.toFixed(0)} s`;
      io.err(io.isTTY ? `\r  ${line}   ` : `explore ${s.name}: ${line}\n`);
    };
  }
  // Ctrl-C stops the search between executions; the partial report is printed, exit 130.
  const interrupt = new AbortController();
  const onSigint = () => interrupt.abort();
  options.signal = interrupt.signal;
  process.once('SIGINT', onSigint);
  let report: ExploreReport;
  try {
    report = workers > 1 ? await exploreParallel(s.name, options, workers) : await exploreAsync(s, options);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('explore:')) throw new UsageError(e.message);
    throw e;
  } finally {
    process.removeListener('SIGINT', onSigint);
  }
  if (options.onProgress !== undefined && io.isTTY) io.err('\r\x1b[K');
  const determinism =
    opts.checkDeterminism === true
      ? report.violations.map((v) => {
          const t = decodeToken(v.replay);
          return { replay: v.replay, ...checkDeterminism(s, t.config, t.choices) };
        })
      : undefined;
  const badDeterminism = determinism?.some((d) => !d.identical);
  if (opts.json === true) {
    const { stateKeys: _k, ...rest } = report;
    io.out(`${JSON.stringify({ ...rest, ...(determinism !== undefined ? { determinism } : {}) })}\n`);
    return badDeterminism === true && !report.cutBy.includes('interrupted') ? 1 : exploreStatus(report);
  }
  io.out(
    `explore ${report.scenario} (${report.strategy}, ${report.config.cpus} CPUs, ${report.config.memoryModel})\n`,
  );
  io.out(
    `  executions: ${report.explored} in ${report.elapsedMs.toFixed(1)} ms; distinct final states: ${report.coverage.distinctFinalStates}; ` +
      `longest run: ${report.coverage.longestRun} steps${report.coverage.redundant > 0 ? `; pruned as redundant: ${report.coverage.redundant}` : ''}\n`,
  );
  io.out(verdictLine(report));
  if (report.pct !== undefined) {
    io.out(
      `  pct depth ${report.pct.depth}: ${report.pct.actors} actors, ~${report.pct.steps} steps per run; ` +
        `each run finds a depth-${report.pct.depth} bug with probability >= ${report.pct.guarantee.toExponential(2)}\n`,
    );
  }
  for (const v of report.violations) {
    const times = v.count > 1 ? ` (found ${v.count} times)` : '';
    io.out(
      `\nVIOLATION (${v.kind}), ${v.preemptions} preemption(s), ${v.steps} steps${times}:\n${v.message}\n  replay: aiosim replay ${v.replay}\n`,
    );
  }
  if (determinism !== undefined) {
    for (const d of determinism) {
      io.out(
        d.identical
          ? `  determinism: replayed twice, ${d.events} trace events identical\n`
          : `  determinism: DIVERGED at event ${d.divergence!.index}:\n    ${d.divergence!.first}\n    ${d.divergence!.second}\n`,
      );
    }
  }
  if (report.cutBy.includes('interrupted'))
    io.err('aiosim: interrupted; the report above covers what was explored\n');
  return badDeterminism === true && !report.cutBy.includes('interrupted') ? 1 : exploreStatus(report);
}
