/**
 * The abstract syntax of a litmus test in herd7's C format, shaped for an interpreter.
 *
 * Contents:
 * - {@link LitmusTest}: the whole test — name, the `Result:` line of its header comment, the
 *   shared variables with their initial values, the processes, and the final clause.
 * - {@link SharedVar}, {@link Param}, {@link Proc}: what the processes share and how each names it.
 * - {@link Stmt}: one statement of a process body. Every memory access is a whole statement
 *   (a load, a store, an atomic read-modify-write, a fence, a lock operation), so an
 *   interpreter can make each one its own step; {@link Expr} is pure arithmetic on registers
 *   and constants.
 * - {@link Prop} and {@link Condition}: the `exists` / `~exists` / `forall` clause, its
 *   optional `filter`, and the `locations` list.
 *
 * Names: a process refers to a shared variable through a parameter of the same name
 * (`P0(int *x)` with `READ_ONCE(*x)` accesses the shared variable `x`), so a statement's `loc`
 * is directly the shared variable's name. Registers are process-local; in a final state or a
 * condition a register is written `"<proc>:<reg>"`, e.g. `0:r0`.
 */

/** The outcome a test's header comment records, and the verdict of a run (herd's "Observation"). */
export type LitmusResult = 'Never' | 'Sometimes' | 'Always';

/** The C type of a shared variable (the pointee type of the parameters that name it). */
export type VarType = 'int' | 'spinlock_t';

/**
 * A shared variable: declared in the init block or only as a parameter (then initially 0).
 * An init-block pointer (`int *p = &x;`) has type `int *` and `pointsTo`; no process can
 * access it (pointer parameters `int **` are not part of the supported subset), so
 * interpreters may leave it out of their final states.
 */
export interface SharedVar {
  readonly name: string;
  readonly type: VarType | 'int *';
  /** Initial value (0 unless the init block says otherwise; a spinlock starts unlocked, 0). */
  readonly init: number;
  /** For an `int *` variable: the variable whose address it holds initially. */
  readonly pointsTo?: string;
}

/** A process parameter: `int *x` or `spinlock_t *l`; `name` is the shared variable it points to. */
export interface Param {
  readonly name: string;
  readonly type: VarType;
}

/** Binary operators of expressions in process bodies (C semantics, results are integers). */
export type BinaryOp = '==' | '!=' | '<' | '<=' | '>' | '>=' | '&&' | '||' | '+' | '-' | '&' | '|' | '^';

/** Unary operators of expressions: logical not and arithmetic negation. */
export type UnaryOp = '!' | '-';

/** A pure expression over integer constants and the process's registers. */
export type Expr =
  | { readonly kind: 'const'; readonly value: number }
  | { readonly kind: 'reg'; readonly name: string }
  | { readonly kind: 'unary'; readonly op: UnaryOp; readonly arg: Expr }
  | { readonly kind: 'binary'; readonly op: BinaryOp; readonly left: Expr; readonly right: Expr };

/**
 * Ordering variant of an atomic read-modify-write: `xchg`/`cmpxchg` are fully ordered (`mb`),
 * the `_relaxed`, `_acquire` and `_release` suffixes give the others.
 */
export type RmwOrder = 'mb' | 'relaxed' | 'acquire' | 'release';

/** Fences: `smp_mb()`, `smp_wmb()`, `smp_rmb()`. */
export type FenceKind = 'mb' | 'wmb' | 'rmb';

/** Fields every statement carries: its 1-based source line, for diagnostics. */
interface StmtBase {
  readonly line: number;
}

/** `reg = expr;` (also `int reg = expr;`): a register assignment, no memory access. */
export interface AssignStmt extends StmtBase {
  readonly kind: 'assign';
  readonly reg: string;
  readonly value: Expr;
}

/**
 * `reg = READ_ONCE(*loc);` (order `once`) or `reg = smp_load_acquire(loc);` (order `acquire`).
 * `reg` is null when the value is discarded (`READ_ONCE(*x);` as a statement).
 */
export interface LoadStmt extends StmtBase {
  readonly kind: 'load';
  readonly reg: string | null;
  readonly loc: string;
  readonly order: 'once' | 'acquire';
}

/** `WRITE_ONCE(*loc, value);` (order `once`) or `smp_store_release(loc, value);` (`release`). */
export interface StoreStmt extends StmtBase {
  readonly kind: 'store';
  readonly loc: string;
  readonly value: Expr;
  readonly order: 'once' | 'release';
}

/**
 * An atomic read-modify-write returning the old value of `loc`:
 * - `xchg`: `reg = xchg(loc, value);` stores `value`.
 * - `cmpxchg`: `reg = cmpxchg(loc, expected, value);` stores `value` only when the old value
 *   equals `expected` (always returns the old value).
 * `reg` is null when the result is discarded.
 */
export interface RmwStmt extends StmtBase {
  readonly kind: 'rmw';
  readonly op: 'xchg' | 'cmpxchg';
  readonly order: RmwOrder;
  readonly reg: string | null;
  readonly loc: string;
  /** The compare value of `cmpxchg`; null for `xchg`. */
  readonly expected: Expr | null;
  readonly value: Expr;
}

/** `smp_mb();`, `smp_wmb();` or `smp_rmb();`. */
export interface FenceStmt extends StmtBase {
  readonly kind: 'fence';
  readonly fence: FenceKind;
}

/** `spin_lock(lock);` or `spin_unlock(lock);` on a `spinlock_t` shared variable. */
export interface LockStmt extends StmtBase {
  readonly kind: 'lock';
  readonly op: 'spin_lock' | 'spin_unlock';
  readonly lock: string;
}

/** `if (cond) { thenBody } else { elseBody }`: C truth (non-zero is true); `elseBody` empty when absent. */
export interface IfStmt extends StmtBase {
  readonly kind: 'if';
  readonly cond: Expr;
  readonly thenBody: readonly Stmt[];
  readonly elseBody: readonly Stmt[];
}

/** One statement of a process body. Declarations without initialiser produce no statement. */
export type Stmt = AssignStmt | LoadStmt | StoreStmt | RmwStmt | FenceStmt | LockStmt | IfStmt;

/** A process `P<id>(params) { body }`. */
export interface Proc {
  /** The number in `P<id>`; processes are listed in increasing id, which equals their index. */
  readonly id: number;
  readonly params: readonly Param[];
  /**
   * Every register of the process, in order of first appearance: declared (`int r0;`) or
   * implicitly declared by being assigned (herd accepts both). All start at 0.
   */
  readonly regs: readonly string[];
  readonly body: readonly Stmt[];
  /** Source line of the `P<id>(` header. */
  readonly line: number;
}

/** Something a condition can observe: a register of a process, or a shared variable's final value. */
export type CondLoc =
  | { readonly kind: 'reg'; readonly proc: number; readonly reg: string }
  | { readonly kind: 'var'; readonly name: string };

/** A proposition over a final state (herd's `/\`, `\/`, `~`, `=>`, `true`, `false`). */
export type Prop =
  | { readonly kind: 'true' }
  | { readonly kind: 'false' }
  | { readonly kind: 'eq'; readonly loc: CondLoc; readonly value: number; readonly negated: boolean }
  | { readonly kind: 'not'; readonly arg: Prop }
  | { readonly kind: 'and'; readonly left: Prop; readonly right: Prop }
  | { readonly kind: 'or'; readonly left: Prop; readonly right: Prop }
  | { readonly kind: 'implies'; readonly left: Prop; readonly right: Prop };

/** The quantifier of the final clause: `exists`, `~exists` or `forall`. */
export type Quantifier = 'exists' | 'not-exists' | 'forall';

/** The final clause `exists (prop)`, `~exists (prop)` or `forall (prop)`. */
export interface Condition {
  readonly quantifier: Quantifier;
  readonly prop: Prop;
  readonly line: number;
}

/** A parsed litmus test. */
export interface LitmusTest {
  /** The name on the `C <name>` line. */
  readonly name: string;
  /** The file it was read from, when the caller said. */
  readonly file?: string;
  /** The `Result:` line of the header comment, when present. */
  readonly expected?: LitmusResult;
  /** Shared variables: those of the init block first (in order), then those only named by parameters. */
  readonly vars: readonly SharedVar[];
  readonly procs: readonly Proc[];
  /** Extra locations to show in final states (`locations [x; 0:r1;]`); empty when absent. */
  readonly locations: readonly CondLoc[];
  /** `filter (prop)`: only final states satisfying it count. */
  readonly filter?: Prop;
  readonly condition: Condition;
}
