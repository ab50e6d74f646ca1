/**
 * The registry of exploration strategies: a strategy is one file in this folder exporting a
 * `StrategyEntry` (see `../strategy.ts`), and one line here.
 */
import type { StrategyEntry } from '../strategy.js';
import { exhaustive } from './exhaustive.js';
import { fastCheck } from './fast-check.js';
import { pct } from './pct.js';
import { random } from './random.js';
import { roundRobin } from './round-robin.js';

export const STRATEGY_REGISTRY = {
  exhaustive,
  random,
  pct,
  'fast-check': fastCheck,
  'round-robin': roundRobin,
} as const satisfies Record<string, StrategyEntry>;
