/**
 * The minimiser: from any failing schedule it returns one that still fails with the same kind
 * of violation, whose reported preemption count is its own, and that is locally minimal: no
 * single preemption can be removed (set to 0, the rest kept) with the run still failing.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { minimize, preemptionIndices } from '../../src/check/minimize.js';
import { runScenario, scenarioConfig } from '../../src/check/runner.js';
import { fromArray, seeded } from '../../src/kernel/chooser.js';
import type { KernelConfig } from '../../src/kernel/kernel.js';
import { findScenario } from '../../src/scenarios/index.js';

const MAX_STEPS = 10_000;
/** Scenarios whose random runs often fail, with long schedules to shrink. */
const cases: [string, Partial<KernelConfig>][] = [
  ['lost-update', {}],
  ['sleep-on-race', {}],
  ['aio-ring-reap', {}],
  ['mp', { memoryModel: 'pso' }],
  ['wtd-lock-page-racy', {}],
];

describe('minimize', () => {
  test.prop([fc.constantFrom(...cases), fc.nat(), fc.integer({ min: 1, max: 400 })], { numRuns: 80 })(
    'the result fails, counts its own preemptions and is locally minimal',
    ([name, over], seed, budget) => {
      const s = findScenario(name)!;
      const config = scenarioConfig(s, { trace: false, ...over });
      // A failing schedule to start from: a random run (most of these scenarios' random runs fail).
      const r = runScenario(s, { config, chooser: seeded(seed), maxSteps: MAX_STEPS, keepTrace: false });
      fc.pre(r.violations.length > 0);
      const kind = r.violations[0]!.kind;
      // Any budget, however small, still gives a locally minimal schedule.
      const m = minimize(s, config, r.choices, kind, MAX_STEPS, budget);
      const again = runScenario(s, {
        config,
        chooser: fromArray(m.choices),
        maxSteps: MAX_STEPS,
        keepTrace: false,
      });
      expect(again.violations.some((v) => v.kind === kind)).toBe(true);
      expect(again.choices).toEqual(m.choices);
      const pre = preemptionIndices(s, config, m.choices, MAX_STEPS);
      expect(m.preemptions).toBe(pre.length);
      for (const i of pre) {
        const cand = m.choices.slice();
        cand[i] = 0;
        const c = runScenario(s, { config, chooser: fromArray(cand), maxSteps: MAX_STEPS, keepTrace: false });
        expect(
          c.violations.some((v) => v.kind === kind),
          `preemption at ${i} removable`,
        ).toBe(false);
      }
    },
  );
});
