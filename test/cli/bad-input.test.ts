/**
 * Bad command-line input, run through the built command (`bin/aiosim.js`, as a user runs it,
 * so a fatal V8 error or an uncaught exception would show): every invocation exits 2 with
 * exactly one line on stderr naming the problem, and no stack trace. The catalogue's minimum
 * CPU counts are exact: each scenario sets up on that many CPUs and not on one fewer.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { minCpusOf } from '../../src/cli/args.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { scenarios } from '../../src/scenarios/index.js';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
const BIN = join(ROOT, 'bin/aiosim.js');
const dir = mkdtempSync(join(tmpdir(), 'aiosim-bad-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

function litmusFile(name: string, body: string, cond = 'exists (x=1)'): string {
  const f = join(dir, `${name}.litmus`);
  writeFileSync(f, `C ${name}\n{\n\tint x;\n}\nP0(int *x, spinlock_t *l)\n{\n${body}\n}\n${cond}\n`);
  return f;
}

const unlockFree = litmusFile('unlock-free', '\tWRITE_ONCE(*x, 1);\n\tspin_unlock(l);');
const parens = litmusFile('parens', `\tWRITE_ONCE(*x, ${'('.repeat(5000)}1${')'.repeat(5000)});`);
const ifs = litmusFile('ifs', `${'\tif (1) {\n'.repeat(3000)}\tWRITE_ONCE(*x, 1);\n${'\t}\n'.repeat(3000)}`);
const ors = litmusFile('ors', '\tWRITE_ONCE(*x, 1);', `exists (x=1${' \\/ x=1'.repeat(5000)})`);

/** What, the arguments, and a pattern the one stderr line must match. */
const CASES: [string, string[], RegExp][] = [
  [
    '--cpus 0',
    ['run', 'hello-sleep', '--cpus', '0'],
    /^aiosim: --cpus must be an integer from 1 to 64, got '0'$/,
  ],
  ['--cpus 65', ['run', 'hello-sleep', '--cpus', '65'], /--cpus .* to 64, got '65'/],
  ['--cpus 1e3', ['explore', 'sb', '--cpus', '1e3'], /--cpus .* got '1000'/],
  ['--cpus -1', ['run', 'sb', '--cpus', '-1'], /--cpus .* got '-1'/],
  ['--cpus abc', ['run', 'sb', '--cpus', 'abc'], /--cpus .* got 'abc'/],
  [
    '--cpus below the scenario minimum (run)',
    ['run', 'wq-active-race', '--cpus', '1'],
    /scenario 'wq-active-race' needs at least 2 CPUs/,
  ],
  [
    '--cpus below the scenario minimum (explore)',
    ['explore', 'sb', '--cpus', '1'],
    /scenario 'sb' needs at least 2 CPUs/,
  ],
  ['--cpus below the scenario minimum (demo)', ['demo', '--cpus', '1'], /needs at least 2 CPUs/],
  ['--trace to a directory', ['run', 'hello-sleep', '--trace', dir], /--trace .*: is a directory/],
  [
    '--html to a directory',
    ['replay', 'aiosim2.sb.c2-tso-w24-u.3.AAAA.YD7Ydua5', '--html', dir],
    /--html .*: is a directory/,
  ],
  [
    '--trace in a missing directory',
    ['run', 'hello-sleep', '--trace', join(dir, 'no/such/t.json')],
    /--trace .*cannot write in/,
  ],
  [
    '--html to an unwritable place',
    ['run', 'hello-sleep', '--html', '/proc/aiosim.html'],
    /--html \/proc\/aiosim.html: /,
  ],
  ['--trace twice', ['run', 'hello-sleep', '--trace', 'a', '--trace', 'b'], /--trace given more than once/],
  ['--width 1e9', ['run', 'hello-sleep', '--width', '1e9'], /--width must be an integer from 8 to 1000/],
  ['--width 3', ['replay', 'aiosim2.sb.c2-tso-w24-u.3.AAAA.YD7Ydua5', '--width', '3'], /--width/],
  [
    '--pct-depth 1e9',
    ['explore', 'sb', '--strategy', 'pct', '--pct-depth', '1e9'],
    /--pct-depth must be an integer from 1 to 100/,
  ],
  ['--pct-depth 0', ['explore', 'sb', '--strategy', 'pct', '--pct-depth', '0'], /--pct-depth/],
  ['--workers 0', ['explore', 'sb', '--workers', '0'], /--workers must be an integer >= 1/],
  ['--workers 1.5', ['explore', 'sb', '--workers', '1.5'], /--workers/],
  [
    '--seed -1',
    ['run', 'hello-sleep', '--seed', '-1'],
    /^aiosim: --seed must be an integer from 0 to 4294967295, got '-1'$/,
  ],
  [
    '--seed 2^32',
    ['explore', 'sb', '--strategy', 'random', '--seed', '4294967296'],
    /--seed .* got '4294967296'/,
  ],
  ['--seed 1.5', ['run', 'sb', '--seed', '1.5'], /--seed/],
  ['--seed twice', ['run', 'sb', '--seed', '1', '--seed', '2'], /--seed given more than once/],
  ['--seed without a value', ['run', 'sb', '--seed'], /--seed <n>` value is missing/],
  ['--seed= (empty)', ['run', 'sb', '--seed='], /--seed/],
  ['--runs 0', ['explore', 'sb', '--runs', '0'], /--runs must be an integer >= 1, got '0'/],
  ['--runs -5', ['explore', 'sb', '--runs', '-5'], /--runs .* got '-5'/],
  ['--runs 2.5', ['explore', 'sb', '--runs', '2.5'], /--runs .* got '2.5'/],
  ['--runs ten', ['explore', 'sb', '--runs', 'ten'], /--runs .* got 'ten'/],
  ['--max-steps 0 (run)', ['run', 'sb', '--max-steps', '0'], /--max-steps/],
  ['--max-steps -1 (explore)', ['explore', 'sb', '--max-steps', '-1'], /--max-steps .* got '-1'/],
  ['--preemption-bound -1', ['explore', 'sb', '--preemption-bound', '-1'], /--preemption-bound/],
  [
    'unknown --memory-model',
    ['run', 'sb', '--memory-model', 'arm'],
    /--memory-model must be one of sc, tso, pso, invq, got 'arm'/,
  ],
  ['unknown --memory-model (litmus)', ['litmus', unlockFree, '--memory-model', 'x'], /--memory-model/],
  ['unknown strategy', ['explore', 'sb', '--strategy', 'dfs'], /--strategy must be one of .*, got 'dfs'/],
  ['strategy without a value', ['explore', 'sb', '--strategy'], /--strategy/],
  ['unknown scenario', ['run', 'nope'], /unknown scenario 'nope'/],
  ['unknown scenario (explore)', ['explore', 'nope'], /unknown scenario 'nope'/],
  ['run without a scenario', ['run'], /missing required args for command `run <scenario>`/],
  ['replay without a token', ['replay'], /missing required args/],
  ['litmus without a file', ['litmus'], /name at least one/],
  ['litmus of a missing file', ['litmus', join(dir, 'none.litmus')], /cannot read/],
  ['unknown flag', ['run', 'sb', '--bogus'], /Unknown option `--bogus`/],
  ['unknown short flag', ['explore', 'sb', '-q'], /Unknown option `-q`/],
  ['unknown command', ['frob'], /unknown command 'frob'/],
  ['help of an unknown command', ['help', 'frob'], /help: unknown command 'frob'/],
  ['bad --shard', ['explore', 'sb', '--shard', '3/2'], /--shard/],
  ['not a token', ['replay', 'garbage'], /not a replay token/],
  [
    'litmus: unlock of a lock not held',
    ['litmus', unlockFree],
    /unlock-free.litmus:8: P0 unlocks 'l', which it does not hold/,
  ],
  ['litmus: 5,000 nested parentheses', ['litmus', parens], /parens.litmus:7:\d+: too deeply nested at '\('/],
  ['litmus: 3,000 nested ifs', ['litmus', ifs], /ifs.litmus:\d+:\d+: too deeply nested/],
  ['litmus: 5,000 conditions', ['litmus', ors], /ors.litmus:\d+:\d+: too deeply nested at '\\\/'/],
];

describe('bad input through the built CLI: exit 2, one line, no stack trace', () => {
  for (const [what, argv, msg] of CASES) {
    it(what, () => {
      const r = spawnSync(process.execPath, [BIN, ...argv], { cwd: ROOT, encoding: 'utf8', timeout: 60_000 });
      const lines = r.stderr.split('\n').filter((l) => l !== '');
      expect(lines.filter((l) => l.startsWith('    at '))).toEqual([]);
      expect(lines).toHaveLength(1);
      expect(lines[0]).toMatch(msg);
      expect(lines[0]!.startsWith('aiosim: ')).toBe(true);
      expect(r.status).toBe(2);
    });
  }

  it('--workers beyond the cores is capped, with a note, and the search runs', () => {
    const r = spawnSync(
      process.execPath,
      [
        BIN,
        'explore',
        'sb-mb',
        '--strategy',
        'random',
        '--runs',
        '20',
        '--workers',
        '999',
        '--json',
        '--quiet',
      ],
      { cwd: ROOT, encoding: 'utf8', timeout: 60_000 },
    );
    expect(r.stderr).toMatch(/^aiosim: --workers 999 capped to \d+, the cores available\n$/);
    // Clean, but a random search is a sample: incomplete.
    expect(r.status).toBe(3);
    expect((JSON.parse(r.stdout) as { explored: number }).explored).toBe(20);
  });

  it('a negative number after a value-taking flag is its value, not a flag', () => {
    const r = spawnSync(process.execPath, [BIN, 'run', 'sb', '--seed', '-0', '--json'], {
      cwd: ROOT,
      encoding: 'utf8',
    });
    expect(r.status).toBe(0);
    expect((JSON.parse(r.stdout) as { seed: number }).seed).toBe(0);
  });
});

describe('the catalogue says how many CPUs each scenario needs', () => {
  for (const s of scenarios) {
    const need = minCpusOf(s);
    it(`${s.name} sets up on ${need} CPU(s)${need > 1 ? ` and not on ${need - 1}` : ''}`, () => {
      expect(() => s.setup(new Kernel({ ...s.config, cpus: need, irqAffinity: 0 }))).not.toThrow();
      if (need > 1) {
        expect(() => s.setup(new Kernel({ ...s.config, cpus: need - 1, irqAffinity: 0 }))).toThrow(
          /does not exist/,
        );
      }
    });
  }
});
