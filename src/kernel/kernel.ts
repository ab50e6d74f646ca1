/**
 * The simulated machine: clock, event heap, CPUs, tasks, memory, and the step loop.
 *
 * A run is a sequence of steps. Before each step every CPU is stopped in front of a visible
 * operation (or idle, or busy with a cost, or spinning on a held lock); the kernel collects
 * the enabled actions — those operations, store-buffer drains, interrupts waiting to be taken
 * and, in untimed runs, the next timed event — and asks the Chooser to pick one when there is
 * more than one. Executing it runs that context on through its local work up to its next
 * visible operation. Simulated time advances only through `cpu()` costs, timers and device
 * latencies (timed runs), or as timed events are picked (untimed runs, for exploration).
 *
 * Contents: `KernelConfig` and its defaults, `Kernel` (cells, spinlocks, spawn, timers,
 * interrupts, the run loop, the scheduler core `schedule`/`try_to_wake_up`), `RunResult`.
 */
import { EventEmitter } from 'eventemitter3';
import type { TraceEvent, TraceKind, TracePayloads } from '../trace/events.js';
import { Cell } from './cell.js';
import type { ActionInfo, ChoicePoint, ChoiceWhy, Chooser } from './chooser.js';
import { RecordingChooser, seeded } from './chooser.js';
import { Cpu } from './cpu.js';
import { current } from './current.js';
import { EventHeap } from './heap.js';
import { maybeTakeIrq } from './irq.js';
import { LockValidator } from './lockdep.js';
import { type MemoryModel, MemorySystem } from './memory.js';
import type { KernelCode } from './ops.js';
import { PLACEHOLDER } from './resume.js';
import { enqueue, placeCpu } from './runqueue.js';
import { Spinlock } from './spinlock.js';
import { type Counter, counterOf, gauge, readStats, setStat } from './stats.js';
import { runSteps } from './step.js';
import {
  type Context,
  isGenerator,
  type SpawnOptions,
  TASK_INTERRUPTIBLE,
  TASK_RUNNING,
  Task,
} from './task.js';
import { TaskList } from './tasklist.js';
import { queueEvent, rearmed, Timed, type TimerHandle } from './timers.js';
import type { Violation, ViolationKind } from './violation.js';

/** Wake-up semantics of wait-queue callbacks (see src/waitqueue). */
export { type Counter, counter } from './stats.js';
export type { TimerHandle } from './timers.js';

/** Wake-up semantics of wait-queue callbacks (see src/waitqueue). */
export type WakeSemantics = '2.4-aio' | 'modern';

/**
 * The simulated clock's last nanosecond (2^53 - 1, about 104 days): the last integer a double
 * holds exactly. A run ends with status `until` rather than let time pass it, so a timeout
 * longer than that (`nanosleep(1e30)`) is waited out in O(1) steps and the clock stays exact.
 */
export const CLOCK_MAX = Number.MAX_SAFE_INTEGER;

/** The most CPUs a kernel can have (2.4 allowed 32, or 64 on 64-bit machines). */
export const NR_CPUS = 64;

/** Kernel configuration. */
export interface KernelConfig {
  /** Number of CPUs, 1 to NR_CPUS. */
  readonly cpus: number;
  /** Memory model. */
  readonly memoryModel: MemoryModel;
  /** Wait-queue callback semantics. */
  readonly wakeSemantics: WakeSemantics;
  /**
   * Timed runs order CPUs by their costs and fire events at their times (the Chooser breaks
   * ties); untimed runs let any ready CPU step next and treat the next timed event as one more
   * choice (for exploration).
   */
  readonly timed: boolean;
  /** Record trace events. */
  readonly trace: boolean;
  /** Run the lock validator. */
  readonly lockdep: boolean;
  /** CPU that takes interrupts, or -1 to let the Chooser place each one. */
  readonly irqAffinity: number;
  /** Cost of a context switch in timed runs (ns). */
  readonly switchNs: number;
  /**
   * Timed sc runs: execute forced moves (nothing else could act first) without going round
   * the step loop. Same steps, same trace, faster; off only to check exactly that.
   */
  readonly fastForward: boolean;
}

/** Defaults: 2 CPUs, sequential consistency, timed, tracing on. */
export const DEFAULT_KERNEL_CONFIG: KernelConfig = Object.freeze({
  cpus: 2,
  memoryModel: 'sc',
  wakeSemantics: '2.4-aio',
  timed: true,
  trace: true,
  lockdep: true,
  irqAffinity: 0,
  switchNs: 0,
  fastForward: true,
});

/** Options for `Kernel.run`. */
export interface RunOptions {
  /** Stop when simulated time would pass this (ns; at most, and by default, CLOCK_MAX). */
  until?: number;
  /** Stop after this many steps. */
  maxSteps?: number;
}

/** How a run ended. */
export type RunStatus = 'done' | 'hang' | 'max-steps' | 'until' | 'violation';

/** The outcome of `Kernel.run`. */
export interface RunResult {
  readonly status: RunStatus;
  readonly steps: number;
  readonly simTimeNs: number;
  readonly violations: readonly Violation[];
  readonly choices: readonly number[];
}

/**
 * `current`, as a constant of this module: the optimising compiler folds a module's own constant
 * into the code, where an imported binding is loaded and checked at every use.
 */
const cur = current;

export class Kernel {
  readonly config: KernelConfig;
  /** @internal `config.timed` and `config.memoryModel === 'sc'`, read on every step. */
  readonly timed: boolean;
  /** @internal */
  readonly sc: boolean;
  /** Simulated time, integer nanoseconds. */
  now = 0;
  /** Steps executed. */
  steps = 0;
  readonly cpus: Cpu[];
  /** @internal */
  readonly taskList = new TaskList();
  /** The task list: the tasks that have not exited, in pid order (an exited task leaves it). */
  get tasks(): readonly Task[] {
    return this.taskList.live();
  }
  /** Pid and name of every task spawned, exited or not, in pid order (for traces and reports). */
  taskNames(): { pid: number; name: string }[] {
    return this.taskList.names();
  }
  readonly mem: MemorySystem;
  /** @internal */
  _lockdep: LockValidator | null = null;
  /** The lock validator (created on first use). */
  get lockdep(): LockValidator {
    if (this._lockdep === null) this._lockdep = new LockValidator();
    return this._lockdep;
  }
  readonly violations: Violation[] = [];
  /** @internal Trace events are emitted here as 'trace'. */
  _events: EventEmitter<{ trace: [TraceEvent] }> | null = null;
  /** Trace events are emitted here as 'trace' (the emitter is created on first use). */
  get events(): EventEmitter<{ trace: [TraceEvent] }> {
    if (this._events === null) this._events = new EventEmitter();
    return this._events;
  }
  /** @internal */
  readonly statsRecord: Record<string, number> = {};
  /** @internal What `count` added under each name since `stats` was last read. */
  counters: Map<string, Counter> | null = null;
  /** @internal */
  countersDirty = false;
  /** @internal Gauges read whenever `stats` is read (see `gauge`). */
  readonly gauges: { readonly name: string; readonly read: () => number }[] = [];
  /**
   * Counters and gauges any subsystem may add to (`count`), set (`setStat`), read from its own
   * state (`gauge`) or write directly; reported in the run's `stats`. Reading it first adds in
   * what was counted since the last read and reads every gauge, so it always holds every count,
   * in order with direct writes, and every gauge's value now.
   */
  get stats(): Record<string, number> {
    return readStats(this);
  }
  /** @internal Hot counters, kept as fields and copied into `stats` by `snapshotStats()`. */
  nSwitches = 0;
  /** @internal */
  nWakeups = 0;
  /** Checks run after every step; a returned string is an invariant violation. */
  readonly stepChecks: (() => string | undefined)[] = [];
  /**
   * Checks run when a task calls schedule(), before it gives up the CPU: a returned string is a
   * `bug` violation (the task does not sleep, and the run stops). Subsystems use it to forbid
   * sleeping where the kernel forbids it (e.g. inside a `wtd_*` call).
   */
  readonly scheduleChecks: ((t: Task, on: string) => string | undefined)[] = [];
  tracing: boolean;

  /** @internal */
  readonly chooser: RecordingChooser;
  /** @internal */
  readonly heap = new EventHeap<Timed>(4);
  /** @internal Timed sc runs: forced moves run inside `advance` (see `alone`). */
  fastForward = false;
  /** @internal */
  maxStepsRun = Number.POSITIVE_INFINITY;
  /** @internal The running `run()`'s time limit (fast path: a cost never carries the clock past it). */
  untilRun = Number.POSITIVE_INFINITY;
  /** Pending timed events that are not background ones. */
  fgEvents = 0;
  /** @internal */
  nextObj = 1;
  /** @internal */
  nextPid = 1;
  /** @internal */
  live = 0;
  /** @internal */
  lastCpu = -1;
  /** @internal */
  stopStatus: RunStatus | null = null;
  /** @internal */
  readonly actKind: number[] = [];
  /** @internal */
  readonly actCtx: (Context | null)[] = [];
  /** @internal */
  readonly actCpu: (Cpu | null)[] = [];
  /** @internal */
  readonly actCell: (Cell | null)[] = [];
  /** @internal */
  nAct = 0;
  /** @internal */
  readonly infos: ActionInfo[] = [];
  /** @internal */
  readonly drainIdx: number[] = [];
  /** @internal */
  readonly point: { actions: ActionInfo[]; continues: boolean };
  /** @internal */
  irqSeq = 0;

  constructor(config: Partial<KernelConfig> = {}, chooser: Chooser = seeded(1)) {
    // A complete, frozen config (as the runner passes for every run) is used as it is.
    const c: KernelConfig =
      Object.isFrozen(config) && 'switchNs' in config && 'lockdep' in config
        ? (config as KernelConfig)
        : { ...DEFAULT_KERNEL_CONFIG, ...config };
    if (!Number.isInteger(c.cpus) || c.cpus < 1 || c.cpus > NR_CPUS) {
      throw new Error(`KernelConfig.cpus must be an integer from 1 to ${NR_CPUS}, got ${c.cpus}`);
    }
    if (!['sc', 'tso', 'pso', 'invq'].includes(c.memoryModel)) {
      throw new Error(`KernelConfig.memoryModel must be sc, tso, pso or invq, got '${c.memoryModel}'`);
    }
    if (c.irqAffinity >= c.cpus) throw new Error(`KernelConfig.irqAffinity ${c.irqAffinity} is not a CPU`);
    this.config = Object.isFrozen(c) ? c : Object.freeze(c);
    this.timed = c.timed;
    this.sc = c.memoryModel === 'sc';
    this.tracing = c.trace;
    this.chooser = new RecordingChooser(chooser);
    this.cpus = Array.from({ length: c.cpus }, (_, i) => new Cpu(i));
    this.mem = new MemorySystem(c.memoryModel, c.cpus);
    this.point = { actions: this.infos, continues: false };
  }

  // ------------------------------------------------------------------------------------------
  // Objects

  /**
   * The next number of a per-kernel sequence (request ids, inode numbers ...): ids that appear
   * in traces must come from the kernel, never from a module-level counter, or a second run in
   * the same process would print different ones.
   */
  nextId(sequence: string): number {
    const n = (this.sequences.get(sequence) ?? 0) + 1;
    this.sequences.set(sequence, n);
    return n;
  }
  /** @internal */
  readonly sequences = new Map<string, number>();

  /** A fresh object id (for `atomic()` sections and other racing objects). */
  newObjectId(): number {
    return this.nextObj++;
  }

  /** A shared cell with an initial value. */
  cell(name: string, value = 0): Cell {
    if (!Number.isFinite(value)) throw new Error(`cell '${name}': initial value must be a finite number`);
    const c = new Cell(this.nextObj++, name, value, this.config.memoryModel === 'invq');
    return c;
  }

  /** A spinlock, in lock class `lockClass` (default: its name). */
  spinlock(name: string, lockClass = name): Spinlock {
    return new Spinlock(this.cell(`${name}.locked`, 0), name, lockClass);
  }

  /** The choices taken so far in this run. */
  get choices(): readonly number[] {
    return this.chooser.choices;
  }

  /** Asks the Chooser (only when n > 1; a forced move records nothing). */
  choose(n: number, why: ChoiceWhy, point?: ChoicePoint): number {
    if (n <= 1) return 0;
    return this.chooser.choose(n, why, point);
  }

  // ------------------------------------------------------------------------------------------
  // Tracing

  /** Emits a trace event from the current CPU and context (when tracing). */
  emit<K extends TraceKind>(kind: K, payload: TracePayloads[K]): void {
    if (!this.tracing) return;
    const cpu = cur.cpu;
    const ctx = cpu === null ? null : cpu.top();
    const ev = {
      step: this.steps,
      t: this.now,
      cpu: cpu === null ? -1 : cpu.id,
      pid: ctx !== null && ctx.kind === 'task' ? ctx.id : -1,
      kind,
      ...payload,
    } as TraceEvent;
    this.events.emit('trace', ev);
  }

  /** `stats` with the kernel's own counters filled in. */
  snapshotStats(): Record<string, number> {
    const out: Record<string, number> = { ...this.stats };
    if (this.nSwitches > 0) out.contextSwitches = this.nSwitches;
    if (this.nWakeups > 0) out.wakeups = this.nWakeups;
    return out;
  }

  /** Adds `n` to the counter `name` in `stats`. */
  count(name: string, n = 1): void {
    // One Map lookup: `stats` holds many names (a dictionary), and a read and a write of it
    // each cost a hash lookup through V8's slowest inline caches. The count joins `stats` when
    // it is next read. (Hot paths keep the counter itself: see `counter`.)
    this.add(this.counterOf(name), n);
  }

  /** The counter `name` of `stats`, made on first use (the name then takes its place in `stats`). */
  counterOf(name: string): Counter {
    return counterOf(this, name);
  }

  /** Adds `n` to counter `c` of this kernel (from `counterOf`, or a hot path's `counter`). */
  add(c: Counter, n = 1): void {
    c.pending += n;
    this.countersDirty = true;
  }

  /**
   * Makes `stats[name]` a gauge: `read()`, read whenever `stats` is read (a subsystem's own
   * figure, such as the bytes pinned now, costs nothing where it changes). The name takes its
   * place in `stats` now; a second gauge of the same name replaces the first.
   */
  gauge(name: string, read: () => number): void {
    gauge(this, name, read);
  }

  /** Sets `stats[name]` to `value` (a gauge) without adding in the pending counts first. */
  setStat(name: string, value: number): void {
    setStat(this, name, value);
  }

  /** Records a violation; kinds other than lock-validator stop the run. */
  violation(kind: ViolationKind, message: string): void {
    this.violations.push({ kind, message, step: this.steps });
    if (this.tracing) this.emit('violation', { violationKind: kind, message });
    if (kind !== 'lock-validator' && this.stopStatus === null) this.stopStatus = 'violation';
  }

  // ------------------------------------------------------------------------------------------
  // Tasks

  /**
   * Creates a task running `code` and makes it runnable. `code` is a generator function (called
   * with the new task) or a generator.
   */
  spawn(
    name: string,
    code: ((task: Task) => KernelCode<unknown>) | KernelCode<unknown>,
    opts: SpawnOptions = {},
  ): Task {
    if (
      opts.cpu !== undefined &&
      (!Number.isInteger(opts.cpu) || opts.cpu < 0 || opts.cpu >= this.cpus.length)
    ) {
      throw new Error(
        `spawn('${name}'): cpu ${opts.cpu} does not exist (the kernel has ${this.cpus.length} CPUs)`,
      );
    }
    const pid = this.nextPid++;
    const state = this.cell(`${name}.state`, TASK_RUNNING);
    const t = new Task(pid, name, PLACEHOLDER, state, opts);
    t.gen = typeof code === 'function' ? code(t) : code;
    t.native = isGenerator(t.gen);
    this.taskList.add(t);
    if (!t.daemon) this.live++;
    const target = opts.cpu ?? placeCpu(this, t);
    if (this.tracing) this.emit('task.new', { task: pid, name, onCpu: target });
    enqueue(this, t, this.cpus[target]!);
    return t;
  }

  /**
   * Keeps the run alive while work is outstanding that no non-daemon task stands for (work
   * queued for a daemon pool, an IO in flight): every `hold()` needs one `release()`.
   */
  hold(): void {
    this.live++;
  }

  /** Ends a `hold()`. */
  release(): void {
    if (this.live <= 0) throw new Error('Kernel.release() without a matching hold()');
    this.live--;
  }

  /**
   * Run at the end of every interrupt handler, in its context (bottom halves, tq_immediate):
   * the code it returns runs there; null when there is nothing to do.
   */
  irqExitHook: (() => KernelCode<void> | null) | null = null;

  /** Looks a task that has not exited up by pid. */
  task(pid: number): Task | undefined {
    return this.tasks.find((t) => t.id === pid);
  }

  /** The task running on the current CPU (null in interrupt context or outside a step). */
  get current(): Task | null {
    return cur.task;
  }

  // ------------------------------------------------------------------------------------------
  // Timed events, timers and interrupts

  /**
   * Calls `fn` (plain code, outside any CPU) at `now + delay`. `background` events (periodic
   * daemons) do not keep a run alive, nor count as something that could end a hang. The event's
   * label is `label`, followed by `labelId` when that is >= 0: a hot caller numbering its events
   * (a disk's requests) builds no string per event, since a label is read only for choices.
   */
  after(delay: number, label: string, fn: () => void, background = false, labelId = -1): TimerHandle {
    if (!Number.isInteger(delay) || delay < 0)
      throw new Error(`after(${delay}, '${label}'): delay must be a non-negative integer (ns)`);
    const ev = new Timed(this, 'call', -1, fn, label, background, labelId);
    return queueEvent(this, this.now + delay, ev);
  }

  /**
   * `process_timeout`: wakes `t` (from any sleeping state) after `delay` — schedule_timeout's
   * timer, without a closure per call. `reuse` may be a handle this call returned before, which
   * only the caller holds: once its event has fired or been dropped from the heap, it is armed
   * again rather than a new one made.
   */
  wake_after(delay: number, t: Task, reuse: TimerHandle | null = null): TimerHandle {
    if (!Number.isInteger(delay) || delay < 0)
      throw new Error(`wake_after(${delay}): delay must be a non-negative integer (ns)`);
    const ev = rearmed(this, reuse instanceof Timed && reuse.kind === 'wake' ? reuse : null, 'wake', -1);
    ev.task = t;
    return queueEvent(this, this.now + delay, ev);
  }

  /**
   * Raises an interrupt: `handler` runs in interrupt context on the target CPU (the configured
   * affinity, or one the Chooser picks), as soon as that CPU has interrupts enabled.
   */
  raise_irq(name: string, handler: () => KernelCode<unknown>, cpu?: number): void {
    let target = cpu ?? this.config.irqAffinity;
    if (target < 0) target = this.choose(this.cpus.length, 'irq');
    const c = this.cpus[target];
    if (c === undefined) throw new Error(`raise_irq('${name}'): CPU ${target} does not exist`);
    c.pendingIrqs.push({ name, handler });
    if (this.tracing) this.emit('irq.raise', { irq: name, target });
    if (this.timed) maybeTakeIrq(this, c);
  }

  // ------------------------------------------------------------------------------------------
  // Running contexts

  // ------------------------------------------------------------------------------------------
  // Memory operations

  // ------------------------------------------------------------------------------------------
  // Spinlocks

  // ------------------------------------------------------------------------------------------
  // The scheduler core

  /** schedule() for `t`: sleeps unless its state is TASK_RUNNING (or a signal interrupts). */

  /** try_to_wake_up(): 1 if `t` was in a state of `mask` and is now TASK_RUNNING. */
  try_to_wake_up(t: Task, mask: number): number {
    if (t.exited) return 0;
    const state = t.state.value;
    if ((state & mask) === 0) {
      if (this.tracing) this.emit('sched.wakeup', { task: t.id, woken: false });
      return 0;
    }
    const cpu = cur.cpu;
    this.mem.commit(cpu === null ? 0 : cpu.id, t.state, TASK_RUNNING);
    if (this.tracing) this.emit('sched.wakeup', { task: t.id, woken: true });
    this.nWakeups++;
    if (t.sleeping) {
      t.sleeping = false;
      t.waitingOn = '';
      t.sleepSince = -1;
      enqueue(this, t, this.cpus[placeCpu(this, t)]!);
    }
    return 1;
  }

  /** Makes a pending signal visible to `t`, waking it from an interruptible sleep. */
  send_signal(t: Task): void {
    t.sigpending = true;
    if (t.sleeping && t.state.value === TASK_INTERRUPTIBLE) this.try_to_wake_up(t, TASK_INTERRUPTIBLE);
  }

  // ------------------------------------------------------------------------------------------
  // The step loop

  // ------------------------------------------------------------------------------------------
  // Running

  /**
   * Runs until every non-daemon task has exited (and every store buffer drained), a hang, a
   * violation that stops the run, or a budget (the step loop: step.ts).
   */
  run(opts: RunOptions = {}): RunResult {
    const until = Math.min(opts.until ?? CLOCK_MAX, CLOCK_MAX);
    return runSteps(this, until, opts.maxSteps ?? Number.POSITIVE_INFINITY);
  }
}
