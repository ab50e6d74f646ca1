/**
 * Runs a parsed litmus test on the simulated kernel: each process `Pi` is a task pinned to
 * CPU i, shared variables are cells (spinlocks are spinlocks), and every execution is explored
 * exhaustively (DFS with sleep sets) under the chosen memory model. The result is the set of
 * final states — each register as `"<proc>:<reg>"`, each shared variable by name, after every
 * store buffer drained — and herd7's verdict on the clause's proposition: `Never` (no state
 * satisfies it), `Always` (all do) or `Sometimes`.
 */

import type { Cell } from '../../kernel/cell.js';
import type { MemoryModel } from '../../kernel/memory.js';
import {
  type KernelCode,
  OP,
  READ_ONCE,
  smp_load_acquire,
  smp_mb,
  smp_rmb,
  smp_store_release,
  smp_wmb,
  WRITE_ONCE,
} from '../../kernel/ops.js';
import { type Spinlock, spin_lock, spin_unlock } from '../../kernel/spinlock.js';
import { runScenario } from '../runner.js';
import type { Scenario } from '../scenario.js';
import { DfsSearch } from '../strategies/dfs.js';
import { Abandon } from '../strategy.js';
import type { CondLoc, Expr, LitmusResult, LitmusTest, Prop, Stmt } from './ast.js';

/**
 * A test that cannot run as written (herd's `unmatched-unlock` flag): a process unlocks a
 * spinlock it does not hold. `line` is the 1-based line of the statement.
 */
export class LitmusRunError extends Error {
  readonly line: number;

  constructor(message: string, line: number) {
    super(message);
    this.name = 'LitmusRunError';
    this.line = line;
  }
}

/** One final state: `"0:r0"` → value, `"x"` → value. */
export type LitmusState = Readonly<Record<string, number>>;

/** The outcome of `runLitmus`. */
export interface LitmusRun {
  readonly name: string;
  readonly model: MemoryModel;
  readonly verdict: LitmusResult;
  readonly states: LitmusState[];
  /** Executions explored (excluding those pruned as redundant). */
  readonly executions: number;
  /** Executions that ended in a deadlock (no final state). */
  readonly deadlocks: number;
  readonly complete: boolean;
  /** What cut the search, when it is not complete. */
  readonly cutBy?: 'executions' | 'time-limit';
  /** States satisfying / not satisfying the proposition. */
  readonly positive: number;
  readonly negative: number;
  readonly expected?: LitmusResult;
}

function evalExpr(e: Expr, regs: Map<string, number>): number {
  switch (e.kind) {
    case 'const':
      return e.value;
    case 'reg':
      return regs.get(e.name) ?? 0;
    case 'unary': {
      const v = evalExpr(e.arg, regs);
      return e.op === '!' ? (v === 0 ? 1 : 0) : -v;
    }
    case 'binary': {
      const l = evalExpr(e.left, regs);
      if (e.op === '&&') return l !== 0 && evalExpr(e.right, regs) !== 0 ? 1 : 0;
      if (e.op === '||') return l !== 0 || evalExpr(e.right, regs) !== 0 ? 1 : 0;
      const r = evalExpr(e.right, regs);
      switch (e.op) {
        case '==':
          return l === r ? 1 : 0;
        case '!=':
          return l !== r ? 1 : 0;
        case '<':
          return l < r ? 1 : 0;
        case '<=':
          return l <= r ? 1 : 0;
        case '>':
          return l > r ? 1 : 0;
        case '>=':
          return l >= r ? 1 : 0;
        case '+':
          return l + r;
        case '-':
          return l - r;
        case '&':
          return l & r;
        case '|':
          return l | r;
        case '^':
          return l ^ r;
      }
    }
  }
  throw new Error(`litmus: unknown expression ${JSON.stringify(e)}`);
}

function condKey(l: CondLoc): string {
  return l.kind === 'reg' ? `${l.proc}:${l.reg}` : l.name;
}

/** Evaluates a proposition on a final state. */
export function evalProp(p: Prop, st: LitmusState): boolean {
  switch (p.kind) {
    case 'true':
      return true;
    case 'false':
      return false;
    case 'eq': {
      const v = st[condKey(p.loc)];
      if (v === undefined)
        throw new Error(`litmus: the condition names ${condKey(p.loc)}, which the test does not have`);
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

/** A canonical one-line form of a state. */
export function litmusStateKey(st: LitmusState): string {
  return Object.keys(st)
    .sort()
    .map((k) => `${k}=${st[k]}`)
    .join('; ');
}

/**
 * The test as a scenario (for `runScenario`); `onState` collects each run's final state,
 * `onMisuse` gets the error of a statement that cannot run (the task then stops with it).
 */
function litmusScenario(
  test: LitmusTest,
  model: MemoryModel,
  onState: (s: LitmusState) => void,
  onMisuse: (e: LitmusRunError) => void,
): Scenario {
  return {
    name: 'litmus',
    title: test.name,
    description: `litmus test ${test.name}`,
    config: { cpus: Math.max(1, test.procs.length), memoryModel: model, timed: false, trace: false },
    setup(k) {
      const cells = new Map<string, Cell>();
      const locks = new Map<string, Spinlock>();
      for (const v of test.vars) {
        if (v.type === 'spinlock_t') locks.set(v.name, k.spinlock(v.name));
        else if (v.type === 'int') cells.set(v.name, k.cell(v.name, v.init));
      }
      const cellOf = (name: string): Cell => {
        const c = cells.get(name);
        if (c === undefined) throw new Error(`litmus ${test.name}: '${name}' is not a shared int variable`);
        return c;
      };
      const lockOf = (name: string): Spinlock => {
        const l = locks.get(name);
        if (l === undefined) throw new Error(`litmus ${test.name}: '${name}' is not a spinlock`);
        return l;
      };
      const regSets: Map<string, number>[] = [];
      for (const p of test.procs) {
        // Parameters may name variables the init block left out (they start at 0).
        for (const prm of p.params) {
          if (prm.type === 'spinlock_t' && !locks.has(prm.name)) locks.set(prm.name, k.spinlock(prm.name));
          if (prm.type === 'int' && !cells.has(prm.name)) cells.set(prm.name, k.cell(prm.name, 0));
        }
        const regs = new Map<string, number>();
        for (const r of p.regs) regs.set(r, 0);
        const held = new Set<string>();
        regSets.push(regs);
        const exec = function* (stmts: readonly Stmt[]): KernelCode<void> {
          for (const s of stmts) {
            switch (s.kind) {
              case 'assign':
                regs.set(s.reg, evalExpr(s.value, regs));
                break;
              case 'load': {
                const v =
                  s.order === 'acquire'
                    ? yield* smp_load_acquire(cellOf(s.loc))
                    : yield* READ_ONCE(cellOf(s.loc));
                if (s.reg !== null) regs.set(s.reg, v);
                break;
              }
              case 'store': {
                const v = evalExpr(s.value, regs);
                if (s.order === 'release') yield* smp_store_release(cellOf(s.loc), v);
                else yield* WRITE_ONCE(cellOf(s.loc), v);
                break;
              }
              case 'rmw': {
                const nv = evalExpr(s.value, regs);
                const exp = s.expected === null ? 0 : evalExpr(s.expected, regs);
                const isCmp = s.op === 'cmpxchg';
                const old = (yield {
                  code: OP.RMW,
                  cell: cellOf(s.loc),
                  name: s.op,
                  fn: (o: number) => (isCmp ? (o === exp ? nv : o) : nv),
                  ret: 'old',
                  ordered: s.order === 'mb' || s.order === 'acquire',
                }) as number;
                if (s.reg !== null) regs.set(s.reg, old);
                break;
              }
              case 'fence':
                if (s.fence === 'mb') yield* smp_mb();
                else if (s.fence === 'wmb') yield* smp_wmb();
                else yield* smp_rmb();
                break;
              case 'lock':
                if (s.op === 'spin_lock') {
                  yield* spin_lock(lockOf(s.lock));
                  held.add(s.lock);
                } else {
                  if (!held.delete(s.lock)) {
                    const e = new LitmusRunError(
                      `P${p.id} unlocks '${s.lock}', which it does not hold`,
                      s.line,
                    );
                    onMisuse(e);
                    throw e;
                  }
                  yield* spin_unlock(lockOf(s.lock));
                }
                break;
              case 'if':
                yield* exec(evalExpr(s.cond, regs) !== 0 ? s.thenBody : s.elseBody);
                break;
            }
          }
        };
        k.spawn(`P${p.id}`, () => exec(p.body), { cpu: p.id % k.cpus.length, pinned: true });
      }
      return {
        final: () => {
          const st: Record<string, number> = {};
          test.procs.forEach((p, i) => {
            for (const [r, v] of regSets[i]!) st[`${p.id}:${r}`] = v;
          });
          for (const [n, c] of cells) st[n] = c.value;
          for (const [n, l] of locks) st[n] = l.cell.value;
          onState(st);
          return undefined;
        },
      };
    },
  };
}

/**
 * Runs every execution of `test` under `model`, up to `maxExecutions` and, if given, until
 * `deadline` (`Date.now()` milliseconds).
 * @throws {@link LitmusRunError} when an execution reaches a statement that cannot run.
 */
export function runLitmus(
  test: LitmusTest,
  model: MemoryModel,
  maxExecutions = 1_000_000,
  deadline?: number,
): LitmusRun {
  const seen = new Map<string, LitmusState>();
  let last: LitmusState | null = null;
  let misuse: LitmusRunError | null = null;
  const scenario = litmusScenario(
    test,
    model,
    (s) => {
      last = s;
    },
    (e) => {
      misuse = e;
    },
  );
  const search = new DfsSearch({});
  let executions = 0;
  let deadlocks = 0;
  let complete = false;
  let cutBy: LitmusRun['cutBy'];
  for (;;) {
    if (deadline !== undefined && Date.now() >= deadline) {
      cutBy = 'time-limit';
      break;
    }
    last = null;
    try {
      const r = runScenario(scenario, { chooser: search.chooser(), maxSteps: 100_000, keepTrace: false });
      executions++;
      if (r.status === 'hang') deadlocks++;
      const st = last as LitmusState | null;
      if (st !== null) seen.set(litmusStateKey(st), st);
    } catch (e) {
      if (misuse !== null) throw misuse;
      if (!(e instanceof Abandon)) throw e;
    }
    if (!search.next()) {
      complete = true;
      break;
    }
    if (executions >= maxExecutions) {
      cutBy = 'executions';
      break;
    }
  }
  let states = [...seen.values()];
  if (test.filter !== undefined) {
    const f = test.filter;
    states = states.filter((s) => evalProp(f, s));
  }
  states.sort((a, b) => (litmusStateKey(a) < litmusStateKey(b) ? -1 : 1));
  let positive = 0;
  for (const s of states) if (evalProp(test.condition.prop, s)) positive++;
  const negative = states.length - positive;
  const verdict: LitmusResult = positive === 0 ? 'Never' : negative === 0 ? 'Always' : 'Sometimes';
  return {
    name: test.name,
    model,
    verdict,
    states,
    executions,
    deadlocks,
    complete,
    ...(cutBy !== undefined ? { cutBy } : {}),
    positive,
    negative,
    ...(test.expected !== undefined ? { expected: test.expected } : {}),
  };
}
