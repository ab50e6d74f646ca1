/**
 * Tests of the `aiosim` command through `main(argv, io)` with a capturing io: `list`, `run`,
 * `demo`, `explore` and `replay`, the JSON shapes of each command, the exit statuses (0 clean, 1 violation,
 * 2 bad usage), `--trace` writing a valid Chrome trace, `--shard`/`--workers` and
 * `--check-determinism`.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { runWithSchedule } from '../../src/check/fc.js';
import { encodeToken } from '../../src/check/token.js';
import { DEFAULT_KERNEL_CONFIG } from '../../src/kernel/kernel.js';
import { findScenario, scenarios } from '../../src/scenarios/index.js';
import { validateChromeTrace } from '../../src/trace/validate.js';
import { cli, type Ran } from './in-process.js';

/** Parses stdout as exactly one JSON object (one line). */
function json(r: Ran): Record<string, unknown> {
  const lines = r.out.trimEnd().split('\n');
  expect(lines).toHaveLength(1);
  const v = JSON.parse(lines[0]!) as unknown;
  expect(typeof v).toBe('object');
  return v as Record<string, unknown>;
}

const tsoConfig = { ...DEFAULT_KERNEL_CONFIG, memoryModel: 'tso' as const, timed: false };
/** The token of sb-mb's run without preemptions (clean). */
const cleanToken = () => runWithSchedule(findScenario('sb-mb')!, []).replay;

const dir = mkdtempSync(join(tmpdir(), 'aiosim-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('aiosim list', () => {
  it('prints every scenario, one a line, each line starting with its name', async () => {
    const r = await cli('list');
    expect(r.code).toBe(0);
    const lines = r.out.trimEnd().split('\n');
    expect(lines).toHaveLength(scenarios.length);
    lines.forEach((line, i) => {
      expect(line.startsWith(`${scenarios[i]!.name} `)).toBe(true);
    });
  });

  it('--json lists names and titles', async () => {
    const j = json(await cli('list', '--json'));
    const list = j.scenarios as { name: string; title: string }[];
    expect(list.map((s) => s.name)).toEqual(scenarios.map((s) => s.name));
  });
});

describe('aiosim run', () => {
  it('run hello-sleep --json: scenario, seed, simTimeNs, steps, violations, stats', async () => {
    const r = await cli('run', 'hello-sleep', '--json');
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j.scenario).toBe('hello-sleep');
    expect(typeof j.seed).toBe('number');
    expect(j.simTimeNs).toBe(3_000_000);
    expect(typeof j.steps).toBe('number');
    expect(j.steps as number).toBeGreaterThan(0);
    expect(j.violations).toEqual([]);
    expect(typeof j.stats).toBe('object');
    expect(j.stats).not.toBeNull();
  });

  it('exit 1 and the violation in the JSON when the run shows one', async () => {
    // wq-active-race's demo seed shows the lost wake-up.
    const r = await cli('run', 'wq-active-race', '--json');
    expect(r.code).toBe(1);
    const v = json(r).violations as { kind: string; message: string }[];
    expect(v[0]!.kind).toBe('hang');
  });

  it('--trace writes a Chrome trace that validates', async () => {
    const file = join(dir, 'run.json');
    const r = await cli('run', 'sb', '--seed', '3', '--trace', file);
    expect(r.code === 0 || r.code === 1).toBe(true);
    expect(r.out).toContain('sb:');
    const trace = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    expect(validateChromeTrace(trace)).toEqual([]);
  });

  it('--cpus and --memory-model are applied', async () => {
    const j = json(await cli('run', 'sb', '--json', '--cpus', '3', '--memory-model', 'sc'));
    expect(j.config).toMatchObject({ cpus: 3, memoryModel: 'sc' });
  });
});

describe('a hang report', () => {
  it('names its kind once, in the CPU view and under VIOLATION', async () => {
    const r = await cli('run', 'wq-active-race');
    expect(r.code).toBe(1);
    expect(r.out).not.toContain('hang: hang:');
    expect(r.out).toContain('!! hang: no task can make progress');
    expect(r.out).toContain('VIOLATION (hang) at step 9:\nno task can make progress');
  });
});

describe('aiosim demo (npm start)', () => {
  it('shows how to read a run with hello-sleep, then the lost wake-up, and exits 0 when it shows it', async () => {
    const r = await cli('demo');
    expect(r.code).toBe(0);
    const intro = r.out.indexOf('hello-sleep: ');
    const race = r.out.indexOf('wq-active-race: ');
    expect(intro).toBeGreaterThanOrEqual(0);
    expect(race).toBeGreaterThan(intro);
    // hello-sleep's run, CPU by CPU: the sleep, the early wake-up, 7 ms left of the 10.
    const part1 = r.out.slice(intro, race);
    expect(part1).toContain('step | CPU0 (sleeper)');
    expect(part1).toContain('wake_up_process(sleeper)');
    expect(part1).toContain('woken with 7 ms left');
    expect(part1).toContain('status: done');
    expect(part1).not.toContain('VIOLATION');
    const part2 = r.out.slice(race);
    expect(part2).toContain('VIOLATION (hang)');
    expect(part2).toContain('What happened');
  });

  it("--json prints the demo scenario's object alone, and exits 0 as the demo does", async () => {
    const r = await cli('demo', '--json');
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j.scenario).toBe('wq-active-race');
    expect((j.violations as { kind: string }[])[0]!.kind).toBe('hang');
  });

  it('under sc tells that no wake-up was lost, instead of a store-buffer race that did not happen', async () => {
    const r = await cli('demo', '--memory-model', 'sc');
    expect(r.code).toBe(0);
    const part2 = r.out.slice(r.out.indexOf('wq-active-race: '));
    expect(part2).not.toContain('VIOLATION');
    expect(part2).toContain('no wake-up was lost');
    expect(part2).not.toContain('still in its store buffer');
  });

  it('with a seed that does not lose the wake-up says so, and exits 0', async () => {
    const r = await cli('demo', '--seed', '3');
    expect(r.code).toBe(0);
    const part2 = r.out.slice(r.out.indexOf('wq-active-race: '));
    expect(part2).not.toContain('VIOLATION');
    expect(part2).toContain('no wake-up was lost');
    expect(part2).toContain('seed 3');
  });
});

describe('aiosim help', () => {
  it("help <command> prints that command's options and exits 0", async () => {
    const lines: string[] = [];
    const info = console.info;
    console.info = (s: string) => lines.push(s);
    try {
      expect((await cli('help', 'explore')).code).toBe(0);
      expect((await cli('help')).code).toBe(0);
    } finally {
      console.info = info;
    }
    expect(lines[0]).toContain('$ aiosim explore <scenario>');
    expect(lines[0]).toContain('--pct-depth');
    expect(lines[1]).toContain('Commands:');
  });

  it('help of an unknown command exits 2 naming it', async () => {
    const r = await cli('help', 'frob');
    expect(r.code).toBe(2);
    expect(r.err).toBe("aiosim: help: unknown command 'frob' (see 'aiosim help')\n");
  });
});

describe('bad usage exits 2', () => {
  const cases: [string, string[], RegExp][] = [
    ['unknown scenario', ['run', 'no-such-thing'], /unknown scenario 'no-such-thing'/],
    ['unknown flag', ['run', 'hello-sleep', '--bogus'], /bogus/],
    ['unknown command', ['frobnicate'], /unknown command/],
    ['explore: unknown scenario', ['explore', 'nope', '--json'], /unknown scenario/],
    ['explore: bad strategy', ['explore', 'sb', '--strategy', 'zzz'], /--strategy/],
    ['explore: bad shard', ['explore', 'sb', '--shard', '2/2'], /--shard/],
    ['explore: malformed shard', ['explore', 'sb', '--shard', 'half'], /--shard/],
    ['explore: bad runs', ['explore', 'sb', '--runs', '0'], /--runs/],
    ['explore: bad memory model', ['explore', 'sb', '--memory-model', 'arm'], /--memory-model/],
    [
      'explore: fast-check with workers',
      ['explore', 'sb', '--strategy', 'fast-check', '--workers', '2'],
      /workers/,
    ],
    ['run: bad seed', ['run', 'sb', '--seed', 'abc'], /--seed/],
    ['replay: not a token', ['replay', 'garbage'], /not a replay token/],
    [
      'replay: unknown scenario',
      ['replay', encodeToken('nope', DEFAULT_KERNEL_CONFIG, [])],
      /unknown scenario 'nope'/,
    ],
    ['replay: an old token', ['replay', 'aiosim1.sb-mb.c2-tso-w24-u.'], /replaced 'aiosim1'/],
    ['replay: a tampered token', ['replay', cleanToken().replace('.c2-', '.c3-')], /checksum mismatch/],
    ['replay: a truncated token', ['replay', cleanToken().slice(0, -3)], /checksum mismatch/],
    [
      'replay: a token whose choices do not fit',
      ['replay', encodeToken('sb-mb', tsoConfig, [0])],
      /replay of sb-mb diverged: the run asked for choice 2/,
    ],
  ];
  for (const [what, argv, msg] of cases) {
    it(what, async () => {
      const r = await cli(...argv);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(msg);
    });
  }
  it('no command at all', async () => {
    expect((await cli()).code).toBe(2);
  });
});

describe('aiosim explore', () => {
  it('--json on a violation: exit 1, each violation with kind, message, replay', async () => {
    const r = await cli('explore', 'sb', '--json');
    expect(r.code).toBe(1);
    const j = json(r);
    expect(j.scenario).toBe('sb');
    expect(j.strategy).toBe('exhaustive');
    expect(typeof j.explored).toBe('number');
    expect(typeof j.elapsedMs).toBe('number');
    expect(typeof j.complete).toBe('boolean');
    const vs = j.violations as { kind: string; message: string; replay: string; preemptions: number }[];
    expect(vs.length).toBeGreaterThan(0);
    for (const v of vs) {
      expect(['hang', 'invariant', 'lock-validator', 'bug']).toContain(v.kind);
      expect(typeof v.message).toBe('string');
      expect(v.replay).toMatch(/^aiosim2\.sb\./);
      expect(typeof v.preemptions).toBe('number');
    }
    const cov = j.coverage as Record<string, number>;
    expect(Object.keys(cov)).toEqual(
      expect.arrayContaining(['distinctSchedules', 'distinctFinalStates', 'longestRun']),
    );
  });

  it('--json on a clean scenario: exit 0, complete, no violations', async () => {
    const r = await cli('explore', 'sb-mb', '--strategy', 'exhaustive', '--json');
    expect(r.code).toBe(0);
    const j = json(r);
    expect(j.complete).toBe(true);
    expect(j.violations).toEqual([]);
    expect(j.explored as number).toBeGreaterThan(0);
    expect(j).not.toHaveProperty('stateKeys');
  });

  it('every strategy finds the lost update and prints a token (human output)', async () => {
    for (const s of ['exhaustive', 'random', 'pct', 'fast-check']) {
      const seed = s === 'exhaustive' ? [] : ['--seed', '2'];
      const r = await cli('explore', 'lost-update', '--strategy', s, ...seed);
      expect(r.code, s).toBe(1);
      expect(r.out).toMatch(/VIOLATION \(invariant\), [12] preemption\(s\)/);
      expect(r.out).toMatch(/replay: aiosim replay aiosim2\.lost-update\./);
    }
  });

  it('--check-determinism replays each failure and reports identical traces', async () => {
    const j = json(
      await cli('explore', 'lost-update', '--strategy', 'random', '--json', '--check-determinism'),
    );
    const d = j.determinism as { identical: boolean; events: number; replay: string }[];
    expect(d.length).toBe((j.violations as unknown[]).length);
    expect(d.every((x) => x.identical && x.events > 0)).toBe(true);
  });

  it('--shard 0/2 and 1/2 add up to the whole search', async () => {
    const whole = json(await cli('explore', 'wq-active-mb', '--json'));
    const a = json(await cli('explore', 'wq-active-mb', '--json', '--shard', '0/2'));
    const b = json(await cli('explore', 'wq-active-mb', '--json', '--shard', '1/2'));
    expect((a.explored as number) + (b.explored as number)).toBe(whole.explored);
    expect(a.shard).toEqual({ index: 0, count: 2 });
  });

  it('--all keeps going after the first violation; --no-minimize reports schedules as found', async () => {
    const j = json(
      await cli('explore', 'lost-update', '--json', '--all', '--no-minimize', '--preemption-bound', '2'),
    );
    const vs = j.violations as { choicesBefore: number; choicesAfter: number }[];
    expect(vs.length).toBeGreaterThan(1);
    expect(vs.every((v) => v.choicesAfter === v.choicesBefore)).toBe(true);
    expect((j.bounds as { preemptionBound: number }).preemptionBound).toBe(2);
  });
});

describe('aiosim replay', () => {
  it('reproduces a violation found by explore and exits 1; --trace writes a valid trace', async () => {
    const ex = json(await cli('explore', 'lost-update', '--strategy', 'fast-check', '--json'));
    const v = (ex.violations as { replay: string; message: string }[])[0]!;
    const file = join(dir, 'replay.json');
    const r = await cli('replay', v.replay, '--json', '--trace', file);
    expect(r.code).toBe(1);
    const j = json(r);
    expect(j.scenario).toBe('lost-update');
    expect((j.violations as { message: string }[])[0]!.message).toBe(v.message);
    expect(j.state).toEqual({ x: 1 });
    expect(validateChromeTrace(JSON.parse(readFileSync(file, 'utf8')))).toEqual([]);
    // The human view shows the same failure.
    const h = await cli('replay', v.replay);
    expect(h.code).toBe(1);
    expect(h.out).toContain('lost update: x = 1');
  });

  it('a token of a clean run exits 0', async () => {
    const r = await cli('replay', cleanToken());
    expect(r.code).toBe(0);
    expect(r.out).toContain('status: done');
  });
});
