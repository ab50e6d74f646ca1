/**
 * `aiosim explore`: option parsing, progress on a TTY, the human report and the JSON one.
 */
import { checkDeterminism } from '../check/determinism.js';
import { type ExploreOptions, type ExploreReport, explore, type Strategy } from '../check/explore.js';
import { exploreParallel } from '../check/parallel.js';
import type { Scenario } from '../check/scenario.js';
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

/** Runs the explore command. */
export async function runExploreCommand(
  s: Scenario,
  strategy: Strategy,
  opts: Record<string, unknown>,
  io: CliIo,
): Promise<number> {
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
  if (workers > 1 && strategy === 'fast-check')
    throw new UsageError('--workers does not apply to the fast-check strategy');
  const t0 = performance.now();
  if (io.isTTY && opts.json !== true) {
    options.onProgress = (p) => {
      const secs = (performance.now() - t0) / 1000;
      io.err(
        `\r  ${p.explored} executions, ${p.violations} violations, ${Math.round(p.explored / Math.max(secs, 1e-3))}/s   `,
      );
    };
  }
  let report: ExploreReport;
  try {
    report = workers > 1 ? await exploreParallel(s.name, options, workers) : explore(s, options);
  } catch (e) {
    if (e instanceof Error && e.message.startsWith('explore:')) throw new UsageError(e.message);
    throw e;
  }
  if (options.onProgress !== undefined) io.err('\r\x1b[K');
  const determinism =
    opts.checkDeterminism === true
      ? report.violations.map((v) => {
          const t = decodeToken(v.replay);
          return { replay: v.replay, ...checkDeterminism(s, t.config, t.choices) };
        })
      : undefined;
  const violated = report.violations.length > 0;
  const badDeterminism = determinism?.some((d) => !d.identical);
  if (opts.json === true) {
    const { stateKeys: _k, ...rest } = report;
    io.out(`${JSON.stringify({ ...rest, ...(determinism !== undefined ? { determinism } : {}) })}\n`);
    return violated || badDeterminism ? 1 : 0;
  }
  io.out(
    `explore ${report.scenario} (${report.strategy}, ${report.config.cpus} CPUs, ${report.config.memoryModel})\n`,
  );
  io.out(
    `  executions: ${report.explored} in ${report.elapsedMs.toFixed(1)} ms; distinct final states: ${report.coverage.distinctFinalStates}; ` +
      `longest run: ${report.coverage.longestRun} steps${report.coverage.redundant > 0 ? `; pruned as redundant: ${report.coverage.redundant}` : ''}\n`,
  );
  if (report.strategy === 'exhaustive') {
    io.out(
      report.complete
        ? `  complete: the whole space${report.bounds.preemptionBound !== null ? ` within ${report.bounds.preemptionBound} preemptions` : ''} was covered\n`
        : `  not complete${report.cutBy.length > 0 ? `: cut by ${report.cutBy.join(', ')}` : ''}\n`,
    );
  }
  if (report.pct !== undefined) {
    io.out(
      `  pct depth ${report.pct.depth}: ${report.pct.actors} actors, ~${report.pct.steps} steps per run; ` +
        `each run finds a depth-${report.pct.depth} bug with probability >= ${report.pct.guarantee.toExponential(2)}\n`,
    );
  }
  if (!violated) io.out('  no violation found\n');
  for (const v of report.violations) {
    io.out(
      `\nVIOLATION (${v.kind}), ${v.preemptions} preemption(s), ${v.steps} steps:\n${v.message}\n  replay: aiosim replay ${v.replay}\n`,
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
  return violated || badDeterminism ? 1 : 0;
}
