/**
 * fast-check support for users' own property tests: a schedule is an array of naturals (each
 * taken modulo the number of options at its decision; 0 past the end), so fast-check shrinks a
 * failing interleaving to a short one with few preemptions (option 0 is "no preemption").
 *
 * ```ts
 * import { test } from '@fast-check/vitest';
 * import { schedules, runWithSchedule } from 'aiosim';
 *
 * test.prop([schedules()])('my scenario never hangs', (choices) => {
 *   const r = runWithSchedule(myScenario, choices);
 *   expect(r.violations).toEqual([]);
 * });
 * ```
 *
 * or `fc.assert(fc.property(schedules(), (c) => runWithSchedule(s, c).violations.length === 0))`.
 */
import fc from 'fast-check';
import { fromArray } from '../kernel/chooser.js';
import type { KernelConfig } from '../kernel/kernel.js';
import { type RunReport, runScenario } from './runner.js';
import type { Scenario } from './scenario.js';
import { encodeToken } from './token.js';

/** Options of `schedules()`. */
export interface ScheduleOptions {
  /** Longest choice list (default 64). */
  readonly maxLength?: number;
  /** Largest choice value (default 15); values are taken modulo the options at each decision. */
  readonly maxChoice?: number;
}

/** The arbitrary of schedules: arrays of naturals, shrinking towards fewer preemptions. */
export function schedules(opts: ScheduleOptions = {}): fc.Arbitrary<number[]> {
  const { maxLength = 64, maxChoice = 15 } = opts;
  return fc.array(fc.nat({ max: maxChoice }), { maxLength });
}

/** Options of `runWithSchedule`. */
export interface RunWithScheduleOptions {
  /** Config overrides (default: the scenario's, untimed). */
  readonly config?: Partial<KernelConfig>;
  /** Step budget (default 10,000). */
  readonly maxSteps?: number;
}

/** A run under a schedule, with the replay token of exactly that run. */
export interface ScheduledRun extends RunReport {
  /** Token for `aiosim replay` (the scenario must be in the catalogue to replay by name). */
  readonly replay: string;
}

/** Runs `scenario` under the schedule `choices` (untimed unless the config says otherwise). */
export function runWithSchedule(
  scenario: Scenario,
  choices: readonly number[],
  opts: RunWithScheduleOptions = {},
): ScheduledRun {
  const config: Partial<KernelConfig> = { timed: false, trace: false, ...opts.config };
  const maxSteps = opts.maxSteps ?? 10_000;
  const r = runScenario(scenario, { config, chooser: fromArray(choices), maxSteps, keepTrace: false });
  const bound = r.status === 'max-steps' ? maxSteps : undefined;
  return { ...r, replay: encodeToken(scenario.name, r.config, r.choices, bound) };
}
