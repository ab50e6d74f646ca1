/**
 * Worker-thread entry for parallel exploration: runs one shard of a search on a catalogued
 * scenario and posts its report back.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { findScenario } from '../scenarios/index.js';
import { type ExploreOptions, explore } from './explore.js';

interface Job {
  readonly scenario: string;
  readonly options: ExploreOptions;
}

const job = workerData as Job;
const s = findScenario(job.scenario);
if (s === undefined) throw new Error(`worker: unknown scenario '${job.scenario}'`);
parentPort!.postMessage(explore(s, job.options));
