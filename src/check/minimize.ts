/**
 * Minimisation of a failing schedule.
 *
 * Option 0 of every decision is "no preemption" (continue the CPU that ran last), and a choice
 * list past its end answers 0, so a shorter list with more zeros is a simpler schedule. From a
 * failing list: cut it as short as possible (binary search on the length), then try setting each
 * remaining non-zero entry to 0, then to each smaller value, keeping every change after which
 * the run still fails with the same kind of violation. Each attempt is one run.
 */
import { type ChoicePoint, type ChoiceWhy, type Chooser, fromArray } from '../kernel/chooser.js';
import type { KernelConfig } from '../kernel/kernel.js';
import type { ViolationKind } from '../kernel/violation.js';
import { type RunReport, runScenario } from './runner.js';
import type { Scenario } from './scenario.js';

/** Result of `minimize`. */
export interface Minimized {
  readonly choices: number[];
  readonly report: RunReport;
  readonly attempts: number;
}

/** Shrinks `choices` while the run still shows a violation of `kind`. */
export function minimize(
  scenario: Scenario,
  config: Partial<KernelConfig>,
  choices: readonly number[],
  kind: ViolationKind,
  maxSteps: number,
  budget = 400,
): Minimized {
  let attempts = 0;
  const run = (list: readonly number[]): RunReport | null => {
    attempts++;
    const r = runScenario(scenario, { config, chooser: fromArray(list), maxSteps, keepTrace: false });
    return r.violations.some((v) => v.kind === kind) ? r : null;
  };
  let best = choices.slice();
  let bestReport = run(best);
  if (bestReport === null) {
    // Should not happen (determinism); report the original.
    const r = runScenario(scenario, { config, chooser: fromArray(best), maxSteps, keepTrace: false });
    return { choices: best, report: r, attempts };
  }
  // Normalise to the recorded choices (entries are taken modulo n).
  best = bestReport.choices.slice();
  // 1. Shortest prefix that still fails.
  let lo = 0;
  let hi = best.length;
  while (lo < hi && attempts < budget) {
    const mid = (lo + hi) >> 1;
    const r = run(best.slice(0, mid));
    if (r !== null) hi = mid;
    else lo = mid + 1;
  }
  if (hi < best.length) {
    const r = run(best.slice(0, hi));
    if (r !== null) {
      best = best.slice(0, hi);
      bestReport = r;
    }
  }
  // 2. Zero (or lower) each entry, last first.
  let changed = true;
  while (changed && attempts < budget) {
    changed = false;
    for (let i = best.length - 1; i >= 0 && attempts < budget; i--) {
      const v = best[i]!;
      if (v === 0) continue;
      for (let w = 0; w < v && attempts < budget; w++) {
        const cand = best.slice();
        cand[i] = w;
        const r = run(cand);
        if (r !== null) {
          best = cand;
          bestReport = r;
          changed = true;
          break;
        }
      }
    }
    // Trailing zeros are implied.
    while (best.length > 0 && best[best.length - 1] === 0) best.pop();
  }
  const final = runScenario(scenario, { config, chooser: fromArray(best), maxSteps, keepTrace: false });
  // Every choice the run took, trailing zeros too: a replay gets exactly the recorded list.
  return { choices: final.choices.slice(), report: final, attempts };
}

/** Counts the preemptions of a schedule: non-zero choices where option 0 continued the last CPU. */
export function countPreemptions(
  scenario: Scenario,
  config: Partial<KernelConfig>,
  choices: readonly number[],
  maxSteps: number,
): number {
  const inner = fromArray(choices);
  let n = 0;
  const counting: Chooser = {
    choose(k: number, why: ChoiceWhy, point?: ChoicePoint): number {
      const c = inner.choose(k, why, point);
      if (why === 'step' && point !== undefined && point.continues && c !== 0) n++;
      return c;
    },
  };
  runScenario(scenario, { config, chooser: counting, maxSteps, keepTrace: false });
  return n;
}
