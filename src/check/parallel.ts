/**
 * Parallel exploration: splits a search into shards run by worker threads and merges their
 * reports. Shard i of N owns the subtrees whose first SHARD_DEPTH decisions have the i-th (mod N)
 * prefix in DFS order (exhaustive), or every N-th run (random, pct), so the merged totals equal
 * one whole run's.
 *
 * Run from the TypeScript sources (tests, `tsx`), a worker cannot load `worker.ts` by itself
 * (a `--import tsx` in a worker's execArgv does not install the loader on Node 20), so the
 * worker starts from a tiny module that registers tsx's loader first, then imports `worker.ts`.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { pathToFileURL } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { ExploreOptions, ExploreReport } from './explore.js';

/** Merges shard reports of one search into one report. */
export function mergeReports(parts: readonly ExploreReport[]): ExploreReport {
  if (parts.length === 0) throw new Error('mergeReports: no reports to merge');
  const first = parts[0]!;
  const states = new Set<string>();
  for (const p of parts) for (const k of p.stateKeys) states.add(k);
  const cutBy = new Set<string>();
  for (const p of parts) for (const c of p.cutBy) cutBy.add(c);
  const exhaustive = first.strategy === 'exhaustive';
  const { shard: _shard, ...rest } = first;
  return {
    ...rest,
    explored: parts.reduce((a, p) => a + p.explored, 0),
    elapsedMs: Math.max(...parts.map((p) => p.elapsedMs)),
    violations: parts.flatMap((p) => p.violations),
    complete: exhaustive && parts.every((p) => p.complete),
    cutBy: [...cutBy],
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

/**
 * Runs `workers` shards of the search in worker threads (each shard itself a share of
 * `options.shard`, if given) and merges them.
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
  const { onProgress: _p, ...plain } = options;
  const jobs = Array.from({ length: workers }, (_, w) => {
    // Outer share i of N is every ordinal o = i (mod N); worker w takes o = i + w*N (mod N*workers).
    const shard = { index: outer.index + w * outer.count, count: outer.count * workers };
    return new Promise<ExploreReport>((resolve, reject) => {
      const worker = new Worker(entry, { workerData: { scenario, options: { ...plain, shard } } });
      worker.once('message', (m: ExploreReport) => resolve(m));
      worker.once('error', reject);
      worker.once('exit', (code) => {
        if (code !== 0) reject(new Error(`exploration worker ${w} exited with code ${code}`));
      });
    });
  });
  const parts = await Promise.all(jobs);
  const merged = mergeReports(parts);
  return options.shard !== undefined ? { ...merged, shard: options.shard } : merged;
}
