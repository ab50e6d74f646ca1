/**
 * The wait-queue scenarios (src/scenarios/waitqueue.ts) against issue 5's acceptance points:
 * exhaustive exploration finds the lost wake-up where the code is racy (waitqueue_active
 * without a barrier or with only smp_wmb under tso, sleep_on even under sc) and proves the
 * fixes clean over the whole bounded space; every replay token reproduces its violation; the
 * fast-check strategy shrinks the wq-active-race hang to a schedule of at most 2 preemptions;
 * the CLI explore → replay round trip shows the hang.
 */
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/check/explore.js';
import { runScenario } from '../../src/check/runner.js';
import type { Scenario } from '../../src/check/scenario.js';
import { decodeToken } from '../../src/check/token.js';
import { type CliIo, main } from '../../src/cli/main.js';
import { replay } from '../../src/kernel/chooser.js';
import type { WakeSemantics } from '../../src/kernel/kernel.js';
import { findScenario } from '../../src/scenarios/index.js';
import {
  sleepOnRace,
  wqActiveMb,
  wqActiveRace,
  wqActiveSc,
  wqActiveWmb,
  wqExclusive,
  wqFuncLockInversion,
  wqHasSleeper,
} from '../../src/scenarios/waitqueue.js';

const HANG_MSG = /waiter \(pid 2\) sleeps in TASK_UNINTERRUPTIBLE on wq:wq/;

/** What exhaustive exploration must report for each scenario. */
const cases: readonly {
  readonly s: Scenario;
  readonly model: string;
  readonly want: 'clean' | 'hang' | 'lock-validator';
  readonly message?: RegExp;
}[] = [
  { s: wqActiveRace, model: 'tso', want: 'hang', message: HANG_MSG },
  { s: wqActiveMb, model: 'tso', want: 'clean' },
  { s: wqHasSleeper, model: 'tso', want: 'clean' },
  { s: wqActiveWmb, model: 'tso', want: 'hang', message: HANG_MSG },
  { s: wqActiveSc, model: 'sc', want: 'clean' },
  { s: sleepOnRace, model: 'sc', want: 'hang', message: HANG_MSG },
  { s: wqExclusive, model: 'sc', want: 'clean' },
  {
    s: wqFuncLockInversion,
    model: 'sc',
    want: 'lock-validator',
    message:
      /lock order inversion: waker took 'dev\.lock' while holding 'wq\.lock'.*adder took 'wq\.lock' while holding 'dev\.lock'/,
  },
];

describe.each(['2.4-aio', 'modern'] as const)(
  'exhaustive exploration, %s wake semantics',
  (wakeSemantics) => {
    it.each(cases)('$s.name: $want', ({ s, model, want, message }) => {
      expect(findScenario(s.name)).toBe(s); // in the catalogue under its name
      expect(s.expect).toBe(want);
      const r = explore(s, { strategy: 'exhaustive', config: { wakeSemantics } });
      expect(r.config.memoryModel).toBe(model);
      expect(r.config.wakeSemantics).toBe(wakeSemantics);
      if (want === 'clean') {
        expect(r.violations).toEqual([]);
        expect(r.complete).toBe(true);
        expect(r.cutBy).toEqual([]);
        expect(r.explored).toBeGreaterThan(0);
        return;
      }
      expect(r.violations.length).toBeGreaterThan(0);
      const v = r.violations[0]!;
      expect(v.kind).toBe(want);
      expect(v.message).toMatch(message!);
      // The token names the scenario and its config, and replays the same violation.
      const t = decodeToken(v.replay);
      expect(t.scenario).toBe(s.name);
      expect(t.config).toMatchObject({
        memoryModel: model,
        wakeSemantics,
        cpus: s.config?.cpus,
        timed: false,
      });
      const again = runScenario(s, { config: t.config, chooser: replay(t.choices) });
      const same = again.violations.find((x) => x.kind === want);
      expect(same?.message).toBe(v.message);
      if (want === 'hang') expect(again.status).toBe('hang');
    });
  },
);

describe('what the races need', () => {
  it('the racy waitqueue_active() code only hangs when stores can be reordered after loads', () => {
    // wq-active-race's code is wq-active-sc's: the same code is clean under sc, hangs under tso.
    expect(explore(wqActiveRace, { config: { memoryModel: 'sc' } })).toMatchObject({
      complete: true,
      violations: [],
    });
    expect(explore(wqActiveSc, { config: { memoryModel: 'tso' } }).violations[0]?.kind).toBe('hang');
  });

  it('smp_mb and wq_has_sleeper stay clean under the weaker pso model too; smp_wmb still hangs', () => {
    for (const s of [wqActiveMb, wqHasSleeper]) {
      expect(explore(s, { config: { memoryModel: 'pso' } })).toMatchObject({
        complete: true,
        violations: [],
      });
    }
    expect(explore(wqActiveWmb, { config: { memoryModel: 'pso' } }).violations[0]?.kind).toBe('hang');
  });

  it("the sleep_on race is a lost wake-up between the waiter's test and its queueing", () => {
    const r = explore(sleepOnRace, {});
    const t = decodeToken(r.violations[0]!.replay);
    const run = runScenario(sleepOnRace, { config: t.config, chooser: replay(t.choices), keepTrace: true });
    const at = (pred: (e: (typeof run.events)[number]) => boolean) => run.events.findIndex(pred);
    const waiterReadsCond = at((e) => e.kind === 'mem.load' && e.pid === 2);
    const wakerTakesLock = at((e) => e.kind === 'lock.acquire' && e.pid === 1);
    const waiterQueues = at((e) => e.kind === 'wq.add');
    // The waiter read cond == 0; the waker then took the queue lock and found nobody to wake;
    // only then did the waiter queue itself (inside sleep_on) and sleep.
    expect(waiterReadsCond).toBeGreaterThanOrEqual(0);
    expect(wakerTakesLock).toBeGreaterThan(waiterReadsCond);
    expect(waiterQueues).toBeGreaterThan(wakerTakesLock);
    expect(run.events.some((e) => e.kind === 'sched.wakeup')).toBe(false);
  });

  it('the lock inversion also deadlocks for real in some interleavings', () => {
    const r = explore(wqFuncLockInversion, { stopOnFirst: false, minimize: false });
    expect(r.complete).toBe(true);
    expect(r.stateKeys.some((k) => k.startsWith('done|lock-validator'))).toBe(true);
    expect(r.stateKeys.some((k) => k.startsWith('hang|'))).toBe(true);
  });
});

describe('wq-exclusive', () => {
  it.each(['2.4-aio', 'modern'] as const)(
    'its final check passes under %s semantics',
    (ws: WakeSemantics) => {
      const r = runScenario(wqExclusive, { config: { wakeSemantics: ws } });
      expect(r.status).toBe('done');
      expect(r.violations).toEqual([]);
      expect(r.state).toEqual({ log: 'n1,n2,x1|n1,n2,x1,x2,x3|n1,n2,x1,x2,x3,x4' });
    },
  );
});

describe('fast-check strategy', () => {
  it.each([1, 2, 3])(
    'finds the wq-active-race hang and shrinks it to at most 2 preemptions (seed %i)',
    (seed) => {
      const r = explore(wqActiveRace, { strategy: 'fast-check', seed });
      expect(r.violations.length).toBe(1);
      const v = r.violations[0]!;
      expect(v.kind).toBe('hang');
      expect(v.preemptions).toBeLessThanOrEqual(2);
      expect(v.choicesAfter).toBeLessThanOrEqual(v.choicesBefore);
      const t = decodeToken(v.replay);
      const again = runScenario(wqActiveRace, { config: t.config, chooser: replay(t.choices) });
      expect(again.status).toBe('hang');
      expect(again.violations[0]!.message).toBe(v.message);
    },
  );

  it('finds nothing in the fixed version', () => {
    const r = explore(wqHasSleeper, { strategy: 'fast-check', seed: 1, runs: 200 });
    expect(r.violations).toEqual([]);
    expect(r.explored).toBe(200);
  });
});

describe('CLI: explore --json, then replay the token', () => {
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

  it('aiosim explore wq-active-race --strategy exhaustive --json finds a hang; aiosim replay shows it', async () => {
    const io = capture();
    expect(await main(['explore', 'wq-active-race', '--strategy', 'exhaustive', '--json'], io)).toBe(1);
    const report = JSON.parse(io.text()) as {
      scenario: string;
      violations: { kind: string; replay: string; preemptions: number }[];
    };
    expect(report.scenario).toBe('wq-active-race');
    expect(report.violations[0]!.kind).toBe('hang');
    const token = report.violations[0]!.replay;
    expect(token).toMatch(/^aiosim2\.wq-active-race\.c2-tso-w24-u\./);

    const shown = capture();
    expect(await main(['replay', token, '--width', '30'], shown)).toBe(1);
    const text = shown.text();
    expect(text).toContain('replay of wq-active-race (2 CPUs, tso)');
    expect(text).toMatch(/CPU0 \(waker\)\s+\| CPU1 \(waiter\)/);
    expect(text).toContain('READ_ONCE wq.active -> 0');
    expect(text).toContain('READ_ONCE cond -> 0');
    expect(text).toContain('status: hang');
    expect(text).toMatch(/VIOLATION \(hang\)[\s\S]*waiter \(pid 2\) sleeps in TASK_UNINTERRUPTIBLE on wq:wq/);

    const json = capture();
    expect(await main(['replay', token, '--json'], json)).toBe(1);
    expect(JSON.parse(json.text())).toMatchObject({
      scenario: 'wq-active-race',
      status: 'hang',
      state: { woke: false },
    });
  });

  it('aiosim explore of a fixed scenario exits 0 and reports complete', async () => {
    const io = capture();
    expect(await main(['explore', 'wq-has-sleeper', '--json'], io)).toBe(0);
    expect(JSON.parse(io.text())).toMatchObject({ complete: true, violations: [] });
  });
});
