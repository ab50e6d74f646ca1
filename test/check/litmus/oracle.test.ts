/**
 * Tests of the reference litmus interpreter: its verdict on every kernel test under sc, tso
 * and pso equals the verdict reasoned out by hand below; SB's final-state sets are exactly
 * right; single features (forwarding, RMW semantics, locks, filter/forall/~exists) behave as
 * specified; and on random programs the models nest (sc ⊆ tso ⊆ pso) and collapse to sc when
 * every statement is followed by smp_mb() (and pso to tso under smp_wmb()).
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { LitmusResult } from '../../../src/check/litmus/ast.js';
import { parseLitmus } from '../../../src/check/litmus/parse.js';
import { type FinalState, type OracleModel, runOracle, stateKey } from './oracle.js';

const LITMUS_DIR = fileURLToPath(new URL('../../litmus/', import.meta.url));
const MODELS: readonly OracleModel[] = ['sc', 'tso', 'pso'];

function loadTest(file: string) {
  return parseLitmus(readFileSync(`${LITMUS_DIR}${file}`, 'utf8'), file);
}

const N = 'Never';
const S = 'Sometimes';

/**
 * Expected verdict per model, reasoned out by hand (kernel `Result:` in the comment):
 * - Under sc no reordering at all: every pattern test below is Never.
 * - tso only lets a store be delayed past later loads of other variables (store buffer): SB
 *   without a full fence is Sometimes; MP, LB, S, CoRR, IRIW (multi-copy atomic) stay Never.
 *   A failing x86 `lock cmpxchg` is still a full barrier, so cmpxchg-fail-unordered-1 is
 *   Never on x86 where LKMM (which also covers weaker CPUs) says Sometimes.
 * - pso also lets stores to different variables drain out of order: MP+poonceonces (flag
 *   drains before buf) and S+poonceonces (y=1 drains, P1 reads it and writes x=1, then P0's
 *   x=2 lands last) become Sometimes. Release stores, smp_wmb and spin_unlock forbid that,
 *   loads still execute in order (LB stays Never), and smp_mb / locked ops drain the buffer.
 * LKMM says Sometimes for LB+poonceonces, MP+poonceonces, S+poonceonces and
 * cmpxchg-fail-unordered-1 because it allows behaviours of weaker architectures (ARM, Power,
 * Alpha) that none of these three models has.
 */
const VERDICTS: Record<
  string,
  { result: LitmusResult; sc: LitmusResult; tso: LitmusResult; pso: LitmusResult }
> = {
  'CoRR+poonceonce+Once.litmus': { result: N, sc: N, tso: N, pso: N },
  'CoWW+poonceonce.litmus': { result: N, sc: N, tso: N, pso: N },
  'DCL-fixed.litmus': { result: N, sc: N, tso: N, pso: N },
  'IRIW+fencembonceonces+OnceOnce.litmus': { result: N, sc: N, tso: N, pso: N },
  'ISA2+pooncelock+pooncelock+pombonce.litmus': { result: N, sc: N, tso: N, pso: N },
  'LB+fencembonceonce+ctrlonceonce.litmus': { result: N, sc: N, tso: N, pso: N },
  'LB+poonceonces.litmus': { result: S, sc: N, tso: N, pso: N },
  'MP+fencewmbonceonce+fencermbonceonce.litmus': { result: N, sc: N, tso: N, pso: N },
  'MP+poonceonces.litmus': { result: S, sc: N, tso: N, pso: S },
  'MP+pooncerelease+poacquireonce.litmus': { result: N, sc: N, tso: N, pso: N },
  'S+poonceonces.litmus': { result: S, sc: N, tso: N, pso: S },
  'SB+fencembonceonces.litmus': { result: N, sc: N, tso: N, pso: N },
  'SB+poonceonces.litmus': { result: S, sc: N, tso: S, pso: S },
  'cmpxchg-fail-unordered-1.litmus': { result: S, sc: N, tso: N, pso: N },
};

/** The final states projected on `keys`, as sorted `k=v` strings. */
function project(states: readonly FinalState[], keys: readonly string[]): string[] {
  return [...new Set(states.map((st) => keys.map((k) => `${k}=${st[k]}`).join(' ')))].sort();
}

describe('kernel litmus tests', () => {
  for (const [file, v] of Object.entries(VERDICTS)) {
    it(`${file}: ${v.result} in LKMM; sc ${v.sc}, tso ${v.tso}, pso ${v.pso}`, () => {
      const t = loadTest(file);
      expect(t.expected).toBe(v.result);
      for (const m of MODELS) {
        const start = performance.now();
        const r = runOracle(t, m);
        const ms = performance.now() - start;
        expect(r.verdict, `${file} under ${m}`).toBe(v[m]);
        expect(r.conditionHolds).toBe(v[m] !== 'Never');
        expect(r.deadlocks).toBe(0);
        expect(r.states.length).toBeGreaterThan(0);
        expect(r.positive + r.negative).toBe(r.states.length);
        expect(ms).toBeLessThan(1000);
      }
    });
  }

  it('SB+poonceonces: exactly three (r0, r1) outcomes under sc and all four under tso and pso', () => {
    const t = loadTest('SB+poonceonces.litmus');
    const sc = runOracle(t, 'sc');
    expect(sc.states.map(stateKey)).toEqual([
      '0:r0=0; 1:r0=1; x=1; y=1',
      '0:r0=1; 1:r0=0; x=1; y=1',
      '0:r0=1; 1:r0=1; x=1; y=1',
    ]);
    const all = [
      '0:r0=0; 1:r0=0; x=1; y=1',
      '0:r0=0; 1:r0=1; x=1; y=1',
      '0:r0=1; 1:r0=0; x=1; y=1',
      '0:r0=1; 1:r0=1; x=1; y=1',
    ];
    expect(runOracle(t, 'tso').states.map(stateKey)).toEqual(all);
    expect(runOracle(t, 'pso').states.map(stateKey)).toEqual(all);
    expect(runOracle(t, 'tso')).toMatchObject({ positive: 1, negative: 3 });
  });

  it('SB+fencembonceonces: the three sc outcomes under every model', () => {
    const t = loadTest('SB+fencembonceonces.litmus');
    for (const m of MODELS)
      expect(project(runOracle(t, m).states, ['0:r0', '1:r0'])).toEqual(
        project(runOracle(t, 'sc').states, ['0:r0', '1:r0']),
      );
  });

  it('MP+poonceonces under pso shows all four (r0, r1) outcomes; CoRR never reads 1 then 0', () => {
    const mp = runOracle(loadTest('MP+poonceonces.litmus'), 'pso');
    expect(project(mp.states, ['1:r0', '1:r1'])).toEqual([
      '1:r0=0 1:r1=0',
      '1:r0=0 1:r1=1',
      '1:r0=1 1:r1=0',
      '1:r0=1 1:r1=1',
    ]);
    for (const m of MODELS) {
      const corr = runOracle(loadTest('CoRR+poonceonce+Once.litmus'), m);
      expect(project(corr.states, ['1:r0', '1:r1'])).toEqual([
        '1:r0=0 1:r1=0',
        '1:r0=0 1:r1=1',
        '1:r0=1 1:r1=1',
      ]);
    }
  });

  it('IRIW+fencembonceonces: 15 of the 16 reader outcomes under sc, the same under tso and pso', () => {
    const t = loadTest('IRIW+fencembonceonces+OnceOnce.litmus');
    const keys = ['1:r0', '1:r1', '3:r0', '3:r1'];
    const sc = project(runOracle(t, 'sc').states, keys);
    expect(sc).toHaveLength(15);
    expect(sc).not.toContain('1:r0=1 1:r1=0 3:r0=1 3:r1=0');
    expect(project(runOracle(t, 'tso').states, keys)).toEqual(sc);
    expect(project(runOracle(t, 'pso').states, keys)).toEqual(sc);
  });

  it('final states include spinlocks (released: 0) and registers of untaken branches (0)', () => {
    const isa2 = runOracle(loadTest('ISA2+pooncelock+pooncelock+pombonce.litmus'), 'pso');
    for (const st of isa2.states) expect(st.mylock).toBe(0);
    const lb = runOracle(loadTest('LB+fencembonceonce+ctrlonceonce.litmus'), 'tso');
    // P0 reads x=0 unless P1's store came first; when it reads 0 it never writes y.
    expect(project(lb.states, ['0:r0', '1:r0', 'y'])).toEqual(['0:r0=0 1:r0=0 y=0', '0:r0=1 1:r0=0 y=1']);
  });
});

/** A two-process test from its bodies; both see x, y, z and lock l; registers r0..r3 declared. */
function twoProcs(p0: string, p1: string, cond: string): string {
  const proc = (i: number, body: string) =>
    `P${i}(int *x, int *y, int *z, spinlock_t *l)\n{\n\tint r0;\n\tint r1;\n\tint r2;\n\tint r3;\n${body}\n}\n`;
  return `C Case\n{}\n${proc(0, p0)}${proc(1, p1)}${cond}\n`;
}

function verdicts(text: string): Record<OracleModel, LitmusResult> {
  const t = parseLitmus(text);
  return {
    sc: runOracle(t, 'sc').verdict,
    tso: runOracle(t, 'tso').verdict,
    pso: runOracle(t, 'pso').verdict,
  };
}

describe('semantics', () => {
  it('an xchg store is a locked RMW: SB with xchg is Never even under tso and pso', () => {
    const text = twoProcs(
      'r1 = xchg_relaxed(x, 1); r0 = READ_ONCE(*y);',
      'r1 = xchg(y, 1); r0 = READ_ONCE(*x);',
      'exists (0:r0=0 /\\ 1:r0=0)',
    );
    expect(verdicts(text)).toEqual({ sc: N, tso: N, pso: N });
  });

  it('release/acquire do not order a store before a later load on x86: SB with them is Sometimes under tso', () => {
    const text = twoProcs(
      'smp_store_release(x, 1); r0 = smp_load_acquire(y);',
      'smp_store_release(y, 1); r0 = smp_load_acquire(x);',
      'exists (0:r0=0 /\\ 1:r0=0)',
    );
    expect(verdicts(text)).toEqual({ sc: N, tso: S, pso: S });
  });

  it('smp_wmb alone suffices for MP under pso (loads stay in order); without it MP is Sometimes', () => {
    const reader = 'r0 = READ_ONCE(*y); r1 = READ_ONCE(*x);';
    const cond = 'exists (1:r0=1 /\\ 1:r1=0)';
    expect(verdicts(twoProcs('WRITE_ONCE(*x, 1); smp_wmb(); WRITE_ONCE(*y, 1);', reader, cond)).pso).toBe(N);
    expect(verdicts(twoProcs('WRITE_ONCE(*x, 1); WRITE_ONCE(*y, 1);', reader, cond)).pso).toBe(S);
    // spin_unlock is a release: the store before it is visible before the store after it.
    const unlock = 'spin_lock(l); WRITE_ONCE(*x, 1); spin_unlock(l); WRITE_ONCE(*y, 1);';
    expect(verdicts(twoProcs(unlock, reader, cond))).toEqual({ sc: N, tso: N, pso: N });
  });

  it('a load reads its own buffered store; same-variable stores drain in order', () => {
    const text = twoProcs(
      'WRITE_ONCE(*x, 1); r0 = READ_ONCE(*x); WRITE_ONCE(*x, 2); r1 = READ_ONCE(*x);',
      'r0 = READ_ONCE(*x); r1 = READ_ONCE(*x);',
      'exists (0:r0!=1 \\/ 0:r1!=2 \\/ x!=2 \\/ 1:r0=2 /\\ 1:r1=1)',
    );
    expect(verdicts(text)).toEqual({ sc: N, tso: N, pso: N });
  });

  it('cmpxchg stores only on a match and returns the old value', () => {
    const text = twoProcs(
      'r0 = cmpxchg(x, 0, 5); r1 = cmpxchg(x, 0, 7); r2 = cmpxchg_acquire(x, r0 + 5, r1 + 1);',
      '',
      'forall (0:r0=0 /\\ 0:r1=5 /\\ 0:r2=5 /\\ x=6)',
    );
    for (const m of MODELS) {
      const r = runOracle(parseLitmus(text), m);
      expect(r.verdict).toBe('Always');
      expect(r.conditionHolds).toBe(true);
      expect(r.states).toHaveLength(1);
    }
  });

  it('spinlocks give mutual exclusion; without them an increment is lost', () => {
    const locked = 'spin_lock(l); r0 = READ_ONCE(*x); WRITE_ONCE(*x, r0 + 1); spin_unlock(l);';
    const plain = 'r0 = READ_ONCE(*x); WRITE_ONCE(*x, r0 + 1);';
    for (const m of MODELS) {
      const r = runOracle(parseLitmus(twoProcs(locked, locked, 'forall (x=2)')), m);
      expect(r).toMatchObject({ verdict: 'Always', conditionHolds: true, deadlocks: 0 });
      expect(runOracle(parseLitmus(twoProcs(plain, plain, 'forall (x=2)')), m)).toMatchObject({
        verdict: 'Sometimes',
        conditionHolds: false,
      });
    }
  });

  it('re-acquiring a held spinlock deadlocks: no final state, verdict Never', () => {
    const text = twoProcs('spin_lock(l); spin_lock(l);', 'WRITE_ONCE(*x, 1);', 'exists (x=1)');
    for (const m of MODELS) {
      const r = runOracle(parseLitmus(text), m);
      expect(r.states).toEqual([]);
      expect(r.deadlocks).toBeGreaterThan(0);
      expect(r.verdict).toBe('Never');
    }
  });

  it('follows herd for ~exists, forall and filter', () => {
    const sb = (cond: string, extra = '') =>
      parseLitmus(
        twoProcs(
          'WRITE_ONCE(*x, 1); r0 = READ_ONCE(*y);',
          'WRITE_ONCE(*y, 1); r0 = READ_ONCE(*x);',
          `${extra}${cond}`,
        ),
      );
    // The Observation is about the proposition whatever the quantifier; Ok/No about the clause.
    expect(runOracle(sb('~exists (0:r0=0 /\\ 1:r0=0)'), 'sc')).toMatchObject({
      verdict: N,
      conditionHolds: true,
    });
    expect(runOracle(sb('~exists (0:r0=0 /\\ 1:r0=0)'), 'tso')).toMatchObject({
      verdict: S,
      conditionHolds: false,
    });
    expect(runOracle(sb('forall (0:r0=1 \\/ 1:r0=1)'), 'sc')).toMatchObject({
      verdict: 'Always',
      conditionHolds: true,
    });
    expect(runOracle(sb('forall (0:r0=1 \\/ 1:r0=1)'), 'tso')).toMatchObject({
      verdict: S,
      conditionHolds: false,
    });
    const filtered = runOracle(sb('exists (1:r0=0)', 'filter (0:r0=0)\n'), 'tso');
    expect(project(filtered.states, ['0:r0', '1:r0'])).toEqual(['0:r0=0 1:r0=0', '0:r0=0 1:r0=1']);
    expect(filtered).toMatchObject({ positive: 1, negative: 1, verdict: S });
  });
});

describe('random programs', () => {
  /** One random statement; `vars` chooses the variable. */
  const stmt = fc.oneof(
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom('x', 'y'), fc.constantFrom(1, 2))
        .map(([v, n]) => `WRITE_ONCE(*${v}, ${n});`),
    },
    { weight: 3, arbitrary: fc.constantFrom('x', 'y').map((v) => `@ = READ_ONCE(*${v});`) },
    { weight: 1, arbitrary: fc.constantFrom('x', 'y').map((v) => `smp_store_release(${v}, 3);`) },
    { weight: 1, arbitrary: fc.constantFrom('x', 'y').map((v) => `@ = smp_load_acquire(${v});`) },
    { weight: 1, arbitrary: fc.constantFrom('x', 'y').map((v) => `@ = xchg_relaxed(${v}, 4);`) },
    { weight: 1, arbitrary: fc.constantFrom('x', 'y').map((v) => `@ = cmpxchg(${v}, 1, 5);`) },
    { weight: 1, arbitrary: fc.constant('spin_lock(l); WRITE_ONCE(*x, 6); spin_unlock(l);') },
  );
  const program = fc.array(fc.array(stmt, { minLength: 1, maxLength: 3 }), { minLength: 2, maxLength: 3 });

  /** Builds a test; each `@` becomes a fresh register; `sep` goes after every statement. */
  function build(procs: string[][], sep: string): string {
    const parts = procs.map((body, i) => {
      let n = 0;
      const lines = body.map((s) => `\t${s.replace('@', () => `r${n++}`)}${sep}`);
      const decls = Array.from({ length: n }, (_, k) => `\tint r${k};`);
      return `P${i}(int *x, int *y, spinlock_t *l)\n{\n${[...decls, ...lines].join('\n')}\n}\n`;
    });
    return `C Random\n{}\n${parts.join('')}exists (x=1)\n`;
  }

  const keys = (text: string, m: OracleModel) => runOracle(parseLitmus(text), m).states.map(stateKey);

  it('sc outcomes ⊆ tso outcomes ⊆ pso outcomes', () => {
    fc.assert(
      fc.property(program, (procs) => {
        const text = build(procs, '');
        const sc = keys(text, 'sc');
        const tso = keys(text, 'tso');
        const pso = keys(text, 'pso');
        expect(sc.length).toBeGreaterThan(0);
        for (const k of sc) expect(tso).toContain(k);
        for (const k of tso) expect(pso).toContain(k);
      }),
      { numRuns: 150 },
    );
  });

  it('with smp_mb() after every statement all three models give the sc outcomes', () => {
    fc.assert(
      fc.property(program, (procs) => {
        const text = build(procs, ' smp_mb();');
        const sc = keys(text, 'sc');
        expect(keys(text, 'tso')).toEqual(sc);
        expect(keys(text, 'pso')).toEqual(sc);
      }),
      { numRuns: 100 },
    );
  });

  it('with smp_wmb() after every statement pso gives the tso outcomes', () => {
    fc.assert(
      fc.property(program, (procs) => {
        const text = build(procs, ' smp_wmb();');
        expect(keys(text, 'pso')).toEqual(keys(text, 'tso'));
      }),
      { numRuns: 100 },
    );
  });
});
