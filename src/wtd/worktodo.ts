/**
 * `struct worktodo`: a threadless, non-blocking state machine (LaHaise's 2.4 "Work To Do").
 *
 * A worktodo embeds a wait-queue entry (`wtd.wait`, whose `owner` points back at the wtd) and
 * a task-queue entry (`wtd.tq`, a `TqStruct`). Its *action* (2.4's `tq.routine`/`tq.data`) is
 * what runs next. A `wtd_*` primitive (see `primitives.ts`) either gets what it asks for at
 * once and returns 1 — the caller continues itself — or registers a func entry on the object's
 * wait queue and returns 0; the func later runs in the waker's context, takes the object for
 * the wtd under the queue lock, and `wtd_queue`s it, so the action runs on a worker of the
 * shared keventd pool (`src/kernel/tqueue.ts`, `keventd_init(k, n)` sets its size).
 *
 * Contents:
 * - `Worktodo`, `wtd_init`, `wtd_set_action`, `wtd_queue`, `wtd_call` (run the action inline);
 * - the continuation stack: `wtd_push`/`wtd_pop` (three frames deep, as in 2.4), printable
 *   with `wtd_describe`;
 * - `wtd_nonblocking(name, body)`: marks the current context as inside a `wtd_*` call while
 *   `body` runs (`wtd_mark`/`wtd_unmark`: the same, for code that marks itself). The first use on a kernel installs a `Kernel.scheduleChecks` entry, so any
 *   `schedule()` a context makes while marked is reported as a `bug` violation ("sleeping
 *   inside wtd_lock_page()") by the simulator itself, whatever code path led there.
 *
 * Our own choices (2.4 leaves them open): queueing a wtd that is already queued is reported as
 * a `bug` (2.4's `schedule_task` silently returned 0, which for a wtd means two parties think
 * they own it); overflowing the three-deep stack throws (2.4 would corrupt memory).
 */

import { current as cur } from '../kernel/current.js';
import type { Kernel } from '../kernel/kernel.js';
import { keyed } from '../kernel/keyed.js';
import type { KernelCode } from '../kernel/ops.js';
import { kernel } from '../kernel/sched.js';
import type { Context } from '../kernel/task.js';
import { schedule_tq, TqStruct } from '../kernel/tqueue.js';
import { WaitQueueEntry } from '../waitqueue/waitqueue.js';

/** An action: what a worktodo does when it runs (2.4's `void (*routine)(void *data)`). */
export type WtdAction = (wtd: Worktodo, data: unknown) => KernelCode<unknown>;

/** One saved continuation on a worktodo's stack. */
export interface WtdFrame {
  readonly action: WtdAction | null;
  readonly data: unknown;
}

/** Depth of the continuation stack (2.4: `struct wtd_stack stack[3]`). */
export const WTD_STACK_DEPTH = 3;

/** `struct worktodo`. */
export class Worktodo {
  // Fields are `declare`d and set in the constructor: V8 does not inline the construction of a
  // subclass (the page cache's `PcAio`, one per IO) whose base class defines fields.
  /** Name for traces and reports. */
  declare readonly name: string;
  /** The embedded wait-queue entry; `wait.owner` is this worktodo. */
  declare readonly wait: WaitQueueEntry;
  /** The embedded task-queue entry `wtd_queue` puts on the keventd pool. */
  declare readonly tq: TqStruct;
  /** The action to run next (`tq.routine`), set by `wtd_set_action`/`wtd_push`/`wtd_pop`. */
  declare action: WtdAction | null;
  /** The action's argument (`tq.data`). */
  declare data: unknown;
  /** What a primitive waits on for this wtd (2.4's `wtd->data`): a page, buffer or semaphore. */
  declare object: unknown;
  /** Saved continuations, oldest first (`stack[0..sp-1]`). */
  declare readonly stack: WtdFrame[];
  /** How many times an action of this wtd was run from the pool. */
  declare runs: number;
  /** How many times it was queued onto the pool. */
  declare queued: number;
  constructor(name: string) {
    this.name = name;
    this.wait = new WaitQueueEntry(`wtd:${name}`);
    this.tq = new TqStruct(() => run_wtd(this), `wtd:${name}`);
    this.action = null;
    this.data = null;
    this.object = null;
    this.stack = [];
    this.runs = 0;
    this.queued = 0;
    this.wait.owner = this;
  }
  /** `wtd->sp`: frames on the stack. */
  get sp(): number {
    return this.stack.length;
  }
}

/** `wtd_init(wtd, routine)`: a fresh worktodo with an optional first action. */
export function wtd_init(name: string, action: WtdAction | null = null, data: unknown = null): Worktodo {
  const wtd = new Worktodo(name);
  wtd.action = action;
  wtd.data = data;
  return wtd;
}

/** `wtd_set_action(wtd, action, data)`: what runs next (the stack is left alone). */
export function wtd_set_action(wtd: Worktodo, action: WtdAction, data: unknown = null): void {
  wtd.action = action;
  wtd.data = data;
}

/** `wtd_push(wtd, action, data)`: saves the current action on the stack and sets a new one. */
export function wtd_push(wtd: Worktodo, action: WtdAction, data: unknown = null): void {
  if (wtd.stack.length >= WTD_STACK_DEPTH) {
    throw new Error(
      `wtd_push(${wtd.name}, ${action.name || 'action'}): the continuation stack is full (${WTD_STACK_DEPTH} deep: ${wtd_describe(wtd)})`,
    );
  }
  wtd.stack.push({ action: wtd.action, data: wtd.data });
  wtd.action = action;
  wtd.data = data;
}

/** `wtd_pop(wtd)`: restores the most recently pushed action (a no-op on an empty stack). */
export function wtd_pop(wtd: Worktodo): void {
  const f = wtd.stack.pop();
  if (f === undefined) return;
  wtd.action = f.action;
  wtd.data = f.data;
}

function actionName(a: WtdAction | null): string {
  return a === null ? '-' : a.name || 'action';
}

/** Prints the worktodo: its current action and the saved frames, innermost last. */
export function wtd_describe(wtd: Worktodo): string {
  const frames = wtd.stack.map((f) => actionName(f.action));
  return `${wtd.name}: ${actionName(wtd.action)} [${frames.join(' < ')}]`;
}

function* run_wtd(wtd: Worktodo): KernelCode<unknown> {
  const k = kernel();
  const action = wtd.action;
  if (action === null) throw new Error(`worktodo '${wtd.name}' was queued with no action set`);
  wtd.runs++;
  k.count('wtd.actions');
  k.emit('wtd.run', { wtd: wtd.name, action: actionName(action) });
  return yield* action(wtd, wtd.data);
}

/**
 * `wtd_call(wtd)`: runs the current action now, in the caller's context (2.4:
 * `wtd->tq.routine(wtd->tq.data)`), e.g. after a primitive returned 1 or after `wtd_pop`.
 */
export function* wtd_call(wtd: Worktodo): KernelCode<unknown> {
  const action = wtd.action;
  if (action === null) throw new Error(`wtd_call(${wtd.name}): no action set`);
  return yield* action(wtd, wtd.data);
}

/**
 * `wtd_queue(wtd)`: puts the wtd's embedded task-queue entry on the keventd pool; a worker
 * runs its action later, in process context. Never sleeps; callable from a wait-queue func
 * (queue lock held) and from interrupt context. Queueing a wtd that is already queued is a
 * `bug` violation.
 */
export function wtd_queue(wtd: Worktodo): KernelCode<void> {
  return wtd_nonblocking('wtd_queue', function* () {
    const k = kernel();
    k.emit('wtd.queue', { wtd: wtd.name, action: actionName(wtd.action) });
    const ok = yield* schedule_tq(wtd.tq);
    if (ok === 0) {
      k.violation('bug', `wtd_queue(${wtd.name}): the worktodo is already queued (two owners?)`);
      return;
    }
    wtd.queued++;
    k.count('wtd.queued');
  });
}

// ------------------------------------------------------------------------------------------
// "Never sleeps in its caller's context", checked by the simulator.

/** The `wtd_*` calls each context is inside, outermost first (see `wtd_mark`). */
const marksOf: (ctx: Context) => string[] = keyed(() => []);

/** Installs the check on kernel `k`, once: schedule() inside a marked call is a violation. */
const installCheck: (k: Kernel) => true = keyed((k: Kernel) => {
  k.scheduleChecks.push((t, on) => {
    const m = marksOf(t);
    if (m.length === 0) return undefined;
    return (
      `sleeping inside ${m[m.length - 1]}(): ${t.name} (pid ${t.id}) called schedule()` +
      `${on === '' ? '' : ` waiting on ${on}`} inside a call that must return at once` +
      (m.length > 1 ? ` (calls: ${m.join(' > ')})` : '')
    );
  });
  return true;
});

/** The `wtd_*` calls the context running now is inside, outermost first. */
export function wtd_calls_in_progress(): readonly string[] {
  const ctx = cur.ctx;
  return ctx === null ? [] : marksOf(ctx);
}

/**
 * Marks the context running now as inside the non-blocking call `name` (what
 * `wtd_nonblocking` does around its body) and returns the marks, for `wtd_unmark` when the
 * call returns — for a hot path that marks itself rather than run inside `wtd_nonblocking`
 * (one `yield*` level less). Pair them with try/finally.
 */
export function wtd_mark(name: string): string[] {
  const k = kernel();
  installCheck(k);
  const ctx = cur.ctx;
  if (ctx === null) throw new Error(`${name}() called outside kernel code`);
  const m = marksOf(ctx);
  m.push(name);
  return m;
}

/** Ends the innermost mark of `wtd_mark` (`marks` is what it returned). */
export function wtd_unmark(marks: string[]): void {
  marks.pop();
}

/**
 * Runs `body` marked as inside the non-blocking call `name`: should the current context call
 * `schedule()` before `body` returns, the kernel reports a `bug` violation and the run stops.
 */
export function* wtd_nonblocking<T, A extends unknown[] = []>(
  name: string,
  body: (...args: A) => KernelCode<T>,
  ...args: A
): KernelCode<T> {
  const m = wtd_mark(name);
  try {
    // A module-level generator function with arguments is cheap to call; a fresh generator
    // closure per call costs about a microsecond the first (and only) time it runs.
    return yield* body(...args);
  } finally {
    wtd_unmark(m);
  }
}
