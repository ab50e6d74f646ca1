/**
 * The determinism self-check (after shuttle): run a schedule, replay it, and compare the two
 * traces event by event; report the first divergence.
 */
import { replay } from '../kernel/chooser.js';
import type { KernelConfig } from '../kernel/kernel.js';
import { runScenario } from './runner.js';
import type { Scenario } from './scenario.js';

/** Result of `checkDeterminism`. */
export interface DeterminismResult {
  readonly identical: boolean;
  readonly events: number;
  /** First differing event (index, and each run's JSON line), when not identical. */
  readonly divergence?: { readonly index: number; readonly first: string; readonly second: string };
}

/** Runs `choices` twice with tracing and diffs the traces. */
export function checkDeterminism(
  scenario: Scenario,
  config: Partial<KernelConfig>,
  choices: readonly number[],
  maxSteps = 100_000,
): DeterminismResult {
  const run = () =>
    runScenario(scenario, {
      config: { ...config, trace: true },
      chooser: replay(choices),
      maxSteps,
      keepTrace: true,
    }).events.map((e) => JSON.stringify(e));
  const a = run();
  const b = run();
  const n = Math.max(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      return {
        identical: false,
        events: n,
        divergence: { index: i, first: a[i] ?? '<end>', second: b[i] ?? '<end>' },
      };
    }
  }
  return { identical: true, events: n };
}
