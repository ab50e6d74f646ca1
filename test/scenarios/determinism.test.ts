import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import { replay } from '../../src/kernel/chooser.js';
import { scenarios } from '../../src/scenarios/index.js';

// Same scenario, config and choices → the same trace, byte for byte: run every catalogued
// scenario twice in one process (so a module-level counter or cache would show), then replay
// the recorded choices a third time.
describe('every catalogued scenario is deterministic', () => {
  for (const s of scenarios) {
    it(s.name, () => {
      const run = (choices?: readonly number[]) => {
        const r = runScenario(s, {
          seed: 7,
          config: { trace: true },
          keepTrace: true,
          maxSteps: 3000,
          ...(choices !== undefined ? { chooser: replay(choices) } : {}),
        });
        return {
          trace: r.events.map((e) => JSON.stringify(e)).join('\n'),
          choices: r.choices,
          steps: r.steps,
        };
      };
      const a = run();
      const b = run();
      expect(a.steps).toBeGreaterThan(0);
      expect(b.trace).toBe(a.trace);
      const c = run(a.choices);
      expect(c.trace).toBe(a.trace);
    });
  }
});
