/**
 * A reference interpreter for parsed litmus tests, independent of the simulator: the
 * cross-check for the simulator's litmus runner.
 *
 * Contents:
 * - {@link runOracle}: enumerates every execution of a {@link LitmusTest} under `sc`, `tso`
 *   or `pso` and returns the distinct final states and herd's verdict.
 * - {@link evalProp}, {@link stateKey}: evaluate a condition on a final state; a canonical
 *   string for a final state.
 *
 * The models, deliberately operational and small:
 * - `sc`: one shared memory; each access takes effect when its process steps.
 * - `tso` (x86-TSO): each process has a FIFO store buffer. A store enters it; a load reads the
 *   newest own buffered store to that variable, else memory; the oldest entry drains to memory
 *   as a separate step at any time. `smp_mb`, every RMW (`xchg*`, `cmpxchg*`, also a failing
 *   `cmpxchg`: x86's `lock cmpxchg`) and `spin_lock` wait until the own buffer is empty and
 *   then act atomically on memory; `spin_lock` also waits while the lock is held (memory 1).
 *   `smp_wmb`, `smp_rmb`, acquire and release add nothing; `spin_unlock` is a buffered store of 0.
 * - `pso`: as tso, but a buffered entry may drain before older entries to *other* variables,
 *   unless a write barrier separates them: `smp_wmb`, `smp_store_release` and `spin_unlock`
 *   (a release) order every earlier store of the process before every later one.
 *   (Each barrier starts a new epoch; an entry may drain only when every older entry has
 *   its epoch and a different variable.)
 *
 * Registers, `if` and plain assignments are process-local and run eagerly right after the
 * process's previous step (they commute with everything). States are hashed and each
 * distinct state is expanded once, so every test explores a few thousand states at most.
 *
 * The verdict follows herd7: with `pos` the final states (after `filter`) satisfying the
 * proposition and `neg` the others, it is `Never` if pos = 0, else `Always` if neg = 0, else
 * `Sometimes` — whatever the quantifier; `conditionHolds` is herd's Ok/No (`exists`: pos > 0,
 * `~exists`: pos = 0, `forall`: neg = 0). herd counts executions, this counts distinct
 * final states; the three-way verdict is the same.
 */
import type { CondLoc, Expr, LitmusResult, LitmusTest, Prop, Stmt } from '../../../src/check/litmus/ast.js';

/** The memory models the oracle implements. */
export type OracleModel = 'sc' | 'tso' | 'pso';

/**
 * A final state: every register as `"<proc>:<reg>"` and every shared variable (spinlocks
 * included, 1 = held) by name → its value once all store buffers have drained. Init-block
 * pointer variables (`int *p = &x`), which no process can access, are left out.
 */
export type FinalState = Readonly<Record<string, number>>;

/** What {@link runOracle} found. */
export interface OracleResult {
  readonly model: OracleModel;
  /** Distinct final states that pass the test's `filter`, sorted by {@link stateKey}. */
  readonly states: readonly FinalState[];
  /** herd's Observation: `Never` / `Sometimes` / `Always` for the clause's proposition. */
  readonly verdict: LitmusResult;
  /** herd's Ok/No: whether the quantified clause holds. */
  readonly conditionHolds: boolean;
  /** Final states satisfying the proposition. */
  readonly positive: number;
  /** Final states not satisfying it. */
  readonly negative: number;
  /** Distinct machine states expanded. */
  readonly explored: number;
  /** Reachable states where nothing can move and not every process has finished. */
  readonly deadlocks: number;
}

/** Flat code: `if` becomes a conditional jump. */
type Instr =
  | { readonly op: 'assign'; readonly reg: number; readonly value: Expr }
  | { readonly op: 'load'; readonly reg: number; readonly loc: number }
  | { readonly op: 'store'; readonly loc: number; readonly value: Expr; readonly release: boolean }
  | {
      readonly op: 'rmw';
      readonly reg: number;
      readonly loc: number;
      readonly expected: Expr | null;
      readonly value: Expr;
    }
  | { readonly op: 'mb' | 'wmb' | 'rmb' }
  | { readonly op: 'lock' | 'unlock'; readonly loc: number }
  | { readonly op: 'jumpIfZero'; readonly cond: Expr; readonly target: number }
  | { readonly op: 'jump'; readonly target: number };

interface Entry {
  readonly loc: number;
  readonly value: number;
  readonly epoch: number;
}

interface MState {
  readonly pc: number[];
  readonly regs: number[][];
  readonly mem: number[];
  readonly buf: Entry[][];
  readonly epoch: number[];
}

interface Compiled {
  readonly code: Instr[];
  readonly regIndex: ReadonlyMap<string, number>;
}

function compile(
  stmts: readonly Stmt[],
  regIndex: ReadonlyMap<string, number>,
  varIndex: ReadonlyMap<string, number>,
) {
  const code: Instr[] = [];
  const reg = (r: string | null): number => (r === null ? -1 : regIndex.get(r)!);
  const loc = (v: string): number => {
    const i = varIndex.get(v);
    if (i === undefined) throw new Error(`oracle: unknown variable ${v}`);
    return i;
  };
  const emit = (list: readonly Stmt[]): void => {
    for (const s of list) {
      switch (s.kind) {
        case 'assign':
          code.push({ op: 'assign', reg: reg(s.reg), value: s.value });
          break;
        case 'load':
          code.push({ op: 'load', reg: reg(s.reg), loc: loc(s.loc) });
          break;
        case 'store':
          code.push({ op: 'store', loc: loc(s.loc), value: s.value, release: s.order === 'release' });
          break;
        case 'rmw':
          code.push({ op: 'rmw', reg: reg(s.reg), loc: loc(s.loc), expected: s.expected, value: s.value });
          break;
        case 'fence':
          code.push({ op: s.fence });
          break;
        case 'lock':
          code.push({ op: s.op === 'spin_lock' ? 'lock' : 'unlock', loc: loc(s.lock) });
          break;
        case 'if': {
          const branch = code.length;
          code.push({ op: 'jumpIfZero', cond: s.cond, target: -1 });
          emit(s.thenBody);
          if (s.elseBody.length === 0) {
            code[branch] = { op: 'jumpIfZero', cond: s.cond, target: code.length };
          } else {
            const jump = code.length;
            code.push({ op: 'jump', target: -1 });
            code[branch] = { op: 'jumpIfZero', cond: s.cond, target: code.length };
            emit(s.elseBody);
            code[jump] = { op: 'jump', target: code.length };
          }
          break;
        }
      }
    }
  };
  emit(stmts);
  return code;
}

function evalExpr(e: Expr, regs: readonly number[], regIndex: ReadonlyMap<string, number>): number {
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'reg':
      return regs[regIndex.get(e.name)!]!;
    case 'unary': {
      const a = evalExpr(e.arg, regs, regIndex);
      return e.op === '!' ? (a === 0 ? 1 : 0) : -a | 0;
    }
    case 'binary': {
      const a = evalExpr(e.left, regs, regIndex);
      const b = evalExpr(e.right, regs, regIndex);
      switch (e.op) {
        case '==':
          return a === b ? 1 : 0;
        case '!=':
          return a !== b ? 1 : 0;
        case '<':
          return a < b ? 1 : 0;
        case '<=':
          return a <= b ? 1 : 0;
        case '>':
          return a > b ? 1 : 0;
        case '>=':
          return a >= b ? 1 : 0;
        case '&&':
          return a !== 0 && b !== 0 ? 1 : 0;
        case '||':
          return a !== 0 || b !== 0 ? 1 : 0;
        case '+':
          return (a + b) | 0;
        case '-':
          return (a - b) | 0;
        case '&':
          return a & b;
        case '|':
          return a | b;
        case '^':
          return a ^ b;
      }
    }
  }
}

function condKey(loc: CondLoc): string {
  return loc.kind === 'reg' ? `${loc.proc}:${loc.reg}` : loc.name;
}

/** Evaluates a condition proposition on a final state (a location missing from it is an error). */
export function evalProp(p: Prop, st: FinalState): boolean {
  switch (p.kind) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'eq': {
      const v = st[condKey(p.loc)];
      if (v === undefined) throw new Error(`oracle: final state has no ${condKey(p.loc)}`);
      return (v === p.value) !== p.negated;
    }
    case 'not':
      return !evalProp(p.arg, st);
    case 'and':
      return evalProp(p.left, st) && evalProp(p.right, st);
    case 'or':
      return evalProp(p.left, st) || evalProp(p.right, st);
    case 'implies':
      return !evalProp(p.left, st) || evalProp(p.right, st);
  }
}

/** A canonical one-line form of a final state: `key=value` pairs sorted by key, `; `-separated. */
export function stateKey(st: FinalState): string {
  return Object.keys(st)
    .sort()
    .map((k) => `${k}=${st[k]}`)
    .join('; ');
}

function hash(s: MState): string {
  let h = `${s.pc.join(',')}|${s.mem.join(',')}|${s.epoch.join(',')}`;
  for (const r of s.regs) h += `|${r.join(',')}`;
  for (const b of s.buf) {
    h += '|';
    for (const e of b) h += `${e.loc}:${e.value}:${e.epoch},`;
  }
  return h;
}

function clone(s: MState): MState {
  return {
    pc: s.pc.slice(),
    regs: s.regs.map((r) => r.slice()),
    mem: s.mem.slice(),
    buf: s.buf.map((b) => b.slice()),
    epoch: s.epoch.slice(),
  };
}

/**
 * Enumerates all executions of `test` under `model`.
 *
 * @returns the distinct final states (after `filter`), herd's verdict for the clause, and
 *   exploration counts.
 */
export function runOracle(test: LitmusTest, model: OracleModel): OracleResult {
  const vars = test.vars.filter((v) => v.type !== 'int *');
  const varIndex = new Map(vars.map((v, i) => [v.name, i]));
  const procs: Compiled[] = test.procs.map((p) => {
    const regIndex = new Map(p.regs.map((r, i) => [r, i]));
    return { code: compile(p.body, regIndex, varIndex), regIndex };
  });
  const buffered = model !== 'sc';

  /** Runs process `i`'s local instructions (assignments, branches) in place. */
  const runLocal = (s: MState, i: number): void => {
    const { code, regIndex } = procs[i]!;
    const regs = s.regs[i]!;
    for (;;) {
      const ins = code[s.pc[i]!];
      if (ins === undefined) return;
      if (ins.op === 'assign') {
        regs[ins.reg] = evalExpr(ins.value, regs, regIndex);
        s.pc[i]!++;
      } else if (ins.op === 'jumpIfZero') {
        s.pc[i] = evalExpr(ins.cond, regs, regIndex) === 0 ? ins.target : s.pc[i]! + 1;
      } else if (ins.op === 'jump') {
        s.pc[i] = ins.target;
      } else return;
    }
  };

  /** A store by process `i` (into its buffer unless sc); `release` starts a new pso epoch first. */
  const store = (s: MState, i: number, loc: number, value: number, release: boolean): void => {
    if (!buffered) {
      s.mem[loc] = value;
      return;
    }
    if (release && model === 'pso') s.epoch[i]!++;
    s.buf[i]!.push({ loc, value, epoch: s.epoch[i]! });
  };

  /** The successor of process `i` executing its next instruction, or null if it cannot now. */
  const step = (s: MState, i: number): MState | null => {
    const { code, regIndex } = procs[i]!;
    const ins = code[s.pc[i]!];
    if (ins === undefined) return null;
    const empty = s.buf[i]!.length === 0;
    let n: MState;
    switch (ins.op) {
      case 'load': {
        n = clone(s);
        const b = n.buf[i]!;
        let v = n.mem[ins.loc]!;
        for (let k = b.length - 1; k >= 0; k--) {
          if (b[k]!.loc === ins.loc) {
            v = b[k]!.value;
            break;
          }
        }
        if (ins.reg >= 0) n.regs[i]![ins.reg] = v;
        break;
      }
      case 'store':
        n = clone(s);
        store(n, i, ins.loc, evalExpr(ins.value, n.regs[i]!, regIndex), ins.release);
        break;
      case 'rmw': {
        if (!empty) return null;
        n = clone(s);
        const regs = n.regs[i]!;
        const old = n.mem[ins.loc]!;
        const value = evalExpr(ins.value, regs, regIndex);
        if (ins.expected === null || evalExpr(ins.expected, regs, regIndex) === old) n.mem[ins.loc] = value;
        if (ins.reg >= 0) regs[ins.reg] = old;
        break;
      }
      case 'mb':
        if (!empty) return null;
        n = clone(s);
        break;
      case 'wmb':
        n = clone(s);
        if (model === 'pso') n.epoch[i]!++;
        break;
      case 'rmb':
        n = clone(s);
        break;
      case 'lock':
        if (!empty || s.mem[ins.loc] !== 0) return null;
        n = clone(s);
        n.mem[ins.loc] = 1;
        break;
      case 'unlock':
        n = clone(s);
        store(n, i, ins.loc, 0, true);
        break;
      default:
        throw new Error(`oracle: local instruction ${ins.op} left unexecuted`);
    }
    n.pc[i]!++;
    runLocal(n, i);
    return n;
  };

  /** Indices of process `i`'s buffer entries that may drain next. */
  const drainable = (s: MState, i: number): number[] => {
    const b = s.buf[i]!;
    if (b.length === 0) return [];
    if (model === 'tso') return [0];
    const out: number[] = [];
    for (let j = 0; j < b.length; j++) {
      const e = b[j]!;
      let ok = true;
      for (let k = 0; k < j; k++) {
        if (b[k]!.epoch !== e.epoch || b[k]!.loc === e.loc) {
          ok = false;
          break;
        }
      }
      if (ok) out.push(j);
    }
    return out;
  };

  const init: MState = {
    pc: procs.map(() => 0),
    regs: test.procs.map((p) => p.regs.map(() => 0)),
    mem: vars.map((v) => v.init),
    buf: procs.map(() => []),
    epoch: procs.map(() => 0),
  };
  for (let i = 0; i < procs.length; i++) runLocal(init, i);

  const seen = new Set<string>([hash(init)]);
  const stack: MState[] = [init];
  const finals = new Map<string, FinalState>();
  let deadlocks = 0;
  while (stack.length > 0) {
    const s = stack.pop()!;
    let moved = false;
    const push = (n: MState): void => {
      moved = true;
      const h = hash(n);
      if (seen.has(h)) return;
      seen.add(h);
      stack.push(n);
    };
    for (let i = 0; i < procs.length; i++) {
      const n = step(s, i);
      if (n !== null) push(n);
      for (const j of drainable(s, i)) {
        const d = clone(s);
        const [e] = d.buf[i]!.splice(j, 1);
        d.mem[e!.loc] = e!.value;
        push(d);
      }
    }
    if (moved) continue;
    const done = s.pc.every((pc, i) => pc >= procs[i]!.code.length);
    if (!done) {
      deadlocks++;
      continue;
    }
    const st: Record<string, number> = {};
    test.procs.forEach((p, i) => {
      p.regs.forEach((r, k) => {
        st[`${p.id}:${r}`] = s.regs[i]![k]!;
      });
    });
    vars.forEach((v, k) => {
      st[v.name] = s.mem[k]!;
    });
    finals.set(stateKey(st), st);
  }

  const states = [...finals.entries()]
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
    .map(([, st]) => st)
    .filter((st) => test.filter === undefined || evalProp(test.filter, st));
  let positive = 0;
  for (const st of states) if (evalProp(test.condition.prop, st)) positive++;
  const negative = states.length - positive;
  const verdict: LitmusResult = positive === 0 ? 'Never' : negative === 0 ? 'Always' : 'Sometimes';
  const q = test.condition.quantifier;
  const conditionHolds = q === 'exists' ? positive > 0 : q === 'not-exists' ? positive === 0 : negative === 0;
  return { model, states, verdict, conditionHolds, positive, negative, explored: seen.size, deadlocks };
}
