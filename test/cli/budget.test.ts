/**
 * Budgets and verdicts of `aiosim explore` and `aiosim litmus`: a search cut by anything is
 * "clean but incomplete" with exit status 3, `--time-limit` stops a search (in worker threads
 * too) and reports what it covered, progress goes to stderr at most every 2 s unless
 * `--quiet`, and Ctrl-C (a real SIGINT sent to a spawned CLI) prints the partial report and
 * exits 130.
 */
import { spawn } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { cli } from './in-process.js';

/** A search far too big to finish: wtd-lock-page with a high preemption bound. */
const BIG = ['explore', 'wtd-lock-page', '--preemption-bound', '9'];

describe('verdicts and exit statuses', () => {
  it('aio-raid0: one execution cut by the step bound is clean but incomplete, exit 3', async () => {
    const r = await cli('explore', 'aio-raid0', '--quiet');
    expect(r.code).toBe(3);
    expect(r.out).toContain(
      'verdict: clean but incomplete (cut by the step bound (10000 steps) in some execution)',
    );
    expect(r.out).not.toContain('whole space');
    const j = await cli('explore', 'aio-raid0', '--json');
    expect(j.code).toBe(3);
    expect(JSON.parse(j.out)).toMatchObject({ verdict: 'clean-incomplete', cutBy: ['max-steps'] });
  });

  it('a complete clean search exits 0; a preemption bound that cut it, 3; sampling, 3', async () => {
    const clean = await cli('explore', 'sb-mb');
    expect(clean.code).toBe(0);
    expect(clean.out).toContain('verdict: clean and complete (the whole space was covered)');
    const bounded = await cli('explore', 'wq-active-mb', '--preemption-bound', '0', '--json');
    expect(bounded.code).toBe(3);
    expect(JSON.parse(bounded.out)).toMatchObject({
      verdict: 'clean-incomplete',
      complete: true,
      cutBy: ['preemption-bound'],
    });
    for (const s of ['random', 'pct', 'fast-check']) {
      const r = await cli('explore', 'sb-mb', '--strategy', s, '--runs', '20');
      expect(r.code, s).toBe(3);
      expect(r.out).toContain(`sampling (${s} never covers the whole space)`);
    }
  });

  it('--shard says this shard was covered, not the whole space', async () => {
    const r = await cli('explore', 'sb-mb', '--shard', '0/2');
    expect(r.code).toBe(0);
    expect(r.out).toContain('verdict: clean and complete (this shard was covered)');
  });

  it('--all reports a violation once per distinct minimised token, with a count', async () => {
    const r = await cli('explore', 'lost-update', '--all', '--json');
    expect(r.code).toBe(1);
    const j = JSON.parse(r.out) as { violations: { replay: string; count: number }[] };
    expect(new Set(j.violations.map((v) => v.replay)).size).toBe(j.violations.length);
    expect(j.violations[0]!.count).toBe(2);
    const h = await cli('explore', 'lost-update', '--all');
    expect(h.out.match(/VIOLATION/g)).toHaveLength(1);
    expect(h.out).toContain('(found 2 times)');
  });

  const refused: [string[], RegExp][] = [
    [['--strategy', 'random', '--preemption-bound', '2'], /--preemption-bound does not apply to the random/],
    [['--strategy', 'pct', '--preemption-bound', '2'], /--preemption-bound does not apply to the pct/],
    [['--pct-depth', '2'], /--pct-depth does not apply to the exhaustive/],
    [['--strategy', 'random', '--pct-depth', '2'], /--pct-depth does not apply to the random/],
    [['--seed', '3'], /--seed does not apply to the exhaustive/],
    [['--time-limit', 'abc'], /--time-limit must be a number of seconds/],
    [['--time-limit', '1e9'], /--time-limit must be a number of seconds from 0 \(none\) to 1e7/],
  ];
  for (const [flags, msg] of refused) {
    it(`refuses ${flags.join(' ')} with exit 2`, async () => {
      const r = await cli('explore', 'lost-update', ...flags);
      expect(r.code).toBe(2);
      expect(r.out).toBe('');
      expect(r.err).toMatch(msg);
      expect(r.err.trimEnd().split('\n')).toHaveLength(1);
    });
  }
});

describe('--time-limit', () => {
  it('stops the search, reports what it covered, exit 3, with progress on a non-TTY stderr', async () => {
    const t0 = Date.now();
    const r = await cli(...BIG, '--time-limit', '2.5');
    expect(Date.now() - t0).toBeLessThan(8000);
    expect(r.code).toBe(3);
    expect(r.out).toMatch(/executions: [1-9]\d*/);
    expect(r.out).toContain('clean but incomplete (cut by the time limit');
    // At most one line per 2 s.
    const lines = r.err.trimEnd().split('\n');
    expect(lines.length).toBeGreaterThanOrEqual(1);
    expect(lines.length).toBeLessThanOrEqual(2);
    expect(lines[0]).toMatch(/^explore wtd-lock-page: \d+ executions, 0 violations, \d+\/s, \d+ s$/);
  });

  it('--quiet silences progress; the JSON report names the cut', async () => {
    const r = await cli(...BIG, '--time-limit', '0.3', '--quiet', '--json');
    expect(r.code).toBe(3);
    expect(r.err).toBe('');
    expect(JSON.parse(r.out)).toMatchObject({ verdict: 'clean-incomplete', complete: false });
    expect((JSON.parse(r.out) as { cutBy: string[] }).cutBy).toContain('time-limit');
  });

  it('worker threads honour it too', async () => {
    const t0 = Date.now();
    const r = await cli(...BIG, '--time-limit', '3', '--workers', '2', '--quiet', '--json');
    expect(Date.now() - t0).toBeLessThan(12_000);
    expect(r.code).toBe(3);
    const j = JSON.parse(r.out) as { cutBy: string[]; explored: number };
    expect(j.cutBy).toContain('time-limit');
    expect(j.explored).toBeGreaterThan(0);
  });

  it('litmus: a search cut by the time limit is incomplete, exit 3', async () => {
    const mp = new URL('../litmus/MP+poonceonces.litmus', import.meta.url).pathname;
    expect((await cli('litmus', mp)).code).toBe(0);
    // DCL-fixed needs 58 executions, tens of milliseconds: far more than 1 ms.
    const file = new URL('../litmus/DCL-fixed.litmus', import.meta.url).pathname;
    const r = await cli('litmus', file, '--time-limit', '0.001');
    expect(r.code).toBe(3);
    expect(r.out).toContain('incomplete (cut by the time limit)');
  });
});

describe('Ctrl-C', () => {
  it('a SIGINT prints the partial report and exits 130', async () => {
    const entry = new URL('../../src/cli/main.ts', import.meta.url).href;
    const code = `import { main } from ${JSON.stringify(entry)}; process.exitCode = await main(process.argv.slice(1));`;
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', code, ...BIG, '--time-limit', '0'],
      { stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let out = '';
    let err = '';
    let sent = false;
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
    });
    // The first progress line says the search is under way: interrupt it then.
    child.stderr.on('data', (d: Buffer) => {
      err += d.toString();
      if (!sent && err.includes('executions,')) {
        sent = true;
        child.kill('SIGINT');
      }
    });
    const status = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    expect(status).toBe(130);
    expect(out).toMatch(/executions: [1-9]\d*/);
    expect(out).toContain('clean but incomplete (cut by Ctrl-C, the preemption bound (9))');
    expect(err).toContain('interrupted');
  }, 30_000);
});
