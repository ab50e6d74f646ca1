/**
 * Minimisation of a failing schedule.
 *
 * Option 0 of every decision is "no preemption" (continue the CPU that ran last), and a choice
 * list past its end answers 0, so a shorter list with more zeros is a simpler schedule. From a
 * failing list: cut it as short as possible (binary search on the length), then try setting each
 * remaining non-zero entry to 0, then to each smaller value, keeping every change after which
 * the run still fails with the same kind of violation. Each attempt is one run; those two
 * passes share a budget.
 *
 * A last pass, outside the budget, makes the result locally minimal: no single preemption of
 * the returned schedule can be removed (set to 0, the rest kept) with the run still failing.
 * It ends because each change it keeps lowers the number of non-zero entries. The reported
 * preemption count is that of the returned schedule.
 */
import { type ChoicePoint, type ChoiceWhy, type Chooser, fromArray } from '../kernel/chooser.js';
import type { KernelConfig } from '../kernel/kernel.js';
import type { ViolationKind } from '../kernel/violation.js';
import { type RunReport, runScenario } from './runner.js';
import type { Scenario } from './scenario.js';

/** Result of `minimize`. */
export interface Minimized {
  /** Every choice of the minimised run (as recorded: a replay gets exactly this list). */
  readonly choices: number[];
  readonly report: RunReport;
  /** Preemptions of `choices`. */
  readonly preemptions: number;
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
  const first = run(best);
  if (first === null) {
    // The list does not fail (not a failing schedule of this scenario): returned as it runs.
    const r = recorded(best);
    const preemptions = preemptionIndices(scenario, config, r.choices, maxSteps).length;
    return { choices: r.choices, report: r.report, preemptions, attempts };
  }
  // Normalise to the recorded choices (entries are taken modulo n).
  best = first.choices.slice();
  // 1. Shortest prefix that still fails.
  let lo = 0;
  let hi = best.length;
  while (lo < hi && attempts < budget) {
    const mid = (lo + hi) >> 1;
    const r = run(best.slice(0, mid));
    if (r !== null) hi = mid;
    else lo = mid + 1;
  }
  if (hi < best.length && run(best.slice(0, hi)) !== null) best = best.slice(0, hi);
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
        if (run(cand) !== null) {
          best = cand;
          changed = true;
          break;
        }
      }
    }
    // Trailing zeros are implied.
    while (best.length > 0 && best[best.length - 1] === 0) best.pop();
  }
  // 3. Local minimality over the preemptions of the recorded schedule.
  let rec = recorded(best);
  for (;;) {
    let progressed = false;
    for (const i of preemptionIndices(scenario, config, rec.choices, maxSteps)) {
      const cand = rec.choices.slice();
      cand[i] = 0;
      if (run(cand) !== null) {
        rec = recorded(cand);
        progressed = true;
        break;
      }
    }
    if (!progressed) break;
  }
  const final = rec.report;
  const preemptions = preemptionIndices(scenario, config, rec.choices, maxSteps).length;
  return { choices: rec.choices, report: final, preemptions, attempts };

  /** The run of `list` and the choices it recorded (entries modulo n, zeros past the end). */
  function recorded(list: readonly number[]): { report: RunReport; choices: number[] } {
    const report = runScenario(scenario, { config, chooser: fromArray(list), maxSteps, keepTrace: false });
    return { report, choices: report.choices.slice() };
  }
}

/**
 * The indices of the preemptions of a schedule: the 'step' choices that are not 0 where option
 * 0 continued the CPU that ran last.
 */
export function preemptionIndices(
  scenario: Scenario,
  config: Partial<KernelConfig>,
  choices: readonly number[],
  maxSteps: number,
): number[] {
  const inner = fromArray(choices);
  const at: number[] = [];
  let i = 0;
  const counting: Chooser = {
    choose(k: number, why: ChoiceWhy, point?: ChoicePoint): number {
      const c = inner.choose(k, why, point);
      if (why === 'step' && point !== undefined && point.continues && c !== 0) at.push(i);
      i++;
      return c;
    },
  };
  runScenario(scenario, { config, chooser: counting, maxSteps, keepTrace: false });
  return at;
}

/** Counts the preemptions of a schedule. */
export function countPreemptions(
  scenario: Scenario,
  config: Partial<KernelConfig>,
  choices: readonly number[],
  maxSteps: number,
): number {
  return preemptionIndices(scenario, config, choices, maxSteps).length;
}
