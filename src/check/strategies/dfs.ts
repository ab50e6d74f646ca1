/**
 * Exhaustive depth-first search over every Chooser decision (stateless model checking).
 *
 * Each execution replays the current prefix of decisions and extends it with the first
 * allowed option; after it ends, the deepest decision with an unexplored allowed option is
 * advanced and everything below it forgotten. Bounds:
 * - a preemption bound (CHESS, Musuvathi and Qadeer, PLDI 2007): choosing any option other
 *   than 0 at a 'step' decision where option 0 continues the CPU that ran last counts as one
 *   preemption; executions needing more are not explored;
 * - a step bound per execution.
 *
 * Reduction: sleep sets (Godefroid, 1996). After exploring action `a` at a node, `a` sleeps in
 * the later siblings' subtrees until an action dependent with it runs; a node whose enabled
 * actions all sleep is redundant and abandoned. Sleep sets alone preserve every reachable
 * final state and deadlock. Combined with a preemption bound they can lose executions that
 * are within the bound (the representative kept may need more preemptions), so they are used
 * only without a preemption bound unless asked for.
 *
 * Hidden scheduler effects: a step runs its context on through local work, and that work may
 * end the task, after which its CPU takes the next task from its own run queue or steals one
 * from another CPU's (so the CPU a queued task lands on depends on which task ends first), or
 * end the run. None of that shows in the step's `ActionInfo`. With `watch` attached (see
 * `schedWatch`), the search notices every step that changed a CPU's task or run queue: such a
 * step wakes every sleeping action, and the action itself, once explored at a node, sleeps in
 * its siblings' subtrees as dependent with everything (it is woken by the next step). Without
 * this, sleep sets lose final states of programs whose tasks migrate.
 *
 * Invariants of the search (kept as comments where they are relied on):
 * - (I1) the decision list fully determines an execution (the determinism contract);
 * - (I2) a 'step' decision's options are listed in the same order on every replay.
 */
import type { ActionInfo, ChoicePoint, ChoiceWhy, Chooser } from '../../kernel/chooser.js';
import { Abandon } from '../strategy.js';

interface Frame {
  n: number;
  why: ChoiceWhy;
  chosen: number;
  /** Options of a 'step' decision (snapshots). */
  actions: ActionInfo[] | null;
  continues: boolean;
  /** Preemptions used before this decision. */
  pre: number;
  /** Sleeping actions at this node (on entry). */
  sleep: ActionInfo[];
  /** Actions explored at this node so far (before `chosen`). */
  done: ActionInfo[];
  /** The chosen action changed the scheduler state when it ran (see `schedWatch`). */
  fx: boolean;
}

/** What `schedWatch` reads of a kernel: each CPU's task and run queue. */
export interface SchedView {
  readonly cpus: readonly {
    readonly task: { readonly id: number; readonly switches: number } | null;
    readonly runqueue: readonly unknown[];
  }[];
}

/**
 * A watcher of the scheduler state of one run: each call says whether any CPU's task (or its
 * switch count) or run-queue length changed since the previous call. The first call is made here.
 */
export function schedWatch(k: SchedView): () => boolean {
  const cpus = k.cpus;
  const last = new Array<number>(3 * cpus.length).fill(-1);
  const read = (): boolean => {
    let changed = false;
    for (let i = 0; i < cpus.length; i++) {
      const c = cpus[i]!;
      const t = c.task;
      const id = t === null ? 0 : t.id;
      const sw = t === null ? 0 : t.switches;
      const q = c.runqueue.length;
      const j = 3 * i;
      if (last[j] !== id || last[j + 1] !== sw || last[j + 2] !== q) {
        changed = true;
        last[j] = id;
        last[j + 1] = sw;
        last[j + 2] = q;
      }
    }
    return changed;
  };
  read();
  return read;
}

/** Whether two actions do not commute. */
export function dependent(a: ActionInfo, b: ActionInfo): boolean {
  if (a.global || b.global) return true;
  if (a.cpu >= 0 && a.cpu === b.cpu) return true;
  if (a.sched && b.sched) return true;
  return a.obj >= 0 && a.obj === b.obj && (a.write || b.write);
}

function snapshot(a: ActionInfo, global = a.global): ActionInfo {
  return {
    actor: a.actor,
    cpu: a.cpu,
    obj: a.obj,
    write: a.write,
    sched: a.sched,
    global,
    kind: a.kind,
    label: a.label,
  };
}

/** Options of `DfsSearch`. */
export interface DfsOptions {
  /** Preemption bound (default: none). */
  readonly preemptionBound?: number;
  /** Use sleep sets (default: only when there is no preemption bound). */
  readonly sleepSets?: boolean;
}

/** The search state across executions. Use `chooser()` for each run, then `next()`. */
export class DfsSearch {
  private readonly stack: Frame[] = [];
  private depth = 0;
  private curSleep: ActionInfo[] = [];
  readonly bound: number;
  readonly sleepSets: boolean;
  /** Executions abandoned by the preemption bound (so the bound cut the space). */
  cutByPreemption = 0;
  /** Executions abandoned as redundant by sleep sets. */
  redundant = 0;
  /** Deepest decision list seen. */
  maxDepth = 0;
  /** Whether the last decision taken was a new one (not a replay of the prefix). */
  lastWasNew = false;
  /** The Abandon the current execution's Chooser threw, if it threw one. */
  abandoned: Abandon | null = null;
  /** Scheduler watcher of the current run (see `watch`). */
  private changed: (() => boolean) | null = null;
  /** The step frame whose choice was just taken and whose step is about to run, or null. */
  private chosenFrame: Frame | null = null;
  /** The step frame whose step ran last (null for a forced step). */
  private ranFrame: Frame | null = null;

  constructor(opts: DfsOptions = {}) {
    this.bound = opts.preemptionBound ?? Number.POSITIVE_INFINITY;
    this.sleepSets = opts.sleepSets ?? this.bound === Number.POSITIVE_INFINITY;
  }

  /** The Chooser for the next execution. */
  chooser(): Chooser {
    this.depth = 0;
    this.curSleep = [];
    this.changed = null;
    this.chosenFrame = null;
    this.ranFrame = null;
    this.abandoned = null;
    return { choose: (n, why, point) => this.choose(n, why, point), observe: (a) => this.observe(a) };
  }

  /**
   * Attaches the scheduler watcher of the current run (call after setup, before it runs; see
   * `schedWatch`). Needed for sound sleep sets when tasks can end or migrate.
   */
  watch(changed: () => boolean): void {
    this.changed = changed;
  }

  /** Number of decisions taken so far in the current execution. */
  get currentDepth(): number {
    return this.depth;
  }

  /** Accounts for the step that ran last: if it changed the scheduler state, every sleeper wakes. */
  private settle(): void {
    const changed = this.changed;
    if (changed === null || !changed()) return;
    this.curSleep = [];
    if (this.ranFrame !== null) this.ranFrame.fx = true;
    this.ranFrame = null;
  }

  /** The decisions of the current execution so far. */
  choices(): number[] {
    return this.stack.slice(0, this.depth).map((f) => f.chosen);
  }

  /** Preemptions used by the current execution. */
  preemptions(): number {
    const f = this.stack[this.depth - 1];
    if (f === undefined) return 0;
    return f.pre + (f.actions !== null && f.continues && f.chosen !== 0 ? 1 : 0);
  }

  private choose(n: number, why: ChoiceWhy, point?: ChoicePoint): number {
    if (this.sleepSets) this.settle();
    const d = this.depth++;
    if (d < this.stack.length) {
      const f = this.stack[d]!;
      if (f.n !== n || f.why !== why) {
        throw new Error(
          `nondeterminism: decision ${d} offered ${n} options (${why}) on replay, ${f.n} (${f.why}) before — ` +
            'something outside the Chooser influenced the run',
        );
      }
      if (f.actions !== null) this.enterStep(f);
      this.lastWasNew = false;
      return f.chosen;
    }
    // A new decision.
    this.lastWasNew = true;
    const parent = this.lastStepFrame(d);
    const pre = parent === null ? 0 : this.preAfter(parent);
    const isStep = why === 'step' && point !== undefined;
    const f: Frame = {
      n,
      why,
      chosen: -1,
      actions: isStep ? point.actions.map((a) => snapshot(a)) : null,
      continues: isStep ? point.continues : false,
      pre,
      sleep: isStep && this.sleepSets ? this.curSleep.slice() : [],
      done: [],
      fx: false,
    };
    const first = this.nextAllowed(f, 0);
    if (first < 0) {
      this.depth--;
      if (f.actions !== null && this.allowedIgnoringBound(f) >= 0) {
        this.cutByPreemption++;
        this.abandoned = new Abandon('preemption');
      } else {
        this.redundant++;
        this.abandoned = new Abandon('sleep');
      }
      throw this.abandoned;
    }
    f.chosen = first;
    this.stack.push(f);
    if (this.stack.length > this.maxDepth) this.maxDepth = this.stack.length;
    if (f.actions !== null) this.enterStep(f);
    return first;
  }

  /** Taking frame f's choice: the sleep set below it is f's sleep set plus its explored siblings. */
  private enterStep(f: Frame): void {
    if (!this.sleepSets) return;
    this.curSleep = f.sleep.concat(f.done);
    this.chosenFrame = f;
  }

  /** Every executed step (chosen or forced) wakes the sleeping actions it conflicts with. */
  private observe(a: ActionInfo): void {
    if (!this.sleepSets) return;
    this.settle();
    this.ranFrame = this.chosenFrame;
    this.chosenFrame = null;
    if (this.curSleep.length === 0) return;
    this.curSleep = this.curSleep.filter((s) => s.actor !== a.actor && !dependent(s, a));
  }

  /** Preemptions used up to and including frame `f`'s choice. */
  private preAfter(f: Frame): number {
    return f.pre + (f.actions !== null && f.continues && f.chosen !== 0 ? 1 : 0);
  }

  private lastStepFrame(d: number): Frame | null {
    for (let i = d - 1; i >= 0; i--) {
      const f = this.stack[i]!;
      if (f.actions !== null) return f;
    }
    return null;
  }

  private asleep(f: Frame, i: number): boolean {
    if (f.actions === null) return false;
    const a = f.actions[i]!;
    for (const s of f.sleep) if (s.actor === a.actor) return true;
    for (const s of f.done) if (s.actor === a.actor) return true;
    return false;
  }

  private costs(f: Frame, i: number): number {
    return f.actions !== null && f.continues && i !== 0 ? 1 : 0;
  }

  private nextAllowed(f: Frame, from: number): number {
    for (let i = from; i < f.n; i++) {
      if (this.asleep(f, i)) continue;
      if (f.pre + this.costs(f, i) > this.bound) continue;
      return i;
    }
    return -1;
  }

  private allowedIgnoringBound(f: Frame): number {
    for (let i = 0; i < f.n; i++) if (!this.asleep(f, i)) return i;
    return -1;
  }

  /**
   * Moves to the next execution. Returns false when the bounded space is exhausted.
   * `abandoned` says the last run was abandoned before it ended (its open frames still count).
   */
  next(): boolean {
    while (this.stack.length > 0) {
      const f = this.stack[this.stack.length - 1]!;
      if (f.actions !== null) {
        const a = f.actions[f.chosen]!;
        f.done.push(f.fx ? snapshot(a, true) : a);
        f.fx = false;
      }
      let j = this.nextAllowed(f, f.chosen + 1);
      if (j < 0 && f.actions !== null) {
        // Options skipped only for the bound mean the bound cut the space here.
        for (let i = f.chosen + 1; i < f.n; i++) {
          if (!this.asleep(f, i)) {
            this.cutByPreemption++;
            break;
          }
        }
      }
      if (j >= 0) {
        f.chosen = j;
        return true;
      }
      j = -1;
      this.stack.pop();
    }
    return false;
  }

  /**
   * The current prefix (the decisions that stay fixed for the next execution), for sharding.
   */
  prefix(): readonly number[] {
    return this.stack.map((f) => f.chosen);
  }
}
