import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runWithSchedule, schedules } from '../../src/check/fc.js';
import { runScenario } from '../../src/check/runner.js';
import { decodeToken } from '../../src/check/token.js';
import { replay } from '../../src/kernel/chooser.js';
import { findScenario } from '../../src/scenarios/index.js';

describe('fast-check helpers for users', () => {
  const wqMb = findScenario('wq-active-mb')!;
  const wqRace = findScenario('wq-active-race')!;

  test.prop([schedules()], { numRuns: 60 })('wq-active-mb never hangs under any schedule', (choices) => {
    expect(runWithSchedule(wqMb, choices).violations).toEqual([]);
  });

  it('fast-check finds the wq-active-race hang and shrinks it; the token replays it', () => {
    const out = fc.check(
      fc.property(schedules(), (choices) => runWithSchedule(wqRace, choices).violations.length === 0),
      { seed: 3, numRuns: 500 },
    );
    expect(out.failed).toBe(true);
    const shrunk = out.counterexample![0];
    const r = runWithSchedule(wqRace, shrunk);
    expect(r.violations[0]!.kind).toBe('hang');
    const t = decodeToken(r.replay);
    expect(t.scenario).toBe('wq-active-race');
    const again = runScenario(wqRace, { config: t.config, chooser: replay(t.choices), keepTrace: false });
    expect(again.violations[0]!.message).toBe(r.violations[0]!.message);
    // Shrinking leaves a short list of small numbers.
    expect(shrunk.length).toBeLessThanOrEqual(12);
  });
});
