/**
 * Execution contexts: tasks (kernel threads and user processes) and interrupt handlers.
 *
 * A context owns a generator (its kernel code) and, between steps, the visible operation it
 * is stopped in front of (`pending`). A task also has a `state` cell (`TASK_RUNNING`,
 * `TASK_INTERRUPTIBLE`, `TASK_UNINTERRUPTIBLE`), read and written through the memory model as
 * in the kernel, so `__set_current_state` without a barrier can be seen out of order.
 */

import type { Cell } from './cell.js';
import type { ActionInfo } from './chooser.js';
import type { Cpu } from './cpu.js';
import type { KernelCode, Op } from './ops.js';
import type { Spinlock } from './spinlock.js';

export const TASK_RUNNING = 0;
export const TASK_INTERRUPTIBLE = 1;
export const TASK_UNINTERRUPTIBLE = 2;
/** Both sleeping states: the mask `wake_up_process` uses. */
export const TASK_NORMAL = TASK_INTERRUPTIBLE | TASK_UNINTERRUPTIBLE;
export const TASK_ZOMBIE = 8;

/** Printable task state. */
export function stateName(s: number): string {
  switch (s) {
    case TASK_RUNNING:
      return 'TASK_RUNNING';
    case TASK_INTERRUPTIBLE:
      return 'TASK_INTERRUPTIBLE';
    case TASK_UNINTERRUPTIBLE:
      return 'TASK_UNINTERRUPTIBLE';
    case TASK_ZOMBIE:
      return 'TASK_ZOMBIE';
    default:
      return `state(${s})`;
  }
}

/** %GeneratorPrototype%: what every generator object inherits `next`, `throw` and `return` from. */
export const GeneratorPrototype: object = Object.getPrototypeOf(function* () {}).prototype;

/** Whether `code` is a generator object (as opposed to another iterator, e.g. a primitive's). */
export function isGenerator(code: object): boolean {
  return Object.prototype.isPrototypeOf.call(GeneratorPrototype, code);
}

/** The mutable action record a context exposes to the Chooser while it has a pending op. */
export type MutableAction = { -readonly [K in keyof ActionInfo]: ActionInfo[K] };

/** Anything that runs on a CPU: a task or an interrupt handler. */
export class Context {
  // Fields are `declare`d and set in the constructor: V8 does not inline the construction of a
  // subclass (`Task`) whose base class defines fields, and builds it generically (about 3x).
  /** Unique id (tasks: the pid). */
  declare readonly id: number;
  declare readonly name: string;
  declare readonly kind: 'task' | 'irq';
  /**
   * A primitive run without a frame whose result must pass through its `give` before the
   * caller gets it (see `Kernel.advance`), or null.
   */
  declare give: { give(v: unknown): unknown } | null;
  /** The running frame of its kernel code. */
  declare gen: KernelCode<unknown>;
  /**
   * Whether `gen` is a generator object (not another iterator): the kernel then resumes it
   * through the generators' own `next`, a call that does not look the method up.
   */
  declare native: boolean;
  /**
   * The frames below it, callers of trampolined calls (`yield f()`), innermost last (null until
   * the first call: most contexts of a short exploration never make one).
   */
  declare calls: KernelCode<unknown>[] | null;
  /**
   * The indexes in `calls` of the frames that are not generator objects (rare: `done(v)`,
   * hand-written iterators), ascending, or null: a returning call learns whether its caller is
   * a generator from here, not from a walk up the caller's prototype chain.
   */
  declare foreign: number[] | null;
  /** The visible operation this context is stopped in front of, or null. */
  declare pending: Op | null;
  /** `pending`'s code (read once from the operation: see `Kernel.advance`). */
  declare pendingCode: number;
  /** CPU it is on (running or queued), or null. */
  declare cpu: Cpu | null;
  /** Spinlocks held, innermost last. */
  declare readonly held: Spinlock[];
  /** Timed runs: the rest of a cost an interrupt cut into (ns), resumed after the handler. */
  declare suspendedCost: number;
  /** Its last cost ended while an interrupt handler ran on top: resume it when that returns. */
  declare needsResume: boolean;
  /** Interrupt state saved by the pending or last spin_lock (1 = were disabled). */
  declare irqFlags: number;
  /** Whether `action` describes the current `pending` op. */
  declare described: boolean;
  /** Action record for the Chooser. */
  declare readonly action: MutableAction;
  /**
   * Reusable iterators of the hot scheduler primitives this context calls (`sched.ts`:
   * set_current_state per state, schedule, wake_up_process, schedule_timeout), taken again
   * only once their last use has finished (null until the first).
   */
  declare hot: unknown[] | null;

  constructor(id: number, name: string, kind: 'task' | 'irq', gen: KernelCode<unknown>) {
    this.id = id;
    this.name = name;
    this.kind = kind;
    this.give = null;
    this.gen = gen;
    this.native = isGenerator(gen);
    this.calls = null;
    this.foreign = null;
    this.pending = null;
    this.pendingCode = 0;
    this.cpu = null;
    this.held = [];
    this.suspendedCost = 0;
    this.needsResume = false;
    this.irqFlags = 0;
    this.described = false;
    this.action = {
      actor: id,
      cpu: -1,
      obj: -1,
      write: false,
      sched: false,
      global: false,
      kind: 'op',
      label: '',
    };
    this.hot = null;
  }
}

/** Options for `Kernel.spawn`. */
export interface SpawnOptions {
  /** CPU to start on (default: chosen by the scheduler's placement rule). */
  cpu?: number;
  /** Never migrate away from `cpu`. */
  pinned?: boolean;
  /** A daemon may sleep forever without that being a hang (worker pools, flush daemons). */
  daemon?: boolean;
}

/** A task: kernel thread or user process. */
export class Task extends Context {
  /** `task->state`, a cell under the memory model. */
  readonly state: Cell;
  readonly daemon: boolean;
  /** CPU the task may not leave, or -1. */
  pinned: number;
  /** Signal pending (enough for -EINTR). */
  sigpending = false;
  /** Has run to completion. */
  exited = false;
  /** Return value of its code, once exited. */
  result: unknown = undefined;
  /** On a run queue (runnable, not running). */
  queued = false;
  /** Sleeping: took itself off the CPU in a non-running state. */
  sleeping = false;
  /** What it sleeps on (for hang reports), and since which step. */
  waitingOn = '';
  sleepSince = -1;
  /** A per-task slot the scenario or subsystems may use (e.g. the owning process). */
  data: Record<string, unknown> = {};
  /** Context switches into this task. */
  switches = 0;
  /** CPU time consumed (ns, from cpu() costs). */
  cpuNs = 0;

  constructor(pid: number, name: string, gen: KernelCode<unknown>, state: Cell, opts: SpawnOptions) {
    super(pid, name, 'task', gen);
    this.state = state;
    this.daemon = opts.daemon ?? false;
    this.pinned = opts.pinned === true && opts.cpu !== undefined ? opts.cpu : -1;
  }

  /** The pid (same as id). */
  get pid(): number {
    return this.id;
  }
}
