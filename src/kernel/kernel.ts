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
import { Cpu, type IrqRequest } from './cpu.js';
import { current } from './current.js';
import { finished, reportHang } from './hang.js';
import { EventHeap } from './heap.js';
import { IRQ_ACTOR_BASE, irqOp, maybeTakeIrq, takeIrq } from './irq.js';
import { keyed } from './keyed.js';
import { LockValidator } from './lockdep.js';
import { bufferStore, drain, fenceLocal, load, type MemoryModel, MemorySystem } from './memory.js';
import type {
  AtomicOp,
  CostOp,
  FenceOp,
  IrqOp,
  KernelCall,
  KernelCode,
  LoadOp,
  LockOp,
  NoteOp,
  RmwOp,
  ScheduleOp,
  StoreOp,
  TrylockOp,
  UnlockOp,
  WakeOp,
} from './ops.js';
import { OP, type Op, type Primitive } from './ops.js';
import { anyStealable, enqueue, placeCpu, refill, schedule } from './runqueue.js';
import { acquire, lockPending, Spinlock, trylock, unlock } from './spinlock.js';
import {
  type Context,
  GeneratorPrototype,
  isGenerator,
  type SpawnOptions,
  stateName,
  TASK_INTERRUPTIBLE,
  TASK_NORMAL,
  TASK_RUNNING,
  Task,
} from './task.js';
import { TaskList } from './tasklist.js';
import {
  emitCost,
  fireDue,
  fireNext,
  queueEvent,
  rearmed,
  skipCancelled,
  startCost,
  Timed,
  type TimerHandle,
} from './timers.js';
import type { Violation, ViolationKind } from './violation.js';

/** Wake-up semantics of wait-queue callbacks (see src/waitqueue). */
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

/** A name of `Kernel.stats` and what was counted under it since `stats` was last read. */
export interface Counter {
  readonly name: string;
  pending: number;
}

/**
 * A hot path's counter: `c(k)` is the counter `name` of kernel `k` (made on its first use, when
 * the name takes its place in `stats`), for `k.add(c(k), n)`: `k.count(name, n)` without the
 * Map lookup of the name at every count.
 */
export function counter(name: string): (k: Kernel) => Counter {
  return keyed((k: Kernel) => k.counterOf(name));
}

/**
 * `current`, as a constant of this module: the optimising compiler folds a module's own constant
 * into the code, where an imported binding is loaded and checked at every use.
 */
const cur = current;

/**
 * The generators' own `next` (%GeneratorPrototype%.next). `resumeGenerator.call(gen, v)` resumes
 * any generator object without looking `next` up (`gen.next(v)`, at a site that sees generators
 * of many functions, looks it up in a megamorphic cache every time). A constant of this module,
 * not an import: the optimising compiler calls a constant it can see straight into the builtin,
 * where an imported binding is loaded and called through the generic call.
 */
const resumeGenerator = (GeneratorPrototype as Generator).next as (
  this: KernelCode<unknown>,
  v: unknown,
) => IteratorResult<unknown, unknown>;

/** The full barrier an `smp_store_mb` waits in when its store is buffered. */
const MB_OP: Op = Object.freeze({ code: OP.FENCE, kind: 'smp_mb' });

/** The generator a task holds until its own code is created. */
const PLACEHOLDER: KernelCode<unknown> = (function* () {})();

const DRAIN_ACTOR_BASE = -1_000_000;
const TIMER_ACTOR = -3_000_000;

/** Kinds of enabled actions. */
const ACT_OP = 0;
const ACT_DRAIN = 1;
const ACT_IRQ = 2;
const ACT_TIMER = 3;

/** Thrown out of the step loop to stop a run (a violation that ends it). */
class StopRun {
  readonly status: RunStatus;
  constructor(status: RunStatus) {
    this.status = status;
  }
}

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
    if (this.countersDirty) this.flushCounters();
    const g = this.gauges;
    for (let i = 0; i < g.length; i++) this.statsRecord[g[i]!.name] = g[i]!.read();
    return this.statsRecord;
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
    const counters = this.counters ?? (this.counters = new Map());
    let c = counters.get(name);
    if (c === undefined) {
      c = { name, pending: 0 };
      counters.set(name, c);
      // Names keep the order of their first use.
      if (this.statsRecord[name] === undefined) this.statsRecord[name] = 0;
    }
    return c;
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
    const i = this.gauges.findIndex((g) => g.name === name);
    if (i >= 0) this.gauges.splice(i, 1);
    this.gauges.push({ name, read });
    this.statsRecord[name] = read();
  }

  /** Sets `stats[name]` to `value` (a gauge) without adding in the pending counts first. */
  setStat(name: string, value: number): void {
    const c = this.counters?.get(name);
    if (c !== undefined) c.pending = 0;
    this.statsRecord[name] = value;
  }

  /** @internal */
  flushCounters(): void {
    this.countersDirty = false;
    const rec = this.statsRecord;
    if (this.counters === null) return;
    for (const c of this.counters.values()) {
      if (c.pending === 0) continue;
      rec[c.name] = (rec[c.name] ?? 0) + c.pending;
      c.pending = 0;
    }
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

  /**
   * Resumes `ctx` with `value` and runs it on through local operations up to its next visible
   * operation (left in `ctx.pending`), a cost, or its end.
   * @internal
   */
  advance(ctx: Context, value: unknown): void {
    const cpu = ctx.cpu!;
    ctx.needsResume = false;
    const saveCpu = cur.cpu;
    const saveTask = cur.task;
    const saveCtx = cur.ctx;
    const saveStepping = cpu.stepping;
    cpu.stepping = ctx;
    cur.cpu = cpu;
    cur.task = cpu.task;
    cur.ctx = ctx;
    cur.kernel = this;
    let threw = false;
    try {
      for (;;) {
        let r: IteratorResult<Op | KernelCall, unknown>;
        if (ctx.give !== null && !threw) {
          // The result of a primitive taken without a frame goes through its own ending; what
          // that throws, the frame that yielded the primitive gets, as with yield*.
          const g = ctx.give;
          ctx.give = null;
          try {
            value = g.give(value);
          } catch (e) {
            value = e;
            threw = true;
          }
        }
        try {
          r = threw
            ? ctx.gen.throw(value)
            : ctx.native
              ? (resumeGenerator.call(ctx.gen, value) as IteratorResult<Op | KernelCall, unknown>)
              : ctx.gen.next(value);
        } catch (e) {
          // Thrown out of a trampolined call: into its caller, as `yield*` would.
          const calls = ctx.calls;
          if (calls === null || calls.length === 0) throw this.wrapError(ctx, e);
          this.popFrame(ctx, calls);
          value = e;
          threw = true;
          continue;
        }
        threw = false;
        if (r.done === true) {
          const calls = ctx.calls;
          if (calls !== null && calls.length > 0) {
            // A trampolined call returns: resume its caller with the result.
            this.popFrame(ctx, calls);
            value = r.value;
            continue;
          }
          this.finish(ctx, r.value);
          return;
        }
        let op = r.value as Op;
        // The only read of the operation's code (a load that sees every shape of operation and
        // of kernel code); a primitive says its operation's code itself.
        let oc = op.code as number | undefined;
        if (oc === undefined || oc === OP.PRIMITIVE) {
          // `yield f()`: a call. A primitive gives up its operation at once; other code runs as
          // a frame on this context's stack.
          const callee = r.value as KernelCall;
          let direct: Op | null = null;
          if (oc === OP.PRIMITIVE) {
            const p = r.value as unknown as Primitive;
            direct = p.take();
            if (direct !== null) {
              oc = p.opCode;
              if (p.gives) ctx.give = p;
            }
          }
          if (direct === null) {
            if (ctx.calls === null) ctx.calls = [];
            if (!ctx.native) (ctx.foreign ?? (ctx.foreign = [])).push(ctx.calls.length);
            ctx.calls.push(ctx.gen);
            ctx.gen = callee;
            ctx.native = isGenerator(callee);
            value = undefined;
            continue;
          }
          op = direct;
        }
        value = undefined;
        const o: Op = op;
        const code = oc as number;
        switch (code) {
          case OP.COST: {
            const ns = (o as CostOp).ns;
            if (ctx.kind === 'task') (ctx as Task).cpuNs += ns;
            cpu.busyNs += ns;
            if (this.timed && ns > 0) {
              const end = this.now + ns;
              if (
                this.fastForward &&
                this.live > 0 &&
                end <= this.untilRun &&
                this.heap.peekTime() > end &&
                this.alone(cpu)
              ) {
                // A forced wait: nothing else can happen on any CPU before the cost ends (no
                // event is due until after it), so the clock moves on and the CPU carries on here,
                // exactly as the cost's own event would have resumed it. (With no task left to
                // wait for, the step loop ends the run here instead: an interrupt handler's
                // cost after the last exit is not waited for.)
                if (this.tracing) emitCost(this, cpu, ns);
                this.now = end;
                continue;
              }
              startCost(this, cpu, ns);
              return;
            }
            continue;
          }
          case OP.STORE: {
            if (this.sc) break;
            const st = o as StoreOp;
            if (st.how === 'smp_store_mb') {
              // smp_store_mb: the store enters the buffer, then a full barrier waits for it.
              bufferStore(this, cpu, st.cell, st.value, false, 'WRITE_ONCE');
              if (fenceLocal(this, cpu, 'smp_mb')) continue;
              ctx.pending = MB_OP;
              ctx.pendingCode = OP.FENCE;
              ctx.described = false;
              return;
            }
            bufferStore(this, cpu, st.cell, st.value, st.how === 'smp_store_release', st.how);
            continue;
          }
          case OP.FENCE:
            if (fenceLocal(this, cpu, (o as FenceOp).kind)) continue;
            break;
          case OP.UNLOCK: {
            if (this.sc) break;
            const u = o as UnlockOp;
            unlock(this, ctx, cpu, u.lock, u.flavour);
            continue;
          }
          case OP.IRQ: {
            const q = o as IrqOp;
            value = irqOp(this, cpu, q.action, q.flags);
            continue;
          }
          case OP.NOTE:
            if (this.tracing) this.emit('note', { text: (o as NoteOp).text });
            continue;
          case OP.LOCK:
            lockPending(this, ctx, cpu, o as LockOp);
            break;
          default:
            break;
        }
        // (The fast path runs under sc only, where store buffers stay empty: of the conditions of
        // opEnabled, only a held lock remains.)
        if (
          this.fastForward &&
          this.alone(cpu) &&
          (code !== OP.LOCK || (o as LockOp).lock.cell.value === 0)
        ) {
          // A forced move: no other CPU, store buffer, interrupt or due event could act before
          // it, so it runs now, exactly as the step loop would run it next (same step number).
          if (code === OP.SCHEDULE) {
            if (ctx.kind !== 'task') {
              ctx.pendingCode = code;
              ctx.pending = o; // the step loop reports sleeping in interrupt context
              ctx.described = false;
              return;
            }
            this.steps++;
            this.lastCpu = cpu.id;
            // The task sleeps or yields: carry on here with whatever this CPU runs next, in
            // this same loop (a trampoline: no recursion however many switches follow).
            const nx = schedule(this, ctx as Task, cpu, (o as ScheduleOp).on);
            if (nx === null || this.stopStatus !== null) return;
            ctx = nx;
            cpu.stepping = ctx;
            ctx.needsResume = false;
            cur.task = cpu.task;
            cur.ctx = ctx;
            value = undefined;
            continue;
          }
          this.steps++;
          this.lastCpu = cpu.id;
          value = this.execOpHere(ctx, cpu, o, code);
          if (this.stopStatus !== null) {
            ctx.pending = null;
            return;
          }
          continue;
        }
        ctx.pendingCode = code;
        ctx.pending = o;
        ctx.described = false;
        return;
      }
    } finally {
      cur.cpu = saveCpu;
      cur.task = saveTask;
      cur.ctx = saveCtx;
      cpu.stepping = saveStepping;
    }
    // An interrupt raised for this CPU during the step is taken at its end.
    if (saveStepping === null && this.timed && cpu.pendingIrqs.length > 0) maybeTakeIrq(this, cpu);
  }

  /** @internal Resumes `ctx`'s innermost caller (`calls`, not empty) as its running frame. */
  popFrame(ctx: Context, calls: KernelCode<unknown>[]): void {
    ctx.gen = calls.pop()!;
    const f = ctx.foreign;
    if (f !== null && f.length > 0 && f[f.length - 1] === calls.length) {
      f.pop();
      ctx.native = false;
    } else ctx.native = true;
  }

  /** @internal */
  wrapError(ctx: Context, e: unknown): Error {
    const msg = e instanceof Error ? e.message : String(e);
    const err = new Error(
      `${ctx.kind === 'task' ? `task '${ctx.name}' (pid ${ctx.id})` : `interrupt handler '${ctx.name}'`} threw at step ${this.steps}: ${msg}`,
    );
    if (e instanceof Error && e.stack !== undefined) err.stack = `${err.message}\n${e.stack}`;
    return err;
  }

  /** @internal */
  finish(ctx: Context, result: unknown): void {
    const cpu = ctx.cpu!;
    ctx.pending = null;
    if (ctx.kind === 'task') this.emit('task.exit', { task: ctx.id, name: ctx.name });
    cpu.stack.pop();
    if (ctx.held.length > 0) {
      this.violation(
        'lock-validator',
        `${ctx.name} ended holding ${ctx.held.map((l) => `'${l.name}'`).join(', ')} (taken at step ${ctx.held[0]!.since})`,
      );
    }
    if (ctx.kind === 'irq') {
      if (this.tracing) this.emit('irq.exit', { irq: ctx.name.slice(4) });
      cpu.irqsOff = false;
      const below = cpu.top();
      if (below === null) {
        refill(this, cpu);
        return;
      }
      if (this.timed) maybeTakeIrq(this, cpu);
      if (cpu.top() !== below || cpu.busy) return;
      if (below.suspendedCost > 0) {
        const ns = below.suspendedCost;
        below.suspendedCost = 0;
        startCost(this, cpu, ns);
      } else if (below.needsResume) {
        this.advance(below, undefined);
      }
      return;
    }
    const t = ctx as Task;
    t.exited = true;
    t.result = result;
    // Off the task list, and its code let go of: whoever still holds the task (its spawner)
    // keeps its result, not its frames.
    this.taskList.release(t);
    t.gen = PLACEHOLDER;
    t.calls = null;
    t.foreign = null;
    t.hot = null;
    t.give = null;
    t.state.value = 8;
    if (!t.daemon) this.live--;
    cpu.task = null;
    if (this.tracing) this.emit('sched.switch', { prev: t.id, next: -1, prevState: 'TASK_ZOMBIE' });
    refill(this, cpu);
  }

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

  /** @internal Describes `ctx`'s pending op for the Chooser. */
  describe(ctx: Context, op: Op): void {
    const a = ctx.action;
    a.cpu = ctx.cpu!.id;
    a.sched = false;
    a.global = false;
    a.write = true;
    a.obj = -1;
    switch (op.code) {
      case OP.LOAD:
        a.obj = op.cell.id;
        a.write = false;
        a.label = `load ${op.cell.name}`;
        break;
      case OP.STORE:
        a.obj = op.cell.id;
        a.label = `store ${op.cell.name}`;
        break;
      case OP.RMW:
        a.obj = op.cell.id;
        a.label = `${op.name} ${op.cell.name}`;
        break;
      case OP.LOCK:
      case OP.TRYLOCK:
      case OP.UNLOCK:
        a.obj = op.lock.cell.id;
        a.label = `${op.code === OP.UNLOCK ? 'unlock' : 'lock'} ${op.lock.name}`;
        break;
      case OP.FENCE:
        a.write = false;
        a.label = op.kind;
        break;
      case OP.SCHEDULE:
        a.sched = true;
        a.obj = (ctx as Task).state?.id ?? -1;
        a.label = 'schedule';
        break;
      case OP.WAKE:
        a.sched = true;
        a.obj = op.task.state.id;
        a.label = `wake ${op.task.name}`;
        break;
      case OP.ATOMIC:
        a.obj = op.obj;
        a.write = op.write;
        a.sched = op.sched === true;
        a.label = op.label;
        break;
      default:
        a.label = 'op';
    }
  }

  /** @internal Whether `ctx`'s pending op can execute now. */
  enabled(ctx: Context, cpu: Cpu): boolean {
    const sbEmpty = cpu.sb.entries.length === 0;
    switch (ctx.pendingCode) {
      case OP.LOCK:
        return (ctx.pending as LockOp).lock.cell.value === 0 && sbEmpty;
      case OP.TRYLOCK:
      case OP.RMW:
      case OP.FENCE:
      case OP.SCHEDULE:
      case OP.WAKE:
        return sbEmpty;
      default:
        return true;
    }
  }

  /** @internal Executes `ctx`'s pending op and runs it on to its next visible op. */
  execute(ctx: Context): void {
    const op = ctx.pending!;
    const code = ctx.pendingCode;
    const cpu = ctx.cpu!;
    ctx.pending = null;
    if (code === OP.SCHEDULE) {
      if (ctx.kind !== 'task') {
        this.violation(
          'bug',
          `scheduling while atomic: ${ctx.name} on CPU${cpu.id} called schedule() in interrupt context (step ${this.steps})`,
        );
        return;
      }
      const save = cur.cpu;
      const saveTask = cur.task;
      cur.cpu = cpu;
      cur.task = cpu.task;
      let nx: Context | null;
      try {
        nx = schedule(this, ctx as Task, cpu, (op as ScheduleOp).on);
      } finally {
        cur.cpu = save;
        cur.task = saveTask;
      }
      if (nx !== null) this.advance(nx, undefined);
      return;
    }
    this.advance(ctx, this.execOp(ctx, cpu, op, code));
  }

  /** @internal Executes a visible operation other than schedule() and returns its result. */
  execOp(ctx: Context, cpu: Cpu, op: Op, code: number): unknown {
    const save = cur.cpu;
    const saveTask = cur.task;
    const saveStepping = cpu.stepping;
    cur.cpu = cpu;
    cur.task = cpu.task;
    cpu.stepping = ctx;
    try {
      return this.execOpHere(ctx, cpu, op, code);
    } finally {
      cur.cpu = save;
      cur.task = saveTask;
      cpu.stepping = saveStepping;
    }
  }

  /**
   * execOp, with `cur` already describing `cpu` (inside `advance`). `code` is `op.code`, read
   * once by the caller: each case says which operation that makes `op`.
   * @internal
   */
  execOpHere(ctx: Context, cpu: Cpu, op: Op, code: number): unknown {
    let value: unknown;
    switch (code) {
      case OP.LOAD: {
        const o = op as LoadOp;
        value = load(this, cpu, o.cell, o.how);
        break;
      }
      case OP.STORE: {
        const o = op as StoreOp;
        if (this.sc && !this.tracing) {
          // Sequential consistency: the store is the whole of it (smp_store_mb's barrier waits
          // for nothing).
          o.cell.value = o.value;
          break;
        }
        this.mem.commit(cpu.id, o.cell, o.value);
        if (o.how === 'smp_store_mb') {
          if (this.tracing)
            this.emit('mem.store', {
              cell: o.cell.name,
              value: o.value,
              buffered: false,
              op: 'WRITE_ONCE',
            });
          fenceLocal(this, cpu, 'smp_mb');
        } else {
          if (this.tracing)
            this.emit('mem.store', { cell: o.cell.name, value: o.value, buffered: false, op: o.how });
        }
        break;
      }
      case OP.RMW: {
        const o = op as RmwOp;
        const old = o.cell.value;
        const nv = o.fn(old);
        if (nv !== old || o.name !== 'cmpxchg') this.mem.commit(cpu.id, o.cell, nv);
        if (this.config.memoryModel === 'invq') {
          o.cell.seen[cpu.id] = o.cell.hist.length - 1;
          if (o.ordered) this.mem.flush(cpu.id);
        }
        if (this.tracing) this.emit('mem.rmw', { cell: o.cell.name, old, value: nv, op: o.name });
        value = o.ret === 'old' ? old : nv;
        break;
      }
      case OP.FENCE:
        fenceLocal(this, cpu, (op as FenceOp).kind);
        break;
      case OP.LOCK: {
        const o = op as LockOp;
        acquire(this, ctx, cpu, o.lock, o.flavour);
        break;
      }
      case OP.TRYLOCK: {
        value = trylock(this, ctx, cpu, (op as TrylockOp).lock);
        break;
      }
      case OP.UNLOCK: {
        const o = op as UnlockOp;
        unlock(this, ctx, cpu, o.lock, o.flavour);
        break;
      }
      case OP.WAKE: {
        const o = op as WakeOp;
        value = this.try_to_wake_up(o.task, o.mask);
        break;
      }
      case OP.ATOMIC:
        try {
          value = (op as AtomicOp).fn();
        } catch (e) {
          throw this.wrapError(ctx, e);
        }
        break;
      default:
        throw new Error(`operation ${code} cannot be pending`);
    }
    return value;
  }

  /**
   * Whether `cpu` is the only place anything can happen now (timed fast path): every other CPU
   * is busy with a cost or idle with nothing to take, no interrupt is waiting, no event is due.
   * @internal
   */
  alone(cpu: Cpu): boolean {
    if (this.steps >= this.maxStepsRun) return false;
    if (cpu.pendingIrqs.length > 0) return false;
    if (this.heap.peekTime() <= this.now) return false;
    const cpus = this.cpus;
    const n = cpus.length;
    if (n === 1) return true;
    const stealable = cpu.runqueue.length > 0;
    for (let i = 0; i < n; i++) {
      const other = cpus[i]!;
      if (other === cpu) continue;
      // A busy CPU acts only when its cost ends, but an idle one may steal from its queue.
      if (other.busy) {
        if (other.runqueue.length > 0) return false;
        continue;
      }
      if (stealable || other.stack.length > 0 || other.runqueue.length > 0 || other.pendingIrqs.length > 0)
        return false;
    }
    return true;
  }

  /**
   * Collects the enabled actions (into the parallel arrays `actKind`, `actCtx`, `actCpu`,
   * `actCell` and `infos`, `nAct` of them); returns whether action 0 continues the CPU that ran
   * last. Nothing is allocated for CPU operations: their ActionInfo is the context's own record.
   * @internal
   */
  collect(): boolean {
    const infos = this.infos;
    let n = 0;
    const timed = this.timed;
    let continues = false;
    const cpus = this.cpus;
    const ncpu = cpus.length;
    const start = Math.max(this.lastCpu, 0);
    // CPU operations, starting with the CPU that ran last (index 0 = no preemption).
    let stealable = -1; // unknown yet
    for (let k = 0; k < ncpu; k++) {
      const cpu = cpus[(start + k) % ncpu]!;
      if (cpu.busy) continue;
      if (timed && cpu.pendingIrqs.length > 0) maybeTakeIrq(this, cpu);
      if (cpu.stack.length === 0) {
        if (cpu.runqueue.length > 0) refill(this, cpu);
        else {
          if (stealable < 0) stealable = anyStealable(this) ? 1 : 0;
          if (stealable === 1) {
            refill(this, cpu);
            stealable = -1; // the steal may have taken the last one
          }
        }
      }
      const ctx = cpu.top();
      if (ctx === null || ctx.pending === null || cpu.busy) continue;
      if (!this.enabled(ctx, cpu)) continue;
      if (k === 0 && this.lastCpu >= 0) continues = true;
      this.actKind[n] = ACT_OP;
      this.actCtx[n] = ctx;
      infos[n++] = ctx.action;
    }
    // Store-buffer drains.
    const model = this.config.memoryModel;
    if (model !== 'sc') {
      for (const cpu of cpus) {
        if (cpu.sb.entries.length === 0) continue;
        const idx = cpu.sb.drainable(model, this.drainIdx);
        for (const i of idx) {
          const e = cpu.sb.entries[i]!;
          infos[n] = {
            actor: DRAIN_ACTOR_BASE - cpu.id * 100_000 - (model !== 'tso' ? e.cell.id : 0),
            cpu: cpu.id,
            obj: e.cell.id,
            write: true,
            sched: false,
            global: false,
            kind: 'drain',
            label: `drain CPU${cpu.id} ${e.cell.name}=${e.value}`,
          };
          this.actKind[n] = ACT_DRAIN;
          this.actCpu[n] = cpu;
          this.actCell[n++] = e.cell;
        }
      }
    }
    if (!timed) {
      // Interrupts waiting to be taken, and the next timed event: choices like any other.
      for (const cpu of cpus) {
        if (cpu.pendingIrqs.length === 0 || cpu.irqsOff || cpu.busy) continue;
        const top = cpu.top();
        if (top !== null && top.kind === 'irq') continue;
        infos[n] = {
          actor: IRQ_ACTOR_BASE - cpu.id,
          cpu: cpu.id,
          obj: -1,
          write: true,
          sched: true,
          global: true,
          kind: 'irq',
          label: `irq ${cpu.pendingIrqs[0]!.name} on CPU${cpu.id}`,
        };
        this.actKind[n] = ACT_IRQ;
        this.actCpu[n++] = cpu;
      }
      if (this.fgEvents > 0 || (this.heap.size > 0 && n > 0)) {
        skipCancelled(this);
        if (this.heap.size > 0) {
          const ev = this.heap.peek();
          infos[n] = {
            actor: TIMER_ACTOR,
            cpu: -1,
            obj: -1,
            write: true,
            sched: true,
            global: true,
            kind: 'timer',
            label: `event ${ev.label}`,
          };
          this.actKind[n++] = ACT_TIMER;
        }
      }
    }
    this.nAct = n;
    return continues;
  }

  /** @internal Runs action `i` of the last `collect()`. */
  runAction(i: number): void {
    switch (this.actKind[i]) {
      case ACT_OP: {
        const ctx = this.actCtx[i]!;
        this.lastCpu = ctx.cpu!.id;
        this.execute(ctx);
        return;
      }
      case ACT_DRAIN: {
        const cpu = this.actCpu[i]!;
        const cell = this.actCell[i];
        drain(
          this,
          cpu,
          cpu.sb.entries.findIndex((x) => x.cell === cell),
        );
        return;
      }
      case ACT_IRQ:
        takeIrq(this, this.actCpu[i]!);
        return;
      default:
        fireNext(this);
    }
  }

  /**
   * Runs until every non-daemon task has exited (and every store buffer drained), a hang, a
   * violation that stops the run, or a budget.
   */
  run(opts: RunOptions = {}): RunResult {
    const until = Math.min(opts.until ?? CLOCK_MAX, CLOCK_MAX);
    const maxSteps = opts.maxSteps ?? Number.POSITIVE_INFINITY;
    const timed = this.timed;
    const checks = this.stepChecks;
    const observe = this.chooser.inner.observe !== undefined;
    // Describing the enabled actions is only worth it for strategies that look at them.
    const needPoint = this.chooser.inner.needsPoint !== false;
    this.maxStepsRun = maxSteps;
    this.untilRun = until;
    this.fastForward = this.config.fastForward && timed && this.sc && !observe && checks.length === 0;
    let status: RunStatus = 'done';
    try {
      for (;;) {
        if (this.stopStatus !== null) throw new StopRun(this.stopStatus);
        if (timed) {
          fireDue(this);
          if (this.stopStatus !== null) throw new StopRun(this.stopStatus);
        }
        if (finished(this)) break;
        const continues = this.collect();
        if (this.stopStatus !== null) throw new StopRun(this.stopStatus);
        const n = this.nAct;
        if (n === 0) {
          // Collecting may have run a task to its end (one refilled onto an idle CPU).
          if (finished(this)) break;
          if (timed) {
            skipCancelled(this);
            if (this.heap.size > 0 && this.fgEvents > 0) {
              const t = this.heap.peekTime();
              if (t > until) {
                status = 'until';
                break;
              }
              this.now = t;
              continue;
            }
          }
          status = 'hang';
          reportHang(this);
          break;
        }
        if (this.steps >= maxSteps) {
          status = 'max-steps';
          break;
        }
        let pick = 0;
        if ((n > 1 && needPoint) || observe) {
          // Describe pending operations only when a strategy will look at them.
          for (let i = 0; i < n; i++) {
            if (this.actKind[i] !== ACT_OP) continue;
            const ctx = this.actCtx[i]!;
            if (!ctx.described) {
              this.describe(ctx, ctx.pending!);
              ctx.described = true;
            }
          }
        }
        if (n > 1) {
          if (needPoint) {
            this.infos.length = n;
            this.point.continues = continues;
            pick = this.chooser.choose(n, 'step', this.point);
          } else {
            pick = this.chooser.choose(n, 'step');
          }
        }
        this.steps++;
        if (observe) this.chooser.observe(this.infos[pick]!);
        this.runAction(pick);
        if (checks.length > 0) {
          for (const chk of checks) {
            const msg = chk();
            if (msg !== undefined) {
              this.violation('invariant', msg);
              break;
            }
          }
        }
      }
    } catch (e) {
      if (!(e instanceof StopRun)) throw e;
      status = e.status;
    } finally {
      // Between runs (a spawn, a raise_irq from outside) everything goes through the step loop.
      this.fastForward = false;
    }
    return {
      status,
      steps: this.steps,
      simTimeNs: this.now,
      violations: this.violations,
      choices: this.chooser.choices,
    };
  }
}
