/**
 * Parallel exploration: splits a search into shards run by worker threads and merges their
 * reports. Shard i of N owns the subtrees whose first SHARD_DEPTH decisions have the i-th (mod N)
 * prefix in DFS order (exhaustive), or every N-th run (random, pct), so the merged totals equal
 * one whole run's.
 */
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
  const here = new URL(import.meta.url);
  const isTs = here.pathname.endsWith('.ts');
  const entry = new URL(isTs ? './worker.ts' : './worker.js', here);
  const { onProgress: _p, ...plain } = options;
  const jobs = Array.from({ length: workers }, (_, w) => {
    const shard = { index: outer.index * workers + w, count: outer.count * workers };
    return new Promise<ExploreReport>((resolve, reject) => {
      const worker = new Worker(entry, {
        workerData: { scenario, options: { ...plain, shard } },
        execArgv: isTs ? ['--import', 'tsx'] : [],
      });
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
