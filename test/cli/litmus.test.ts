import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli/main.js';

function capture() {
  let out = '';
  let err = '';
  return {
    io: { out: (s: string) => (out += s), err: (s: string) => (err += s), isTTY: false },
    get out() {
      return out;
    },
    get err() {
      return err;
    },
  };
}

describe('aiosim litmus', () => {
  it('prints one JSON object with verdict, states, executions and complete per file', async () => {
    const c = capture();
    const code = await main(
      ['litmus', 'test/litmus/SB+poonceonces.litmus', 'test/litmus/SB+fencembonceonces.litmus', '--json'],
      c.io,
    );
    expect(code).toBe(0);
    const j = JSON.parse(c.out) as {
      results: {
        name: string;
        verdict: string;
        states: Record<string, number>[];
        executions: number;
        complete: boolean;
      }[];
    };
    expect(j.results.map((r) => [r.name, r.verdict])).toEqual([
      ['SB+poonceonces', 'Sometimes'],
      ['SB+fencembonceonces', 'Never'],
    ]);
    for (const r of j.results) {
      expect(r.complete).toBe(true);
      expect(r.executions).toBeGreaterThan(0);
      for (const st of r.states) expect(Object.keys(st).sort()).toEqual(['0:r0', '1:r0', 'x', 'y']);
    }
    expect(j.results[0]!.states).toHaveLength(4);
  });

  it('takes --memory-model (SB is Never under sc)', async () => {
    const c = capture();
    expect(
      await main(['litmus', 'test/litmus/SB+poonceonces.litmus', '--memory-model', 'sc', '--json'], c.io),
    ).toBe(0);
    expect(JSON.parse(c.out).results[0].verdict).toBe('Never');
  });

  it('exits 2 and names the line of unparseable input', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'aiosim-litmus-'));
    const f = join(dir, 'bad.litmus');
    writeFileSync(
      f,
      'C bad\n\n{}\n\nP0(int *x)\n{\n\tWRITE_ONCE(*x, 1)\n\tfrobnicate(x);\n}\n\nexists (x=1)\n',
    );
    const c = capture();
    expect(await main(['litmus', f], c.io)).toBe(2);
    expect(c.err).toMatch(/bad\.litmus:\d+:/);
    expect(c.out).toBe('');
  });
});
