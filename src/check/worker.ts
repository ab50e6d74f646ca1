/**
 * Worker-thread entry for parallel exploration: runs one shard of a search on a catalogued
 * scenario and posts its report back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { findScenario } from '../scenarios/index.js';
import { type ExploreOptions, explore, type Progress } from './explore.js';
import type { WorkerMessage } from './parallel.js';

interface Job {
  readonly scenario: string;
  readonly options: ExploreOptions;
  /** Set to 1 by the parent to interrupt the search. */
  readonly stop: Int32Array;
  /** Whether the parent wants progress. */
  readonly progress: boolean;
}

const job = workerData as Job;
const s = findScenario(job.scenario);
if (s === undefined) throw new Error(`worker: unknown scenario '${job.scenario}'`);
const port = parentPort!;
const report = explore(s, {
  ...job.options,
  signal: {
    get aborted() {
      return Atomics.load(job.stop, 0) !== 0;
    },
  },
  ...(job.progress
    ? {
        onProgress: (progress: Progress) =>
          port.postMessage({ kind: 'progress', progress } satisfies WorkerMessage),
      }
    : {}),
});
port.postMessage({ kind: 'report', report } satisfies WorkerMessage);
