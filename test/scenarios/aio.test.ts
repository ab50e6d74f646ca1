/**
 * Acceptance of the AIO race scenarios: `aio-complete-wakeup` hangs under tso and its replay
 * token (through `runScenario` and through `aiosim replay`) shows the hang again;
 * `aio-complete-wakeup-mb` is clean over its whole space; `aio-cancel-race` is clean with both
 * outcomes reached; `aio-ring-full` accepts four, refuses with -EAGAIN, loses nothing;
 * `aio-ring-reap` reads a stale event and replays it; `aio-ring-reap-rmb` is clean over its
 * whole space.
 */
import { describe, expect, it } from 'vitest';
import { type ExploreReport, explore } from '../../src/check/explore.js';
import { runScenario } from '../../src/check/runner.js';
import { decodeToken } from '../../src/check/token.js';
import { type CliIo, main } from '../../src/cli/main.js';
import { replay } from '../../src/kernel/chooser.js';
import { EAGAIN, ECANCELED } from '../../src/kernel/errno.js';
import {
  aioCancelRace,
  aioCompleteWakeup,
  aioCompleteWakeupMb,
  aioRingFull,
  aioRingReap,
  aioRingReapRmb,
} from '../../src/scenarios/aio.js';
import { findScenario } from '../../src/scenarios/index.js';

function capture(): CliIo & { text(): string } {
  let out = '';
  return {
    out: (s) => {
      out += s;
    },
    err: () => {},
    isTTY: false,
    text: () => out,
  };
}

describe('aio-complete-wakeup (waitqueue_active without smp_mb, tso)', () => {
  let report: ExploreReport | null = null;
  const found = (): ExploreReport => {
    report ??= explore(aioCompleteWakeup, { strategy: 'exhaustive' });
    return report;
  };

  it('exhaustive exploration finds the lost wake-up: __io_getevents sleeps forever', () => {
    const r = found();
    const v = r.violations[0];
    expect(aioCompleteWakeup.expect).toBe('hang');
    expect(r.config.memoryModel).toBe('tso');
    expect(v?.kind).toBe('hang');
    expect(v?.message).toMatch(/app \(pid \d+\) sleeps in TASK_INTERRUPTIBLE on aio ctx\d+ events/);
    // Both endings exist: runs where the waiter got its event, and the hang.
    expect(r.stateKeys.some((s) => s.startsWith('done|'))).toBe(true);
  });

  it('the token replays the hang through runScenario', () => {
    const v = found().violations[0];
    const t = decodeToken(v!.replay);
    expect(t.scenario).toBe('aio-complete-wakeup');
    expect(t.config.memoryModel).toBe('tso');
    const again = runScenario(findScenario(t.scenario)!, {
      config: t.config,
      chooser: replay(t.choices),
    });
    expect(again.status).toBe('hang');
    expect(again.violations[0]?.kind).toBe('hang');
    expect(again.violations[0]?.message).toBe(v!.message);
    expect(again.state).toEqual({ got: -1, res: 0 });
  });

  it('aiosim replay <token> shows the hang and exits 1', async () => {
    const v = found().violations[0];
    const io = capture();
    expect(await main(['replay', v!.replay, '--json'], io)).toBe(1);
    expect(JSON.parse(io.text())).toMatchObject({ scenario: 'aio-complete-wakeup', status: 'hang' });
    const shown = capture();
    expect(await main(['replay', v!.replay], shown)).toBe(1);
    expect(shown.text()).toContain('status: hang');
  });
});

describe('aio-complete-wakeup-mb (smp_mb before waitqueue_active)', () => {
  it('is clean over the whole space (exhaustive, complete, no bound cut it)', () => {
    const r = explore(aioCompleteWakeupMb, { strategy: 'exhaustive' });
    expect(r.violations).toEqual([]);
    expect(r.complete).toBe(true);
    expect(r.cutBy).toEqual([]);
    expect(r.explored).toBeGreaterThan(1000);
    expect(r.stateKeys).toEqual(['done||{"got":1,"res":512}']);
  });
});

describe('aio-cancel-race', () => {
  it('is clean over the whole space, and both outcomes happen: the cancel wins, or the completion does', () => {
    const r = explore(aioCancelRace, { strategy: 'exhaustive' });
    expect(r.violations).toEqual([]);
    expect(r.complete).toBe(true);
    expect([...r.stateKeys].sort()).toEqual(
      [
        `done||${JSON.stringify({ cancel: -EAGAIN, res: 512 })}`,
        `done||${JSON.stringify({ cancel: 0, res: -ECANCELED })}`,
      ].sort(),
    );
  });
});

describe('aio-ring-full', () => {
  it('timed run: four accepted, -EAGAIN, the last two after reaping, six events; accounting returns to zero', () => {
    const r = runScenario(aioRingFull);
    expect(r.status).toBe('done');
    expect(r.violations).toEqual([]);
    expect(r.state).toEqual({ log: `4,${-EAGAIN},4,2,6` });
    expect(r.stats['aio.submitted']).toBe(6);
    expect(r.stats['aio.completed']).toBe(6);
    expect(r.stats['aio.nr']).toBe(0);
  });

  it('is clean under exploration: exhaustive without preemptions (complete within the bound) and 40 random schedules', () => {
    const ex = explore(aioRingFull, { strategy: 'exhaustive', preemptionBound: 0 });
    expect(ex.violations).toEqual([]);
    expect(ex.complete).toBe(true);
    expect(ex.cutBy).toEqual(['preemption-bound']);
    expect(ex.stateKeys).toEqual([`done||{"log":"4,${-EAGAIN},4,2,6"}`]);
    const rnd = explore(aioRingFull, { strategy: 'random', runs: 40, seed: 3 });
    expect(rnd.violations).toEqual([]);
    expect(rnd.explored).toBe(40);
  });
});

describe('aio-ring-reap (no smp_rmb after reading tail, invq)', () => {
  let report: ExploreReport | null = null;
  const found = (): ExploreReport => {
    report ??= explore(aioRingReap, { strategy: 'exhaustive' });
    return report;
  };

  it('exhaustive exploration finds a stale event read from the mapped ring', () => {
    const v = found().violations[0];
    expect(v?.kind).toBe('invariant');
    expect(v?.message).toMatch(/stale event: the reaper saw the new tail but event data=0 res=0/);
  });

  it('the token replays the stale read', () => {
    const v = found().violations[0];
    const t = decodeToken(v!.replay);
    expect(t.scenario).toBe('aio-ring-reap');
    expect(t.config.memoryModel).toBe('invq');
    const again = runScenario(aioRingReap, { config: t.config, chooser: replay(t.choices) });
    expect(again.status).toBe('violation');
    expect(again.violations[0]?.message).toBe(v!.message);
  });
});

describe('aio-ring-reap-rmb (smp_rmb after reading tail)', () => {
  it('is clean over the whole space, and the reaper does see the event in some runs', () => {
    const r = explore(aioRingReapRmb, { strategy: 'exhaustive' });
    expect(r.violations).toEqual([]);
    expect(r.complete).toBe(true);
    expect(r.cutBy).toEqual([]);
    expect(r.stateKeys).toContain('done||{"seen":"100"}');
  });
});
