/**
 * Tests of the herd7 C-litmus parser: every kernel test in `test/litmus/` parses to the
 * expected shape; each supported construct yields the right AST; malformed input throws a
 * LitmusParseError carrying the right line; nesting deeper than MAX_NESTING is a parse error
 * with line and column, never a stack overflow; random well-formed programs parse to as many
 * statements as were generated.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import type { Stmt } from '../../../src/check/litmus/ast.js';
import { LitmusParseError, MAX_NESTING, parseLitmus } from '../../../src/check/litmus/parse.js';

const LITMUS_DIR = fileURLToPath(new URL('../../litmus/', import.meta.url));

function load(file: string): string {
  return readFileSync(`${LITMUS_DIR}${file}`, 'utf8');
}

/** Expected shape of each kernel test: `Result:`, registers per process, the condition's quantifier. */
const SHAPES: Record<string, { result: string; regs: string[][]; vars: string[] }> = {
  'CoRR+poonceonce+Once.litmus': { result: 'Never', regs: [[], ['r0', 'r1']], vars: ['x'] },
  'CoWW+poonceonce.litmus': { result: 'Never', regs: [[]], vars: ['x'] },
  'DCL-fixed.litmus': {
    result: 'Never',
    regs: [
      ['r0', 'r1', 'r2'],
      ['r0', 'r1', 'r2'],
    ],
    vars: ['flag', 'data', 'lck'],
  },
  'IRIW+fencembonceonces+OnceOnce.litmus': {
    result: 'Never',
    regs: [[], ['r0', 'r1'], [], ['r0', 'r1']],
    vars: ['x', 'y'],
  },
  'ISA2+pooncelock+pooncelock+pombonce.litmus': {
    result: 'Never',
    regs: [[], ['r0'], ['r1', 'r2']],
    vars: ['mylock', 'x', 'y', 'z'],
  },
  'LB+fencembonceonce+ctrlonceonce.litmus': { result: 'Never', regs: [['r0'], ['r0']], vars: ['x', 'y'] },
  'LB+poonceonces.litmus': { result: 'Sometimes', regs: [['r0'], ['r0']], vars: ['x', 'y'] },
  'MP+fencewmbonceonce+fencermbonceonce.litmus': {
    result: 'Never',
    regs: [[], ['r0', 'r1']],
    vars: ['x', 'y'],
  },
  'MP+poonceonces.litmus': { result: 'Sometimes', regs: [[], ['r0', 'r1']], vars: ['buf', 'flag'] },
  'MP+pooncerelease+poacquireonce.litmus': { result: 'Never', regs: [[], ['r0', 'r1']], vars: ['x', 'y'] },
  'S+poonceonces.litmus': { result: 'Sometimes', regs: [[], ['r0']], vars: ['x', 'y'] },
  'SB+fencembonceonces.litmus': { result: 'Never', regs: [['r0'], ['r0']], vars: ['x', 'y'] },
  'SB+poonceonces.litmus': { result: 'Sometimes', regs: [['r0'], ['r0']], vars: ['x', 'y'] },
  'cmpxchg-fail-unordered-1.litmus': {
    result: 'Sometimes',
    regs: [
      ['r0', 'r1'],
      ['r0', 'r1'],
    ],
    vars: ['x', 'y', 'z'],
  },
};

/** Parses `text` expecting a LitmusParseError; returns it. */
function parseError(text: string): LitmusParseError {
  try {
    parseLitmus(text, 'bad.litmus');
  } catch (e) {
    expect(e).toBeInstanceOf(LitmusParseError);
    return e as LitmusParseError;
  }
  throw new Error('expected a LitmusParseError');
}

/** A two-process skeleton with `body0` as P0's body (starting on line 5). */
function withBody(body0: string, cond = 'exists (x=1)'): string {
  return `C T\n\n{}\n\nP0(int *x, int *y, spinlock_t *l)\n{\n${body0}\n}\n\nP1(int *x)\n{\n\tint r0;\n\tr0 = READ_ONCE(*x);\n}\n\n${cond}\n`;
}

describe('kernel litmus files', () => {
  const files = readdirSync(LITMUS_DIR).filter((f) => f.endsWith('.litmus'));

  it('are all present (the expected table covers the folder)', () => {
    expect(files.sort()).toEqual(Object.keys(SHAPES).sort());
  });

  for (const file of Object.keys(SHAPES)) {
    it(`parses ${file}`, () => {
      const shape = SHAPES[file]!;
      const t = parseLitmus(load(file), file);
      expect(t.name).toBe(file.replace(/\.litmus$/, ''));
      expect(t.file).toBe(file);
      expect(t.expected).toBe(shape.result);
      expect(t.procs.map((p) => p.id)).toEqual(shape.regs.map((_, i) => i));
      expect(t.procs.map((p) => [...p.regs])).toEqual(shape.regs);
      expect(t.vars.map((v) => v.name)).toEqual(shape.vars);
      expect(t.condition.quantifier).toBe('exists');
    });
  }

  it('reads SB+poonceonces into the expected statements and condition', () => {
    const t = parseLitmus(load('SB+poonceonces.litmus'));
    expect(t.vars).toEqual([
      { name: 'x', type: 'int', init: 0 },
      { name: 'y', type: 'int', init: 0 },
    ]);
    expect(t.procs[0]!.params).toEqual([
      { name: 'x', type: 'int' },
      { name: 'y', type: 'int' },
    ]);
    expect(t.procs[0]!.body).toEqual([
      { kind: 'store', loc: 'x', value: { kind: 'const', value: 1 }, order: 'once', line: 20 },
      { kind: 'load', reg: 'r0', loc: 'y', order: 'once', line: 21 },
    ]);
    expect(t.condition).toEqual({
      quantifier: 'exists',
      line: 32,
      prop: {
        kind: 'and',
        left: { kind: 'eq', loc: { kind: 'reg', proc: 0, reg: 'r0' }, value: 0, negated: false },
        right: { kind: 'eq', loc: { kind: 'reg', proc: 1, reg: 'r0' }, value: 0, negated: false },
      },
    });
  });

  it('reads locks, release/acquire, wmb/rmb, cmpxchg and a control dependency', () => {
    const isa2 = parseLitmus(load('ISA2+pooncelock+pooncelock+pombonce.litmus'));
    expect(isa2.vars.find((v) => v.name === 'mylock')).toEqual({
      name: 'mylock',
      type: 'spinlock_t',
      init: 0,
    });
    expect(isa2.procs[1]!.body.map((s) => s.kind)).toEqual(['lock', 'load', 'store', 'lock']);
    expect(isa2.procs[2]!.body[1]).toEqual({ kind: 'fence', fence: 'mb', line: 41 });

    const mp = parseLitmus(load('MP+pooncerelease+poacquireonce.litmus'));
    expect(mp.procs[0]!.body[1]).toMatchObject({ kind: 'store', loc: 'y', order: 'release' });
    expect(mp.procs[1]!.body[0]).toMatchObject({ kind: 'load', reg: 'r0', loc: 'y', order: 'acquire' });

    const wr = parseLitmus(load('MP+fencewmbonceonce+fencermbonceonce.litmus'));
    expect(wr.procs[0]!.body[1]).toMatchObject({ kind: 'fence', fence: 'wmb' });
    expect(wr.procs[1]!.body[1]).toMatchObject({ kind: 'fence', fence: 'rmb' });

    const cx = parseLitmus(load('cmpxchg-fail-unordered-1.litmus'));
    expect(cx.procs[1]!.body[1]).toEqual({
      kind: 'rmw',
      op: 'cmpxchg',
      order: 'mb',
      reg: 'r1',
      loc: 'z',
      expected: { kind: 'const', value: 1 },
      value: { kind: 'const', value: 0 },
      line: 28,
    });
    expect(cx.locations).toEqual([
      { kind: 'reg', proc: 0, reg: 'r1' },
      { kind: 'reg', proc: 1, reg: 'r1' },
    ]);

    const lb = parseLitmus(load('LB+fencembonceonce+ctrlonceonce.litmus'));
    expect(lb.procs[0]!.body[1]).toEqual({
      kind: 'if',
      cond: { kind: 'reg', name: 'r0' },
      thenBody: [{ kind: 'store', loc: 'y', value: { kind: 'const', value: 1 }, order: 'once', line: 25 }],
      elseBody: [],
      line: 24,
    });
  });

  it('reads the nested ifs of DCL-fixed and its locations list', () => {
    const t = parseLitmus(load('DCL-fixed.litmus'));
    const outer = t.procs[0]!.body[1]!;
    expect(outer.kind).toBe('if');
    if (outer.kind !== 'if') return;
    expect(outer.cond).toEqual({
      kind: 'binary',
      op: '==',
      left: { kind: 'reg', name: 'r0' },
      right: { kind: 'const', value: 0 },
    });
    expect(outer.thenBody.map((s) => s.kind)).toEqual(['lock', 'load', 'if', 'lock']);
    expect(t.locations.map((l) => (l.kind === 'var' ? l.name : `${l.proc}:${l.reg}`))).toEqual([
      'flag',
      'data',
      '0:r0',
      '0:r1',
      '1:r0',
      '1:r1',
    ]);
    expect(t.condition.prop.kind).toBe('or');
  });

  it('reads a final-memory condition (CoWW: exists (x=1))', () => {
    const t = parseLitmus(load('CoWW+poonceonce.litmus'));
    expect(t.condition.prop).toEqual({
      kind: 'eq',
      loc: { kind: 'var', name: 'x' },
      value: 1,
      negated: false,
    });
  });
});

describe('constructs', () => {
  it('parses init values, pointers, declarations with initialisers and every RMW variant', () => {
    const t = parseLitmus(`C All+Rmw
(* no result line here *)
{ x=1; y = -2; int z = 3; int *p = &x; spinlock_t s; }

P0(int *x, int *y, int *z, spinlock_t *s)
{
\tint r0 = READ_ONCE(*x);
\tint r1 = 5, r2;
\tr2 = xchg_relaxed(x, r1);
\tr2 = xchg_acquire(y, 1);
\txchg_release(z, 2);
\tr3 = xchg(x, 0);
\tr0 = cmpxchg_relaxed(x, 0, 1);
\tr0 = cmpxchg_acquire(x, r3, r1 + 1);
\tr0 = cmpxchg_release(x, 0, 1);
\tREAD_ONCE(*y);
\tspin_lock(s); spin_unlock(s);
}

~exists (0:r3=1 \\/ not (x!=2) /\\ [y]=-2)
`);
    expect(t.expected).toBeUndefined();
    expect(t.vars).toEqual([
      { name: 'x', type: 'int', init: 1 },
      { name: 'y', type: 'int', init: -2 },
      { name: 'z', type: 'int', init: 3 },
      { name: 'p', type: 'int *', init: 0, pointsTo: 'x' },
      { name: 's', type: 'spinlock_t', init: 0 },
    ]);
    const p0 = t.procs[0]!;
    expect(p0.regs).toEqual(['r0', 'r1', 'r2', 'r3']);
    const rmws = p0.body.filter((s) => s.kind === 'rmw');
    expect(rmws.map((s) => [s.op, s.order, s.reg])).toEqual([
      ['xchg', 'relaxed', 'r2'],
      ['xchg', 'acquire', 'r2'],
      ['xchg', 'release', null],
      ['xchg', 'mb', 'r3'],
      ['cmpxchg', 'relaxed', 'r0'],
      ['cmpxchg', 'acquire', 'r0'],
      ['cmpxchg', 'release', 'r0'],
    ]);
    expect(p0.body[1]).toEqual({ kind: 'assign', reg: 'r1', value: { kind: 'const', value: 5 }, line: 8 });
    expect(p0.body.find((s) => s.kind === 'load' && s.reg === null)).toMatchObject({ loc: 'y', line: 16 });
    expect(t.condition.quantifier).toBe('not-exists');
    // '/\' binds tighter than '\/'; 'not' applies to the parenthesised atom.
    expect(t.condition.prop).toEqual({
      kind: 'or',
      left: { kind: 'eq', loc: { kind: 'reg', proc: 0, reg: 'r3' }, value: 1, negated: false },
      right: {
        kind: 'and',
        left: { kind: 'not', arg: { kind: 'eq', loc: { kind: 'var', name: 'x' }, value: 2, negated: true } },
        right: { kind: 'eq', loc: { kind: 'var', name: 'y' }, value: -2, negated: false },
      },
    });
  });

  it('parses C expression precedence, if/else with and without braces, and comments', () => {
    const t = parseLitmus(`C Expr
(*
 * A multi-line header.
 * Result: Always
 *)
{}
P0(int *x) // a C comment
{
\tint r0; int r1; /* block
\t   comment */
\tr0 = READ_ONCE(*x);
\tr1 = r0 + 1 == 2 && !r0 || r0 - 1 & 3;
\tif (r1) WRITE_ONCE(*x, 2); else { WRITE_ONCE(*x, 3); smp_mb(); }
\tif ((r0)) { } else ;
}
forall (x=2 \\/ x=3 => true)
`);
    expect(t.expected).toBe('Always');
    const body = t.procs[0]!.body;
    const r = (name: string) => ({ kind: 'reg', name }) as const;
    const c = (value: number) => ({ kind: 'const', value }) as const;
    expect(body[1]).toMatchObject({
      kind: 'assign',
      reg: 'r1',
      value: {
        kind: 'binary',
        op: '||',
        left: {
          kind: 'binary',
          op: '&&',
          left: {
            kind: 'binary',
            op: '==',
            left: { kind: 'binary', op: '+', left: r('r0'), right: c(1) },
            right: c(2),
          },
          right: { kind: 'unary', op: '!', arg: r('r0') },
        },
        right: {
          kind: 'binary',
          op: '&',
          left: { kind: 'binary', op: '-', left: r('r0'), right: c(1) },
          right: c(3),
        },
      },
    });
    const ifs = body.filter((s): s is Extract<Stmt, { kind: 'if' }> => s.kind === 'if');
    expect(ifs).toHaveLength(2);
    expect(ifs[0]!.thenBody.map((s) => s.kind)).toEqual(['store']);
    expect(ifs[0]!.elseBody.map((s) => s.kind)).toEqual(['store', 'fence']);
    expect(ifs[1]!.thenBody).toEqual([]);
    expect(ifs[1]!.elseBody).toEqual([]);
    expect(t.condition.quantifier).toBe('forall');
    expect(t.condition.prop.kind).toBe('implies');
  });

  it('parses filter and locations in either order and ignores a trailing comment', () => {
    const t = parseLitmus(
      'C F\n{ x=0; }\nP0(int *x) { int r0; r0 = READ_ONCE(*x); }\nfilter (0:r0=0)\nlocations [x;]\nexists (x=0) (* done *)\n',
    );
    expect(t.filter).toEqual({
      kind: 'eq',
      loc: { kind: 'reg', proc: 0, reg: 'r0' },
      value: 0,
      negated: false,
    });
    expect(t.locations).toEqual([{ kind: 'var', name: 'x' }]);
  });

  it('accepts an init block over several lines and a variable named only by parameters', () => {
    const t = parseLitmus(
      'C V\n{\n  x=1;\n  y=2;\n}\nP0(int *x, int *w) { WRITE_ONCE(*w, 1); }\nexists (w=1 /\\ y=2)\n',
    );
    expect(t.vars).toEqual([
      { name: 'x', type: 'int', init: 1 },
      { name: 'y', type: 'int', init: 2 },
      { name: 'w', type: 'int', init: 0 },
    ]);
  });

  it('takes a spinlock type from the parameters for an untyped init entry', () => {
    const t = parseLitmus('C L\n{ l=0; }\nP0(spinlock_t *l) { spin_lock(l); }\nexists (l=1)\n');
    expect(t.vars).toEqual([{ name: 'l', type: 'spinlock_t', init: 0 }]);
  });
});

describe('errors', () => {
  const cases: { what: string; text: string; line: number; message: RegExp }[] = [
    { what: 'a missing C header', text: 'X86 SB\n{}\n', line: 1, message: /expected 'C <name>'/ },
    { what: 'a header after blank lines', text: '\n\nPPC foo\n', line: 3, message: /expected 'C <name>'/ },
    { what: 'no init block', text: 'C T\nP0(int *x) {}\n', line: 2, message: /expected '\{'/ },
    {
      what: 'an unknown primitive',
      text: withBody('\tint r0;\n\tr0 = FOO_ONCE(*x);'),
      line: 8,
      message: /FOO_ONCE/,
    },
    {
      what: 'an RCU primitive',
      text: withBody('\trcu_read_lock();'),
      line: 7,
      message: /unsupported primitive 'rcu_read_lock'/,
    },
    {
      what: 'a missing semicolon (reported at the next token)',
      text: withBody('\tWRITE_ONCE(*x, 1)\n\tWRITE_ONCE(*y, 1);'),
      line: 8,
      message: /expected ';' after the statement, found 'WRITE_ONCE'/,
    },
    {
      what: 'READ_ONCE without *',
      text: withBody('\tint r0;\n\tr0 = READ_ONCE(x);'),
      line: 8,
      message: /expected '\*' before the location argument of READ_ONCE/,
    },
    {
      what: 'smp_store_release with *',
      text: withBody('\tsmp_store_release(*x, 1);'),
      line: 7,
      message: /takes the pointer itself/,
    },
    {
      what: 'an unknown location',
      text: withBody('\tWRITE_ONCE(*z, 1);'),
      line: 7,
      message: /'z' is not a parameter of P0/,
    },
    {
      what: 'spin_lock on an int',
      text: withBody('\tspin_lock(x);'),
      line: 7,
      message: /spin_lock needs a 'spinlock_t \*' argument/,
    },
    {
      what: 'WRITE_ONCE on a spinlock',
      text: withBody('\tWRITE_ONCE(*l, 1);'),
      line: 7,
      message: /needs a 'int \*' argument but 'l' is a 'spinlock_t \*'/,
    },
    {
      what: 'a memory access inside an expression',
      text: withBody('\tint r0;\n\n\tr0 = READ_ONCE(*x) + 1;'),
      line: 9,
      message: /expected ';' after the assignment, found '\+'/,
    },
    {
      what: 'a call nested in an expression',
      text: withBody('\tint r0;\n\tr0 = 1 + READ_ONCE(*x);'),
      line: 8,
      message: /inside an expression/,
    },
    {
      what: 'an unknown register',
      text: withBody('\tWRITE_ONCE(*x, r9);'),
      line: 7,
      message: /unknown register 'r9'/,
    },
    {
      what: 'assigning a fence',
      text: withBody('\tint r0;\n\tr0 = smp_mb();'),
      line: 8,
      message: /returns no value/,
    },
    {
      what: 'an unsupported parameter type',
      text: 'C T\n{}\nP0(atomic_t *v)\n{\n}\nexists (true)\n',
      line: 3,
      message: /unsupported parameter type 'atomic_t'/,
    },
    {
      what: 'an unsupported init type',
      text: 'C T\n{\n\tint x;\n\tatomic_t v;\n}\nP0(int *x) {}\nexists (true)\n',
      line: 4,
      message: /unsupported type 'atomic_t'/,
    },
    {
      what: 'processes out of order',
      text: 'C T\n{}\nP0(int *x) {}\n\nP2(int *x) {}\nexists (x=0)\n',
      line: 5,
      message: /expected process 'P1', found 'P2'/,
    },
    {
      what: 'a condition on a missing process',
      text: withBody('\tsmp_mb();', 'exists (2:r0=0)'),
      line: 16,
      message: /no process P2/,
    },
    {
      what: 'a condition on a missing register',
      text: withBody('\tsmp_mb();', 'exists (1:r7=0)'),
      line: 16,
      message: /P1 has no register 'r7'/,
    },
    {
      what: 'a condition on an unknown variable',
      text: withBody('\tsmp_mb();', 'exists (q=0)'),
      line: 16,
      message: /unknown shared variable 'q'/,
    },
    {
      what: 'a condition without a value',
      text: withBody('\tsmp_mb();', 'exists (x=)'),
      line: 16,
      message: /expected an integer as the value compared in the condition, found '\)'/,
    },
    {
      what: 'a missing condition',
      text: withBody('\tsmp_mb();', ''),
      line: 17,
      message: /expected 'exists', '~exists', 'forall'.*found end of input/,
    },
    {
      what: 'text after the condition',
      text: withBody('\tsmp_mb();', 'exists (x=1)\nexists (x=2)'),
      line: 17,
      message: /expected end of input after the condition/,
    },
    {
      what: 'an unterminated (* comment',
      text: 'C T\n\n(*\n * Result: Never\n\n{}\n',
      line: 3,
      message: /unterminated comment/,
    },
    {
      what: 'an unclosed process body',
      text: 'C T\n{}\nP0(int *x)\n{\n\tsmp_mb();\n',
      line: 6,
      message: /expected '\}'/,
    },
    {
      what: 'conflicting variable types',
      text: 'C T\n{}\nP0(int *x) {}\nP1(spinlock_t *x) {}\nexists (x=0)\n',
      line: 4,
      message: /'spinlock_t \*' but 'x' is 'int'/,
    },
  ];

  for (const c of cases) {
    it(`reports ${c.what} at line ${c.line}`, () => {
      const e = parseError(c.text);
      expect(e.line).toBe(c.line);
      expect(e.file).toBe('bad.litmus');
      expect(e.message).toContain(`bad.litmus:${c.line}:`);
      expect(e.message).toMatch(c.message);
    });
  }

  it('reports the line of a bad statement wherever it is placed in a kernel test', () => {
    const lines = load('SB+fencembonceonces.litmus').split('\n');
    // P0's body is lines 16-20 and P1's lines 25-29 (between the braces).
    for (const at of [17, 18, 19, 20, 26, 27, 28]) {
      const bad = [...lines.slice(0, at - 1), '\tBOGUS(*x);', ...lines.slice(at - 1)].join('\n');
      expect(parseError(bad).line).toBe(at);
    }
  });
});

describe('random programs', () => {
  /** A random statement generator: text plus the number of AST statements it makes. */
  const stmtArb = fc.oneof(
    fc.constantFrom('x', 'y').map((v) => ({ text: `WRITE_ONCE(*${v}, 1);`, n: 1 })),
    fc.constantFrom('x', 'y').map((v) => ({ text: `r0 = READ_ONCE(*${v});`, n: 1 })),
    fc.constantFrom('x', 'y').map((v) => ({ text: `r1 = smp_load_acquire(${v});`, n: 1 })),
    fc.constantFrom('x', 'y').map((v) => ({ text: `smp_store_release(${v}, r0 + 1);`, n: 1 })),
    fc.constantFrom('smp_mb();', 'smp_wmb();', 'smp_rmb();').map((text) => ({ text, n: 1 })),
    fc.constantFrom('xchg', 'xchg_relaxed', 'xchg_acquire').map((f) => ({ text: `r0 = ${f}(x, 2);`, n: 1 })),
    fc.constantFrom('cmpxchg', 'cmpxchg_release').map((f) => ({ text: `r1 = ${f}(y, r0, 3);`, n: 1 })),
    fc.constant({ text: 'spin_lock(l); r1 = r1 + 1; spin_unlock(l);', n: 3 }),
    fc.constant({ text: 'if (r0 == 1 || !r1) WRITE_ONCE(*y, r1); else { smp_mb(); }', n: 1 }),
  );

  it('parse to as many statements as generated, in any layout', () => {
    fc.assert(
      fc.property(
        fc.array(fc.array(stmtArb, { maxLength: 6 }), { minLength: 1, maxLength: 4 }),
        fc.constantFrom('\n\t', ' ', '\n\n  '),
        (procs, sep) => {
          const text = [
            'C Random',
            '{ x=0; y=0; }',
            ...procs.map(
              (body, i) =>
                `P${i}(int *x, int *y, spinlock_t *l)${sep}{${sep}int r0;${sep}int r1;${sep}${body.map((s) => s.text).join(sep)}${sep}}`,
            ),
            `exists (0:r0=0 /\\ x=0)`,
          ].join('\n');
          const t = parseLitmus(text);
          expect(t.procs.map((p) => p.body.length)).toEqual(procs.map((b) => b.reduce((a, s) => a + s.n, 0)));
          expect(t.vars.map((v) => v.name)).toEqual(['x', 'y', 'l']);
        },
      ),
    );
  });
});

describe('nesting depth', () => {
  const deep: [string, string, string, number, number][] = [
    // what, P0's body (from line 7), the condition (line 10 after a one-line body), where the
    // refused token is: the first past MAX_NESTING levels ('(' of exists counts one)
    [
      '5,000 parentheses',
      `\tWRITE_ONCE(*x, ${'('.repeat(5000)}1${')'.repeat(5000)});`,
      'exists (x=1)',
      7,
      17 + MAX_NESTING,
    ],
    ['5,000 negations', `\tWRITE_ONCE(*x, ${'!'.repeat(5000)}1);`, 'exists (x=1)', 7, 17 + MAX_NESTING],
    [
      '3,000 nested ifs',
      `${'\tif (1) {\n'.repeat(3000)}\tWRITE_ONCE(*x, 1);\n${'\t}\n'.repeat(3000)}`,
      'exists (x=1)',
      7 + MAX_NESTING / 2,
      2,
    ],
    [
      '20,000 additions',
      `\tWRITE_ONCE(*x, 1${' + 1'.repeat(20000)});`,
      'exists (x=1)',
      7,
      19 + 4 * MAX_NESTING,
    ],
    [
      '5,000 conditions joined by \\/',
      '\tWRITE_ONCE(*x, 1);',
      `exists (x=1${' \\/ x=1'.repeat(5000)})`,
      10,
      13 + 7 * (MAX_NESTING - 1),
    ],
    [
      '5,000 ~ in the condition',
      '\tWRITE_ONCE(*x, 1);',
      `exists (${'~'.repeat(5000)}x=1)`,
      10,
      8 + MAX_NESTING,
    ],
  ];
  for (const [what, body, cond, line, column] of deep) {
    it(`${what}: a parse error at the token past ${MAX_NESTING} levels`, () => {
      const e = parseError(`C T\n\n{}\n\nP0(int *x)\n{\n${body}\n}\n\n${cond}\n`);
      expect(e.message).toMatch(/too deeply nested at '.+': more than 100 levels/);
      expect([e.line, e.column]).toEqual([line, column]);
      expect(e.message.startsWith(`bad.litmus:${line}:${column}: `)).toBe(true);
    });
  }

  it(`${MAX_NESTING} levels parse`, () => {
    const half = MAX_NESTING / 2;
    const t = parseLitmus(
      `C T\n{}\nP0(int *x)\n{\n${'if (1) {\n'.repeat(half)}WRITE_ONCE(*x, 1);\n${'}\n'.repeat(half)}}\nexists (${'('.repeat(MAX_NESTING - 1)}x=1${')'.repeat(MAX_NESTING - 1)})\n`,
    );
    let depth = 0;
    for (let s: Stmt | undefined = t.procs[0]!.body[0]; s?.kind === 'if'; s = s.thenBody[0]) depth++;
    expect(depth).toBe(half);
  });
});
