/**
 * A parser for litmus tests in herd7's C format (the format of the Linux kernel memory
 * model's `tools/memory-model/litmus-tests/*.litmus`).
 *
 * Contents:
 * - {@link parseLitmus}: text → {@link LitmusTest} (see `ast.ts`).
 * - {@link LitmusParseError}: thrown for anything outside the supported subset, with the
 *   1-based `line` and a message naming what was expected there.
 * - {@link MAX_NESTING}: the deepest nesting of blocks, `if`s, parentheses and operators the
 *   parser takes (the parser and the interpreter recurse on it; deeper is a parse error).
 *
 * The supported subset:
 * ```
 * C <name>
 * (* comments, one of which may hold "Result: Never|Sometimes|Always" *)
 * { x=1; int y; int z = 2; spinlock_t l; int *p = &x; }           (may be empty: {})
 * P0(int *x, int *y, spinlock_t *l)
 * {
 *   int r0; int r1 = 1;
 *   r0 = READ_ONCE(*x);      WRITE_ONCE(*x, r1 + 1);
 *   r0 = smp_load_acquire(x); smp_store_release(y, 1);
 *   r0 = xchg(x, 1);          r0 = cmpxchg(x, 0, 1);   (and _relaxed, _acquire, _release)
 *   smp_mb(); smp_wmb(); smp_rmb(); spin_lock(l); spin_unlock(l);
 *   if (r0 == 1 && !r1) { ... } else WRITE_ONCE(*y, 2);
 * }
 * locations [x; 0:r1;]          (optional)
 * filter (0:r0=1)               (optional)
 * exists (0:r0=1 /\ (x=2 \/ ~1:r0=0))      or ~exists (...) or forall (...)
 * ```
 * Process code uses C comments (`//`, `/* *\/`); outside process code herd's OCaml-style
 * `(* *)` comments are also accepted (inside code `(*` is the start of `(*x)`).
 * Expressions are C integer expressions over constants and registers (`== != < <= > >= && ||
 * ! + - & | ^`, parentheses); memory accesses must be whole statements or the right-hand side
 * of an assignment or initialiser.
 */
import type {
  BinaryOp,
  Condition,
  CondLoc,
  Expr,
  LitmusResult,
  LitmusTest,
  Param,
  Proc,
  Prop,
  Quantifier,
  RmwOrder,
  SharedVar,
  Stmt,
  VarType,
} from './ast.js';

/**
 * How deep blocks, `if`s, parentheses and operators may nest: each counts one level (a chain
 * `a + b + c` nests its operators, as the tree it builds does).
 */
export const MAX_NESTING = 100;

/** A litmus test that does not parse: `line` (and `column`, when known) are 1-based; the message names them. */
export class LitmusParseError extends Error {
  /** 1-based line of the offending token. */
  readonly line: number;
  /** 1-based column of the offending token, when the error gives it. */
  readonly column: number | undefined;
  /** The file name given to {@link parseLitmus}, if any. */
  readonly file: string | undefined;

  constructor(message: string, line: number, file?: string, column?: number) {
    super(`${file ?? '<litmus>'}:${line}${column !== undefined ? `:${column}` : ''}: ${message}`);
    this.name = 'LitmusParseError';
    this.line = line;
    this.column = column;
    this.file = file;
  }
}

type TokKind = 'num' | 'id' | 'punct' | 'str' | 'eof';

interface Token {
  readonly kind: TokKind;
  readonly text: string;
  readonly line: number;
  /** Offset just past the token. */
  readonly end: number;
}

/** Punctuation, longest first. */
const PUNCTS = [
  '/\\',
  '\\/',
  '==',
  '!=',
  '<=',
  '>=',
  '&&',
  '||',
  '=>',
  '{',
  '}',
  '(',
  ')',
  '[',
  ']',
  ';',
  ',',
  '*',
  '&',
  '=',
  '!',
  '+',
  '-',
  '|',
  '^',
  '<',
  '>',
  ':',
  '~',
] as const;

/** Binary operator precedence in process code (C's, higher binds tighter). */
const BINARY_PREC: Readonly<Record<string, number>> = {
  '||': 1,
  '&&': 2,
  '|': 3,
  '^': 4,
  '&': 5,
  '==': 6,
  '!=': 6,
  '<': 7,
  '<=': 7,
  '>': 7,
  '>=': 7,
  '+': 8,
  '-': 8,
};

/** Primitives that act on memory, and what their arguments are. */
type Prim =
  | { readonly kind: 'load'; readonly order: 'once' | 'acquire'; readonly deref: boolean }
  | { readonly kind: 'store'; readonly order: 'once' | 'release'; readonly deref: boolean }
  | { readonly kind: 'rmw'; readonly op: 'xchg' | 'cmpxchg'; readonly order: RmwOrder }
  | { readonly kind: 'fence'; readonly fence: 'mb' | 'wmb' | 'rmb' }
  | { readonly kind: 'lock'; readonly op: 'spin_lock' | 'spin_unlock' };

const PRIMS: ReadonlyMap<string, Prim> = new Map<string, Prim>([
  ['READ_ONCE', { kind: 'load', order: 'once', deref: true }],
  ['smp_load_acquire', { kind: 'load', order: 'acquire', deref: false }],
  ['WRITE_ONCE', { kind: 'store', order: 'once', deref: true }],
  ['smp_store_release', { kind: 'store', order: 'release', deref: false }],
  ['xchg', { kind: 'rmw', op: 'xchg', order: 'mb' }],
  ['xchg_relaxed', { kind: 'rmw', op: 'xchg', order: 'relaxed' }],
  ['xchg_acquire', { kind: 'rmw', op: 'xchg', order: 'acquire' }],
  ['xchg_release', { kind: 'rmw', op: 'xchg', order: 'release' }],
  ['cmpxchg', { kind: 'rmw', op: 'cmpxchg', order: 'mb' }],
  ['cmpxchg_relaxed', { kind: 'rmw', op: 'cmpxchg', order: 'relaxed' }],
  ['cmpxchg_acquire', { kind: 'rmw', op: 'cmpxchg', order: 'acquire' }],
  ['cmpxchg_release', { kind: 'rmw', op: 'cmpxchg', order: 'release' }],
  ['smp_mb', { kind: 'fence', fence: 'mb' }],
  ['smp_wmb', { kind: 'fence', fence: 'wmb' }],
  ['smp_rmb', { kind: 'fence', fence: 'rmb' }],
  ['spin_lock', { kind: 'lock', op: 'spin_lock' }],
  ['spin_unlock', { kind: 'lock', op: 'spin_unlock' }],
]);

const TYPE_NAMES: ReadonlyMap<string, VarType> = new Map<string, VarType>([
  ['int', 'int'],
  ['spinlock_t', 'spinlock_t'],
]);

/** Words that are not accepted as register or variable names. */
const RESERVED = new Set(['int', 'if', 'else', 'void', 'volatile', 'spinlock_t', 'return', 'while', 'for']);

const INT_MAX = 2 ** 31 - 1;

function describe(t: Token): string {
  return t.kind === 'eof' ? 'end of input' : `'${t.text}'`;
}

/** A scanner over the text, with or without OCaml comments, and the recursive-descent parser. */
class Parser {
  private readonly src: string;
  private readonly file: string | undefined;
  private pos = 0;
  /** Line numbers: offsets of line starts. */
  private readonly lineStarts: number[] = [0];
  /** Whether `(* ... *)` is a comment here (outside process code). */
  private ocaml = true;
  /** Text of every OCaml comment seen, in order. */
  readonly comments: string[] = [];
  private peeked: { pos: number; ocaml: boolean; tok: Token } | undefined;
  /** Levels of nesting open at the current token. */
  private depth = 0;

  constructor(src: string, file: string | undefined) {
    this.src = src;
    this.file = file;
    for (let i = 0; i < src.length; i++) if (src[i] === '\n') this.lineStarts.push(i + 1);
  }

  lineAt(offset: number): number {
    let lo = 0;
    let hi = this.lineStarts.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (this.lineStarts[mid]! <= offset) lo = mid;
      else hi = mid - 1;
    }
    return lo + 1;
  }

  fail(message: string, line: number): never {
    throw new LitmusParseError(message, line, this.file);
  }

  /** Opens one level of nesting at `t`, refusing more than {@link MAX_NESTING}; `close` ends it. */
  open(t: Token): void {
    if (this.depth >= MAX_NESTING) {
      const column = t.end - t.text.length - this.lineStarts[t.line - 1]! + 1;
      throw new LitmusParseError(
        `too deeply nested at '${t.text}': more than ${MAX_NESTING} levels of blocks, ifs, parentheses and operators`,
        t.line,
        this.file,
        column,
      );
    }
    this.depth++;
  }

  /** Closes `levels` levels opened by `open`. */
  close(levels: number): void {
    this.depth -= levels;
  }

  /** Parses one level of nesting opened by `t`. */
  nested<T>(t: Token, parse: () => T): T {
    this.open(t);
    try {
      return parse();
    } finally {
      this.close(1);
    }
  }

  setPos(pos: number): void {
    this.pos = pos;
    this.peeked = undefined;
  }

  setOcaml(on: boolean): void {
    this.ocaml = on;
  }

  /** Skips whitespace and comments from `pos`; returns the new offset. */
  private skip(pos: number, record: boolean): number {
    const s = this.src;
    for (;;) {
      const c = s[pos];
      if (c === undefined) return pos;
      if (c === ' ' || c === '\t' || c === '\n' || c === '\r' || c === '\f' || c === '\v') {
        pos++;
        continue;
      }
      if (c === '/' && s[pos + 1] === '/') {
        while (pos < s.length && s[pos] !== '\n') pos++;
        continue;
      }
      if (c === '/' && s[pos + 1] === '*') {
        const end = s.indexOf('*/', pos + 2);
        if (end < 0) this.fail("unterminated comment: expected '*/'", this.lineAt(pos));
        pos = end + 2;
        continue;
      }
      if (this.ocaml && c === '(' && s[pos + 1] === '*') {
        const start = pos;
        let depth = 1;
        pos += 2;
        while (depth > 0) {
          if (pos >= s.length) this.fail("unterminated comment: expected '*)'", this.lineAt(start));
          if (s[pos] === '(' && s[pos + 1] === '*') {
            depth++;
            pos += 2;
          } else if (s[pos] === '*' && s[pos + 1] === ')') {
            depth--;
            pos += 2;
          } else pos++;
        }
        if (record) this.comments.push(s.slice(start + 2, pos - 2));
        continue;
      }
      return pos;
    }
  }

  private scan(record: boolean): Token {
    const s = this.src;
    const start = this.skip(this.pos, record);
    const line = this.lineAt(start);
    if (start >= s.length) return { kind: 'eof', text: '', line, end: start };
    const c = s[start]!;
    if (/[0-9]/.test(c)) {
      const m = /^(0[xX][0-9a-fA-F]+|[0-9]+)[uUlL]*/.exec(s.slice(start, start + 40))!;
      return { kind: 'num', text: m[1]!, line, end: start + m[0].length };
    }
    if (/[A-Za-z_]/.test(c)) {
      let end = start + 1;
      while (end < s.length && /[A-Za-z0-9_]/.test(s[end]!)) end++;
      return { kind: 'id', text: s.slice(start, end), line, end };
    }
    if (c === '"') {
      const end = s.indexOf('"', start + 1);
      if (end < 0) this.fail("unterminated string: expected '\"'", line);
      return { kind: 'str', text: s.slice(start + 1, end), line, end: end + 1 };
    }
    for (const p of PUNCTS) {
      if (s.startsWith(p, start)) return { kind: 'punct', text: p, line, end: start + p.length };
    }
    return this.fail(`unexpected character '${c}'`, line);
  }

  peek(): Token {
    const pk = this.peeked;
    if (pk !== undefined && pk.pos === this.pos && pk.ocaml === this.ocaml) return pk.tok;
    const tok = this.scan(false);
    this.peeked = { pos: this.pos, ocaml: this.ocaml, tok };
    return tok;
  }

  next(): Token {
    const tok = this.scan(true);
    this.setPos(tok.end);
    return tok;
  }

  /** The token after the next one (same comment mode). */
  peek2(): Token {
    const save = this.pos;
    const first = this.scan(false);
    this.pos = first.end;
    const second = this.scan(false);
    this.pos = save;
    return second;
  }

  isPunct(text: string): boolean {
    const t = this.peek();
    return t.kind === 'punct' && t.text === text;
  }

  isId(text: string): boolean {
    const t = this.peek();
    return t.kind === 'id' && t.text === text;
  }

  eatPunct(text: string): boolean {
    if (!this.isPunct(text)) return false;
    this.next();
    return true;
  }

  expectPunct(text: string, context: string): Token {
    const t = this.peek();
    if (t.kind !== 'punct' || t.text !== text)
      this.fail(`expected '${text}' ${context}, found ${describe(t)}`, t.line);
    return this.next();
  }

  expectId(context: string): Token {
    const t = this.peek();
    if (t.kind !== 'id') this.fail(`expected ${context}, found ${describe(t)}`, t.line);
    return this.next();
  }

  /** Parses a C-style integer literal (token already checked to be a number). */
  number(t: Token): number {
    const v = Number(t.text);
    if (!Number.isSafeInteger(v) || v > INT_MAX) this.fail(`integer ${t.text} out of range`, t.line);
    return v;
  }

  /** An optionally negative integer literal. */
  signedInt(context: string): number {
    const neg = this.eatPunct('-');
    const t = this.peek();
    if (t.kind !== 'num') this.fail(`expected an integer ${context}, found ${describe(t)}`, t.line);
    this.next();
    const v = this.number(t);
    return neg ? -v : v;
  }
}

/** A shared variable as the init block declared it, before types from parameters are merged. */
interface InitVar {
  name: string;
  type: VarType | 'int *' | undefined;
  init: number;
  pointsTo: string | undefined;
  line: number;
}

/** Per-process parsing state. */
interface ProcScope {
  readonly id: number;
  readonly params: Map<string, Param>;
  readonly regs: string[];
  readonly regSet: Set<string>;
}

function parseHeader(p: Parser, text: string): string {
  const m = /^\s*C[ \t]+(\S[^\r\n]*?)[ \t]*(?:\r?\n|$)/.exec(text);
  if (m === null) {
    const firstLine = p.lineAt(/\S/.exec(text)?.index ?? 0);
    p.fail("expected 'C <name>' as the first line (a C-language litmus test)", firstLine);
  }
  p.setPos(m[0].length);
  return m[1]!;
}

function parseInit(p: Parser): InitVar[] {
  const vars: InitVar[] = [];
  p.expectPunct('{', 'to open the initial-state block');
  while (!p.eatPunct('}')) {
    if (p.eatPunct(';')) continue;
    const first = p.peek();
    if (first.kind === 'num')
      p.fail('register initial values are not supported; expected a variable', first.line);
    if (first.kind !== 'id')
      p.fail(`expected a variable declaration or 'x=<value>', found ${describe(first)}`, first.line);
    let type: VarType | 'int *' | undefined;
    if (first.text === 'atomic_t' || first.text === 'atomic_long_t')
      p.fail(`unsupported type '${first.text}'; expected 'int' or 'spinlock_t'`, first.line);
    const declared = TYPE_NAMES.get(first.text);
    if (declared !== undefined) {
      p.next();
      type = declared;
      if (p.eatPunct('*')) {
        if (declared !== 'int') p.fail('only int pointers are supported in the initial state', first.line);
        type = 'int *';
      }
    }
    const nameTok = p.expectId('a variable name in the initial state');
    if (RESERVED.has(nameTok.text)) p.fail(`expected a variable name, found '${nameTok.text}'`, nameTok.line);
    if (vars.some((v) => v.name === nameTok.text))
      p.fail(`variable '${nameTok.text}' declared twice in the initial state`, nameTok.line);
    let init = 0;
    let pointsTo: string | undefined;
    if (p.eatPunct('=')) {
      if (p.eatPunct('&')) {
        pointsTo = p.expectId("a variable name after '&'").text;
        if (type === undefined) type = 'int *';
        else if (type !== 'int *')
          p.fail(`'${nameTok.text}' holds an address but is not declared 'int *'`, nameTok.line);
      } else {
        if (type === 'int *')
          p.fail(`expected '&<variable>' to initialise pointer '${nameTok.text}'`, nameTok.line);
        init = p.signedInt(`as the initial value of '${nameTok.text}'`);
        if (type === 'spinlock_t') p.fail('a spinlock cannot be given an initial value', nameTok.line);
      }
    }
    vars.push({ name: nameTok.text, type, init, pointsTo, line: nameTok.line });
    const t = p.peek();
    if (!(t.kind === 'punct' && (t.text === ';' || t.text === '}')))
      p.fail(`expected ';' or '}' after initial value of '${nameTok.text}', found ${describe(t)}`, t.line);
  }
  for (const v of vars) {
    if (v.pointsTo !== undefined && !vars.some((w) => w.name === v.pointsTo))
      p.fail(`'${v.name}' points to undeclared variable '${v.pointsTo}'`, v.line);
  }
  return vars;
}

function parseParams(p: Parser): Param[] {
  const params: Param[] = [];
  p.expectPunct('(', 'to open the parameter list');
  if (p.eatPunct(')')) return params;
  for (;;) {
    if (p.isId('volatile')) p.next();
    const tt = p.expectId("a parameter type ('int *' or 'spinlock_t *')");
    const type = TYPE_NAMES.get(tt.text);
    if (type === undefined)
      p.fail(`unsupported parameter type '${tt.text}'; expected 'int *' or 'spinlock_t *'`, tt.line);
    p.expectPunct('*', `after parameter type '${tt.text}' (parameters are pointers)`);
    if (p.isPunct('*')) p.fail('pointer-to-pointer parameters are not supported', tt.line);
    const nt = p.expectId('a parameter name');
    if (RESERVED.has(nt.text)) p.fail(`expected a parameter name, found '${nt.text}'`, nt.line);
    if (params.some((q) => q.name === nt.text)) p.fail(`parameter '${nt.text}' given twice`, nt.line);
    params.push({ name: nt.text, type });
    if (p.eatPunct(')')) return params;
    p.expectPunct(',', "or ')' after a parameter");
  }
}

function parseExpr(p: Parser, sc: ProcScope, minPrec = 1): Expr {
  let left = parseUnary(p, sc);
  let levels = 0;
  try {
    for (;;) {
      const t = p.peek();
      if (t.kind !== 'punct') return left;
      const prec = BINARY_PREC[t.text];
      if (prec === undefined || prec < minPrec) return left;
      p.next();
      p.open(t);
      levels++;
      const right = parseExpr(p, sc, prec + 1);
      left = { kind: 'binary', op: t.text as BinaryOp, left, right };
    }
  } finally {
    p.close(levels);
  }
}

function parseUnary(p: Parser, sc: ProcScope): Expr {
  const t = p.peek();
  if (t.kind === 'punct' && (t.text === '!' || t.text === '-')) {
    p.next();
    const op = t.text;
    return p.nested(t, () => ({ kind: 'unary', op, arg: parseUnary(p, sc) }));
  }
  if (t.kind === 'num') {
    p.next();
    return { kind: 'const', value: p.number(t) };
  }
  if (t.kind === 'punct' && t.text === '(') {
    p.next();
    const e = p.nested(t, () => parseExpr(p, sc));
    p.expectPunct(')', 'to close the parenthesised expression');
    return e;
  }
  if (t.kind === 'id') {
    if (p.peek2().kind === 'punct' && p.peek2().text === '(') {
      p.fail(
        `call of '${t.text}' inside an expression: a memory access must be a whole statement or the right-hand side of an assignment`,
        t.line,
      );
    }
    if (sc.params.has(t.text)) p.fail(`pointer '${t.text}' used as a value is not supported`, t.line);
    if (!sc.regSet.has(t.text)) p.fail(`unknown register '${t.text}' in P${sc.id}`, t.line);
    p.next();
    return { kind: 'reg', name: t.text };
  }
  return p.fail(`expected an expression, found ${describe(t)}`, t.line);
}

/** The location argument of a primitive: `*x` when `deref`, else `x`; checked against the parameters. */
function parseLoc(p: Parser, sc: ProcScope, prim: string, deref: boolean, want: VarType): string {
  if (deref) p.expectPunct('*', `before the location argument of ${prim} (it takes '*<pointer>')`);
  else if (p.isPunct('*') || p.isPunct('&'))
    p.fail(`${prim} takes the pointer itself: expected '<pointer>', found '${p.peek().text}'`, p.peek().line);
  const t = p.expectId(`a pointer parameter as the location argument of ${prim}`);
  const param = sc.params.get(t.text);
  if (param === undefined) p.fail(`'${t.text}' is not a parameter of P${sc.id}`, t.line);
  if (param.type !== want)
    p.fail(`${prim} needs a '${want} *' argument but '${t.text}' is a '${param.type} *'`, t.line);
  return t.text;
}

function declareReg(p: Parser, sc: ProcScope, name: Token): void {
  if (RESERVED.has(name.text)) p.fail(`expected a register name, found '${name.text}'`, name.line);
  if (sc.params.has(name.text))
    p.fail(`'${name.text}' is a parameter of P${sc.id}, not a register`, name.line);
  if (!sc.regSet.has(name.text)) {
    sc.regSet.add(name.text);
    sc.regs.push(name.text);
  }
}

/** Parses a primitive call (name already peeked, known in PRIMS); `reg` receives its value. */
function parseCall(p: Parser, sc: ProcScope, reg: string | null): Stmt {
  const nameTok = p.next();
  const prim = PRIMS.get(nameTok.text)!;
  const line = nameTok.line;
  const name = nameTok.text;
  p.expectPunct('(', `after '${name}'`);
  const comma = (): void => {
    p.expectPunct(',', `between the arguments of ${name}`);
  };
  let stmt: Stmt;
  switch (prim.kind) {
    case 'load': {
      const loc = parseLoc(p, sc, name, prim.deref, 'int');
      stmt = { kind: 'load', reg, loc, order: prim.order, line };
      break;
    }
    case 'store': {
      if (reg !== null) p.fail(`${name} returns no value; it cannot be assigned`, line);
      const loc = parseLoc(p, sc, name, prim.deref, 'int');
      comma();
      const value = parseExpr(p, sc);
      stmt = { kind: 'store', loc, value, order: prim.order, line };
      break;
    }
    case 'rmw': {
      const loc = parseLoc(p, sc, name, false, 'int');
      comma();
      let expected: Expr | null = null;
      if (prim.op === 'cmpxchg') {
        expected = parseExpr(p, sc);
        comma();
      }
      const value = parseExpr(p, sc);
      stmt = { kind: 'rmw', op: prim.op, order: prim.order, reg, loc, expected, value, line };
      break;
    }
    case 'fence':
      if (reg !== null) p.fail(`${name} returns no value; it cannot be assigned`, line);
      stmt = { kind: 'fence', fence: prim.fence, line };
      break;
    case 'lock': {
      if (reg !== null) p.fail(`${name} returns no value; it cannot be assigned`, line);
      const lock = parseLoc(p, sc, name, false, 'spinlock_t');
      stmt = { kind: 'lock', op: prim.op, lock, line };
      break;
    }
  }
  p.expectPunct(')', `to close the arguments of ${name}`);
  return stmt;
}

function isCallAhead(p: Parser): boolean {
  const t = p.peek();
  if (t.kind !== 'id') return false;
  const t2 = p.peek2();
  return t2.kind === 'punct' && t2.text === '(';
}

function checkKnownPrim(p: Parser): void {
  const t = p.peek();
  if (!PRIMS.has(t.text)) p.fail(`unsupported primitive '${t.text}'`, t.line);
}

/** The right-hand side of `reg = ...` or `int reg = ...`. */
function parseRhs(p: Parser, sc: ProcScope, reg: Token, line: number): Stmt {
  if (isCallAhead(p)) {
    checkKnownPrim(p);
    const s = parseCall(p, sc, reg.text);
    declareReg(p, sc, reg);
    return s;
  }
  const value = parseExpr(p, sc);
  declareReg(p, sc, reg);
  return { kind: 'assign', reg: reg.text, value, line };
}

function parseStmtOrBlock(p: Parser, sc: ProcScope, out: Stmt[]): void {
  const open = p.peek();
  if (p.eatPunct('{')) {
    p.nested(open, () => {
      while (!p.eatPunct('}')) {
        if (p.peek().kind === 'eof') p.fail(`expected '}' to close the block in P${sc.id}`, p.peek().line);
        parseStmt(p, sc, out);
      }
    });
    return;
  }
  parseStmt(p, sc, out);
}

function parseStmt(p: Parser, sc: ProcScope, out: Stmt[]): void {
  const t = p.peek();
  if (t.kind === 'punct' && t.text === ';') {
    p.next();
    return;
  }
  if (t.kind === 'punct' && t.text === '{') {
    parseStmtOrBlock(p, sc, out);
    return;
  }
  if (t.kind !== 'id') p.fail(`expected a statement in P${sc.id}, found ${describe(t)}`, t.line);
  if (t.text === 'int') {
    p.next();
    for (;;) {
      const name = p.expectId("a register name after 'int'");
      if (p.isPunct('*')) p.fail('pointer registers are not supported', name.line);
      if (p.eatPunct('=')) out.push(parseRhs(p, sc, name, name.line));
      else declareReg(p, sc, name);
      if (p.eatPunct(',')) continue;
      p.expectPunct(';', 'after the declaration');
      return;
    }
  }
  if (t.text === 'if') {
    p.next();
    p.expectPunct('(', "after 'if'");
    const cond = parseExpr(p, sc);
    p.expectPunct(')', 'to close the if condition');
    const thenS: Stmt[] = [];
    const elseS: Stmt[] = [];
    p.nested(t, () => {
      parseStmtOrBlock(p, sc, thenS);
      if (p.isId('else')) {
        p.next();
        parseStmtOrBlock(p, sc, elseS);
      }
    });
    out.push({ kind: 'if', cond, thenBody: thenS, elseBody: elseS, line: t.line });
    return;
  }
  if (TYPE_NAMES.has(t.text) || t.text === 'atomic_t' || t.text === 'unsigned' || t.text === 'long')
    p.fail(`unsupported local declaration of type '${t.text}'; expected 'int <register>'`, t.line);
  const t2 = p.peek2();
  if (t2.kind === 'punct' && t2.text === '(') {
    checkKnownPrim(p);
    out.push(parseCall(p, sc, null));
    p.expectPunct(';', 'after the statement');
    return;
  }
  if (t2.kind === 'punct' && t2.text === '=') {
    p.next();
    p.next();
    out.push(parseRhs(p, sc, t, t.line));
    p.expectPunct(';', 'after the assignment');
    return;
  }
  p.fail(
    `expected a statement (assignment, call, 'int' declaration or 'if') in P${sc.id}, found '${t.text}'`,
    t.line,
  );
}

function parseProc(p: Parser, expectedId: number): Proc {
  // Process code: '(*' is '(' then '*', not a comment.
  p.setOcaml(false);
  if (p.isId('void')) p.next();
  const head = p.peek();
  const m = head.kind === 'id' ? /^P([0-9]+)$/.exec(head.text) : null;
  if (m === null) p.fail(`expected process 'P${expectedId}', found ${describe(head)}`, head.line);
  const id = Number(m[1]);
  if (id !== expectedId)
    p.fail(
      `expected process 'P${expectedId}', found 'P${id}' (processes are numbered from 0 in order)`,
      head.line,
    );
  p.next();
  const params = parseParams(p);
  const sc: ProcScope = {
    id,
    params: new Map(params.map((q) => [q.name, q])),
    regs: [],
    regSet: new Set(),
  };
  p.expectPunct('{', `to open the body of P${id}`);
  const body: Stmt[] = [];
  for (;;) {
    const t = p.peek();
    if (t.kind === 'punct' && t.text === '}') break;
    if (t.kind === 'eof') p.fail(`expected '}' to close the body of P${id}`, t.line);
    parseStmt(p, sc, body);
  }
  p.next();
  p.setOcaml(true);
  return { id, params, regs: sc.regs, body, line: head.line };
}

function parseCondLoc(p: Parser, procs: readonly Proc[], vars: ReadonlyMap<string, SharedVar>): CondLoc {
  const t = p.peek();
  if (t.kind === 'num') {
    p.next();
    const proc = p.number(t);
    p.expectPunct(':', `after process number ${proc} (expected '${proc}:<register>')`);
    const r = p.expectId(`a register name after '${proc}:'`);
    const pr = procs[proc];
    if (pr === undefined) p.fail(`no process P${proc}`, t.line);
    if (!pr.regs.includes(r.text)) p.fail(`P${proc} has no register '${r.text}'`, r.line);
    return { kind: 'reg', proc, reg: r.text };
  }
  const bracket = p.eatPunct('[');
  const v = p.expectId("a location ('<proc>:<register>' or a shared variable)");
  if (bracket) p.expectPunct(']', `after '[${v.text}'`);
  if (!vars.has(v.text)) p.fail(`unknown shared variable '${v.text}'`, v.line);
  return { kind: 'var', name: v.text };
}

function parseProp(p: Parser, procs: readonly Proc[], vars: ReadonlyMap<string, SharedVar>): Prop {
  const left = parsePropOr(p, procs, vars);
  const arrow = p.peek();
  if (p.eatPunct('=>'))
    return { kind: 'implies', left, right: p.nested(arrow, () => parseProp(p, procs, vars)) };
  return left;
}

function parsePropOr(p: Parser, procs: readonly Proc[], vars: ReadonlyMap<string, SharedVar>): Prop {
  let left = parsePropAnd(p, procs, vars);
  let levels = 0;
  try {
    for (let t = p.peek(); p.eatPunct('\\/'); t = p.peek()) {
      p.open(t);
      levels++;
      left = { kind: 'or', left, right: parsePropAnd(p, procs, vars) };
    }
  } finally {
    p.close(levels);
  }
  return left;
}

function parsePropAnd(p: Parser, procs: readonly Proc[], vars: ReadonlyMap<string, SharedVar>): Prop {
  let left = parsePropUnary(p, procs, vars);
  let levels = 0;
  try {
    for (let t = p.peek(); p.eatPunct('/\\'); t = p.peek()) {
      p.open(t);
      levels++;
      left = { kind: 'and', left, right: parsePropUnary(p, procs, vars) };
    }
  } finally {
    p.close(levels);
  }
  return left;
}

function parsePropUnary(p: Parser, procs: readonly Proc[], vars: ReadonlyMap<string, SharedVar>): Prop {
  const t = p.peek();
  if ((t.kind === 'punct' && t.text === '~') || (t.kind === 'id' && t.text === 'not')) {
    p.next();
    return { kind: 'not', arg: p.nested(t, () => parsePropUnary(p, procs, vars)) };
  }
  if (t.kind === 'punct' && t.text === '(') {
    p.next();
    const inner = p.nested(t, () => parseProp(p, procs, vars));
    p.expectPunct(')', 'to close the parenthesised condition');
    return inner;
  }
  if (t.kind === 'id' && (t.text === 'true' || t.text === 'false')) {
    p.next();
    return { kind: t.text };
  }
  const loc = parseCondLoc(p, procs, vars);
  const op = p.peek();
  if (!(op.kind === 'punct' && (op.text === '=' || op.text === '==' || op.text === '!=')))
    p.fail(`expected '=' or '!=' after a location in the condition, found ${describe(op)}`, op.line);
  p.next();
  const value = p.signedInt('as the value compared in the condition');
  return { kind: 'eq', loc, value, negated: op.text === '!=' };
}

function findResult(comments: readonly string[]): LitmusResult | undefined {
  for (const c of comments) {
    const m = /Result:\s*(Never|Sometimes|Always)\b/.exec(c);
    if (m !== null) return m[1] as LitmusResult;
  }
  return undefined;
}

/**
 * Parses a litmus test in herd7's C format.
 *
 * @param text - the whole file.
 * @param file - a file name, used in error messages and recorded in the result.
 * @returns the test; the `Result:` line of its comments, if any, is `expected`.
 * @throws {@link LitmusParseError} on anything outside the supported subset (see the module doc).
 */
export function parseLitmus(text: string, file?: string): LitmusTest {
  const p: Parser = new Parser(text, file);
  const name = parseHeader(p, text);

  // Prelude: comments and optional doc strings, then the init block.
  while (p.peek().kind === 'str') p.next();
  const initVars = parseInit(p);

  const procs: Proc[] = [];
  for (;;) {
    const t = p.peek();
    if (t.kind === 'id' && (/^P[0-9]+$/.test(t.text) || t.text === 'void'))
      procs.push(parseProc(p, procs.length));
    else break;
  }
  if (procs.length === 0) p.fail(`expected process 'P0(...)', found ${describe(p.peek())}`, p.peek().line);

  // Shared variables: init block first, then those only named by parameters; types must agree.
  const vars = new Map<string, SharedVar>();
  const typeOf = new Map<string, VarType | 'int *'>();
  for (const v of initVars) if (v.type !== undefined) typeOf.set(v.name, v.type);
  for (const pr of procs) {
    for (const q of pr.params) {
      const known = typeOf.get(q.name);
      if (known === undefined) typeOf.set(q.name, q.type);
      else if (known !== q.type)
        p.fail(
          `parameter '${q.name}' of P${pr.id} is '${q.type} *' but '${q.name}' is '${known}' elsewhere`,
          pr.line,
        );
    }
  }
  for (const v of initVars) {
    const type = typeOf.get(v.name) ?? 'int';
    const sv: SharedVar =
      v.pointsTo !== undefined
        ? { name: v.name, type, init: 0, pointsTo: v.pointsTo }
        : { name: v.name, type, init: v.init };
    vars.set(v.name, sv);
  }
  for (const pr of procs) {
    for (const q of pr.params)
      if (!vars.has(q.name)) vars.set(q.name, { name: q.name, type: q.type, init: 0 });
  }

  // Postlude: locations, filter, then the quantified condition.
  let locations: CondLoc[] = [];
  let filter: Prop | undefined;
  let condition: Condition | undefined;
  while (condition === undefined) {
    const t = p.peek();
    if (t.kind === 'id' && t.text === 'locations') {
      p.next();
      p.expectPunct('[', "after 'locations'");
      const locs: CondLoc[] = [];
      while (!p.eatPunct(']')) {
        if (p.eatPunct(';')) continue;
        locs.push(parseCondLoc(p, procs, vars));
        const sep = p.peek();
        if (!(sep.kind === 'punct' && (sep.text === ';' || sep.text === ']')))
          p.fail(`expected ';' or ']' in the locations list, found ${describe(sep)}`, sep.line);
      }
      locations = locs;
      continue;
    }
    if (t.kind === 'id' && t.text === 'filter') {
      p.next();
      filter = parseProp(p, procs, vars);
      continue;
    }
    let quantifier: Quantifier | undefined;
    if (t.kind === 'id' && t.text === 'exists') quantifier = 'exists';
    else if (t.kind === 'id' && t.text === 'forall') quantifier = 'forall';
    else if (t.kind === 'punct' && t.text === '~') {
      p.next();
      const e = p.peek();
      if (!(e.kind === 'id' && e.text === 'exists'))
        p.fail(`expected 'exists' after '~', found ${describe(e)}`, e.line);
      quantifier = 'not-exists';
    }
    if (quantifier === undefined)
      p.fail(`expected 'exists', '~exists', 'forall', 'locations' or 'filter', found ${describe(t)}`, t.line);
    p.next();
    condition = { quantifier, prop: parseProp(p, procs, vars), line: t.line };
  }
  const rest = p.peek();
  if (rest.kind !== 'eof')
    p.fail(`expected end of input after the condition, found ${describe(rest)}`, rest.line);

  const expected = findResult(p.comments);
  return {
    name,
    ...(file !== undefined ? { file } : {}),
    ...(expected !== undefined ? { expected } : {}),
    vars: [...vars.values()],
    procs,
    locations,
    ...(filter !== undefined ? { filter } : {}),
    condition,
  };
}
