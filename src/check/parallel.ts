/**
 * Parallel exploration: splits a search into shards run by worker threads and merges their
 * reports. Each worker runs one share of the search, its strategy wrapped by `shard.ts`: the
 * subtrees below the first SHARD_DEPTH decisions dealt out in DFS order (exhaustive), or every
 * N-th run (random, pct, round-robin), so the merged totals equal one whole run's.
 *
 * Run from the TypeScript sources (tests, `tsx`), a worker cannot load `worker.ts` by itself
 * (a `--import tsx` in a worker's execArgv does not install the loader on Node 20), so the
 * worker starts from a tiny module that registers tsx's loader first, then imports `worker.ts`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import {
  addViolation,
  type Cut,
  type ExploreOptions,
  type ExploreReport,
  type FoundViolation,
  type Progress,
  verdictOf,
} from './explore.js';

/** Merges shard reports of one search into one report. */
export function mergeReports(parts: readonly ExploreReport[]): ExploreReport {
  if (parts.length === 0) throw new Error('mergeReports: no reports to merge');
  const first = parts[0]!;
  const states = new Set<string>();
  for (const p of parts) for (const k of p.stateKeys) states.add(k);
  const cutBy = new Set<Cut>();
  for (const p of parts) for (const c of p.cutBy) cutBy.add(c);
  const { shard: _shard, ...rest } = first;
  const violations: FoundViolation[] = [];
  for (const p of parts) for (const v of p.violations) addViolation(violations, v);
  const cuts = [...cutBy];
  return {
    ...rest,
    explored: parts.reduce((a, p) => a + p.explored, 0),
    elapsedMs: Math.max(...parts.map((p) => p.elapsedMs)),
    violations,
    verdict: verdictOf(violations, cuts),
    complete: parts.every((p) => p.complete),
    cutBy: cuts,
    coverage: {
      distinctSchedules: parts.reduce((a, p) => a + p.coverage.distinctSchedules, 0),
      distinctFinalStates: states.size,
      longestRun: Math.max(...parts.map((p) => p.coverage.longestRun)),
      redundant: parts.reduce((a, p) => a + p.coverage.redundant, 0),
    },
    stateKeys: [...states].sort(),
  };
}

/** The worker's entry: `worker.js` when built, else a loader stub that imports `worker.ts` through tsx. */
function workerEntry(): URL {
  const here = new URL(import.meta.url);
  if (!here.pathname.endsWith('.ts')) return new URL('./worker.js', here);
  const ts = new URL('./worker.ts', here);
  // The ESM build of `tsx/esm/api` (its package exports map; require.resolve would give the CJS one).
  const pkgFile = createRequire(here).resolve('tsx/package.json');
  const pkg = JSON.parse(readFileSync(pkgFile, 'utf8')) as {
    exports: Record<string, { import?: { default?: string } }>;
  };
  const rel = pkg.exports['./esm/api']?.import?.default;
  if (rel === undefined) throw new Error('exploreParallel: cannot find the ESM entry of tsx/esm/api');
  const api = new URL(rel, pathToFileURL(pkgFile)).href;
  const code = `import { register } from ${JSON.stringify(api)}; register(); await import(${JSON.stringify(ts.href)});`;
  return new URL(`data:text/javascript,${encodeURIComponent(code)}`);
}

/** What a worker posts: progress now and then, and its report at the end. */
export type WorkerMessage =
  | { readonly kind: 'progress'; readonly progress: Progress }
  | { readonly kind: 'report'; readonly report: ExploreReport };

/**
 * Runs `workers` shards of the search in worker threads (each shard itself a share of
 * `options.shard`, if given) and merges them. The workers share the deadline (wall-clock
 * time) and see `options.signal` through a shared flag, so a time limit or an interruption
 * stops them all; each then reports what it covered.
 */
export async function exploreParallel(
  scenario: string,
  options: ExploreOptions,
  workers: number,
): Promise<ExploreReport> {
  if (!Number.isInteger(workers) || workers < 1)
    throw new Error(`exploreParallel: workers must be >= 1, got ${workers}`);
  const outer = options.shard ?? { index: 0, count: 1 };
  const entry = workerEntry();
  const { onProgress, signal, timeLimitMs, ...plain } = options;
  const deadline = timeLimitMs !== undefined ? Date.now() + timeLimitMs : options.deadline;
  const stop = new Int32Array(new SharedArrayBuffer(4));
  const poll = setInterval(() => {
    if (signal?.aborted === true) Atomics.store(stop, 0, 1);
  }, 20);
  const seen: Progress[] = [];
  const every = options.progressIntervalMs ?? 2000;
  let lastEmit = performance.now();
  const jobs = Array.from({ length: workers }, (_, w) => {
    // Outer share i of N is every ordinal o = i (mod N); worker w takes o = i + w*N (mod N*workers).
    const shard = { index: outer.index + w * outer.count, count: outer.count * workers };
    const opts = { ...plain, shard, ...(deadline !== undefined ? { deadline } : {}) };
    return new Promise<ExploreReport>((resolve, reject) => {
      const worker = new Worker(entry, {
        workerData: { scenario, options: opts, stop, progress: onProgress !== undefined },
      });
      worker.on('message', (m: WorkerMessage) => {
        if (m.kind === 'report') {
          resolve(m.report);
          return;
        }
        seen[w] = m.progress;
        // Every worker reports on its own clock: pass on at most one line per interval.
        const now = performance.now();
        if (now - lastEmit < every) return;
        lastEmit = now;
        const all = seen.filter((p) => p !== undefined);
        onProgress?.({
          explored: all.reduce((a, p) => a + p.explored, 0),
          violations: all.reduce((a, p) => a + p.violations, 0),
          elapsedMs: Math.max(...all.map((p) => p.elapsedMs)),
        });
      });
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (code !== 0) reject(new Error(`exploration worker ${w} exited with code ${code}`));
      });
    });
  });
  let parts: ExploreReport[];
  try {
    parts = await Promise.all(jobs);
  } finally {
    clearInterval(poll);
  }
  const merged = mergeReports(parts);
  return options.shard !== undefined ? { ...merged, shard: options.shard } : merged;
}
