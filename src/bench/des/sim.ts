/**
 * The plain discrete-event core: a SimPy-like simulator whose processes are generators.
 *
 * Contents:
 * - `Sim`: the clock and the event loop over an `EventHeap` keyed by (time, priority, sequence),
 *   plus a FIFO lane for zero-delay wake-ups that never goes through the heap.
 * - `Process`: a generator driven by the loop. What it yields says what it waits for:
 *   - a number `d >= 0`: a timeout of `d` time units. No event object is allocated: the heap
 *     entry's payload is the process itself (a zero delay goes to the FIFO lane);
 *   - a `SimEvent`: resumes when the event is processed, with its value (or its error thrown in);
 *   - a `Process`: resumes when that process returns, with its return value;
 *   - `PASSIVATE`: sleeps until another process calls `sim.activate(p, value)` (a direct handoff
 *     through the FIFO lane).
 * - `SimEvent`: a one-shot event with the lifecycle pending → triggered → processed. `succeed`
 *   or `fail` triggers it; the loop processes it, resuming its waiters in the order they came.
 *   One waiter is kept in a field; an array is made only when a second waiter appears.
 * - `ProcessError`: what `run()` throws when a process raises an exception nobody handles.
 *
 * Same-time order: entries at the current time in the heap (urgent first, then in push order)
 * run before the FIFO lane, and the lane runs in push order; everything the lane holds was
 * triggered after those heap entries were pushed, so this is exactly SimPy's (time, priority,
 * sequence) order. Two deliberate departures: a new process takes its first step from the
 * lane (SimPy uses an urgent event), and an event succeeded while nobody waits on it is
 * processed at once (there is nothing to run). `run(until)` pushes an urgent event at `until`
 * whose processing ends the run.
 */
import { EventHeap } from '../../kernel/heap.js';
import { Fifo } from './fifo.js';

/** Yield this from a process to sleep until `sim.activate(process, value)` wakes it. */
export const PASSIVATE: unique symbol = Symbol('PASSIVATE');

/** What a process may yield: a delay, an event, a process to join, or `PASSIVATE`. */
export type Yieldable = number | SimEvent<unknown> | Process<unknown> | typeof PASSIVATE;

/** The generator type of a process returning `R`. What a `yield` evaluates to is `unknown`. */
export type ProcessGenerator<R = unknown> = Generator<Yieldable, R, unknown>;

/** The lifecycle of a `SimEvent`. */
export const EventState = {
  /** Not yet triggered: `succeed`/`fail` may still be called. */
  Pending: 0,
  /** Triggered (its value or error is fixed), waiting in the loop to be processed. */
  Triggered: 1,
  /** Processed: its waiters have been resumed; a process yielding it now continues at once. */
  Processed: 2,
} as const;
/** One of the `EventState` values. */
export type EventState = (typeof EventState)[keyof typeof EventState];

/** A callback run when an event is processed. */
export type EventCallback<E> = (ev: E) => void;

/** The heap priorities: urgent entries precede normal ones at the same time. */
const URGENT = 0;
const NORMAL = 1;

// Process states.
const P_READY = 0; // scheduled (heap or lane) or not yet started
const P_RUNNING = 1;
const P_WAITING = 2; // waiting on an event
const P_PASSIVE = 3;
const P_DONE = 4; // returned
const P_FAILED = 5; // threw; `_val` holds the exception

type Waiter = Process<unknown> | EventCallback<SimEvent<unknown>>;
type Entry = Process<unknown> | SimEvent<unknown>;

/** Thrown by the stop event of `run(until)`; caught by `run`. */
const STOP = { stop: true };

/**
 * A one-shot event. It becomes triggered by `succeed` or `fail` (or at creation, for
 * `sim.timeout`) and processed when the loop resumes its waiters. An event triggered by
 * `succeed` while nobody waits on it has nothing to run and is processed at once, so a later
 * `yield` of it continues immediately. A failed event is always queued, and if it is processed
 * with no waiter the run crashes: a failure is never silently dropped.
 */
export class SimEvent<T = unknown> {
  // The fields are `declare`d and set in the constructor: a class that is extended (here by
  // `Request`) must not have field definitions, or V8 builds every subclass instance through
  // the generic construct path instead of inlining the constructor (about 3x the cost).
  /** The simulator this event belongs to. */
  declare readonly sim: Sim;
  /** Lifecycle state; see `EventState`. */
  declare state: EventState;
  /** The value given to `succeed` (undefined until then). */
  declare value: T | undefined;
  /** False once `fail` was called; `error` then holds what waiters get thrown. */
  declare ok: boolean;
  /** The error given to `fail`. */
  declare error: unknown;
  /** @internal First waiter (the single-waiter fast path). */
  declare _w0: Waiter | null;
  /** @internal Further waiters, created when a second waiter appears. */
  declare _ws: Waiter[] | null;
  /**
   * @internal False: an event (a process has true). The loop, `wake` and `resume` tell events
   * from processes by this field, at a fraction of the cost of `instanceof` there.
   */
  declare readonly _isProcess: false;

  /** Creates a pending event; usually through `sim.event()`. */
  constructor(sim: Sim) {
    this.sim = sim;
    this.state = EventState.Pending;
    this.value = undefined;
    this.ok = true;
    this.error = undefined;
    this._w0 = null;
    this._ws = null;
    this._isProcess = false;
  }

  /** True until `succeed`/`fail` is called (pending → triggered). */
  get pending(): boolean {
    return this.state === EventState.Pending;
  }

  /** True once `succeed`/`fail` was called. */
  get triggered(): boolean {
    return this.state !== EventState.Pending;
  }

  /** True once the loop has resumed the waiters (triggered → processed). */
  get processed(): boolean {
    return this.state === EventState.Processed;
  }

  /** Triggers the event with `value`; its waiters resume at the current time, in FIFO order. */
  succeed(value?: T): this {
    if (this.state !== EventState.Pending)
      throw new Error('SimEvent.succeed: the event was already triggered');
    this.value = value;
    if (this._w0 === null) {
      this.state = EventState.Processed;
    } else {
      this.state = EventState.Triggered;
      this.sim._enqueue(this);
    }
    return this;
  }

  /** Triggers the event as failed: each waiting process gets `error` thrown at its `yield`. */
  fail(error: unknown): this {
    if (this.state !== EventState.Pending) throw new Error('SimEvent.fail: the event was already triggered');
    this.ok = false;
    this.error = error;
    this.state = EventState.Triggered;
    this.sim._enqueue(this);
    return this;
  }

  /**
   * Runs `fn(this)` when the event is processed, after the waiters registered before it.
   * On an already processed event, runs it at once.
   */
  addCallback(fn: EventCallback<this>): void {
    if (this.state === EventState.Processed) fn(this);
    else this._wait(fn as EventCallback<SimEvent<unknown>>);
  }

  /** True when some process or callback waits on this event. */
  get hasWaiters(): boolean {
    return this._w0 !== null;
  }

  /** @internal Registers a waiter (process or callback). */
  _wait(w: Waiter): void {
    if (this._w0 === null) this._w0 = w;
    else if (this._ws === null) this._ws = [w];
    else this._ws.push(w);
  }
}

/**
 * A process: a generator driven by the simulator. Created by `sim.process`; it starts from the
 * FIFO lane at the time it was created.
 */
export class Process<R = unknown> {
  /** The simulator running this process. */
  readonly sim: Sim;
  /** Creation number, unique within its simulator (0, 1, 2, ...). */
  readonly id: number;
  /** @internal */
  _gen: ProcessGenerator<R>;
  /** @internal One of the P_* states. */
  _state = P_READY;
  /**
   * @internal The value the next resume from the FIFO lane passes in; once the process has
   * returned, its return value; once it has thrown, the exception.
   */
  _val: unknown = undefined;
  /** @internal The completion event, created on demand. */
  _done: SimEvent<R> | null = null;
  /** @internal The explicit or function-derived name, if any. */
  _name: string | undefined;
  /** @internal True: a process (see `SimEvent._isProcess`). */
  readonly _isProcess = true;

  /** Creates a process; use `sim.process`. */
  constructor(sim: Sim, id: number, gen: ProcessGenerator<R>, name: string | undefined) {
    this.sim = sim;
    this.id = id;
    this._gen = gen;
    this._name = name;
  }

  /** Its name: the one given to `sim.process`, else the generator function's, else `process#<id>`. */
  get name(): string {
    return this._name === undefined || this._name === '' ? `process#${this.id}` : this._name;
  }

  /** The value the generator returned, once it has (undefined before, or if it threw). */
  get returnValue(): R | undefined {
    return this._state === P_DONE ? (this._val as R) : undefined;
  }

  /** False once the generator has returned or thrown. */
  get isAlive(): boolean {
    return this._state < P_DONE;
  }

  /** True while it waits for `sim.activate` after yielding `PASSIVATE`. */
  get isPassive(): boolean {
    return this._state === P_PASSIVE;
  }

  /**
   * The completion event: succeeds with the return value when the process returns, fails with
   * its exception when it throws (the exception then goes to whoever waits on this event
   * instead of crashing the run).
   */
  get done(): SimEvent<R> {
    let d = this._done;
    if (d === null) {
      d = new SimEvent<R>(this.sim);
      this._done = d;
      if (this._state === P_DONE) {
        d.succeed(this.returnValue);
      } else if (this._state === P_FAILED) {
        // Already failed: the event is born processed, so a later `yield` throws into the
        // yielder, and merely looking at it crashes nothing.
        d.ok = false;
        d.error = this._val;
        d.state = EventState.Processed;
      }
    }
    return d;
  }

  /** For messages: `name`. */
  toString(): string {
    return this.name;
  }
}

/** The exception `run()` throws when a process raised an exception that nobody handled. */
export class ProcessError extends Error {
  /** The process that raised it. */
  readonly process: Process<unknown>;
  /** Simulated time at which it was raised. */
  readonly time: number;

  /** Wraps `cause`, raised by `process` at `time`. */
  constructor(process: Process<unknown>, time: number, cause: unknown) {
    const what = cause instanceof Error ? cause.message : String(cause);
    super(`process '${process.name}' crashed at t=${time}: ${what}`, { cause });
    this.name = 'ProcessError';
    this.process = process;
    this.time = time;
  }
}

/**
 * The simulator: a clock, an event heap and a FIFO lane. Deterministic: no randomness, and
 * same-time order is fixed by the (time, priority, sequence) key.
 */
export class Sim {
  private _now: number;
  private readonly heap = new EventHeap<Entry>(256);
  private readonly lane = new Fifo<Entry>(64);
  private nextId = 0;
  private stopEvent: SimEvent<unknown> | null = null;
  private running = false;

  /** A simulator whose clock starts at `start` (default 0). */
  constructor(start = 0) {
    this._now = start;
  }

  /** The current simulated time. */
  get now(): number {
    return this._now;
  }

  /** Time of the next heap entry (Infinity when none); the lane, when not empty, runs at `now`. */
  peek(): number {
    return this.lane.size > 0 ? this._now : this.heap.peekTime();
  }

  /**
   * Starts a process from a generator, or from a generator function called with no argument.
   * It runs its first step from the FIFO lane at the current time.
   */
  process<R>(gen: ProcessGenerator<R> | (() => ProcessGenerator<R>), name?: string): Process<R> {
    let g: ProcessGenerator<R>;
    let n = name;
    if (typeof gen === 'function') {
      g = gen();
      if (n === undefined) n = gen.name;
    } else {
      g = gen;
    }
    const p = new Process<R>(this, this.nextId++, g, n);
    this.lane.push(p as Process<unknown>);
    return p;
  }

  /** A new pending event. */
  event<T = unknown>(): SimEvent<T> {
    return new SimEvent<T>(this);
  }

  /**
   * An event that triggers `delay` time units from now with `value` (for waiting on a delay
   * from several places; a process that only sleeps should `yield delay` instead).
   */
  timeout<T = undefined>(delay: number, value?: T): SimEvent<T> {
    if (!(delay >= 0)) throw new RangeError(`Sim.timeout: bad delay ${delay}`);
    const ev = new SimEvent<T>(this);
    ev.value = value;
    ev.state = EventState.Triggered;
    const t = this._now + delay;
    if (t === this._now) this.lane.push(ev as SimEvent<unknown>);
    else this.heap.push(t, NORMAL, ev as SimEvent<unknown>);
    return ev;
  }

  /**
   * Wakes a process that yielded `PASSIVATE`: it resumes from the FIFO lane, its `yield`
   * evaluating to `value`. Throws if the process is not passive.
   */
  activate(p: Process<unknown>, value?: unknown): void {
    if (p._state !== P_PASSIVE) throw new Error(`Sim.activate: process '${p.name}' is not passive`);
    p._state = P_READY;
    p._val = value;
    this.lane.push(p);
  }

  /**
   * Runs the loop until no entry is left, or until the clock reaches `until` (an urgent event
   * at `until`: entries at exactly `until` with normal priority are left for a later run).
   * Throws a `ProcessError` when a process raises an exception nobody handles.
   */
  run(until?: number): void {
    if (this.running) throw new Error('Sim.run: already running');
    if (until !== undefined) {
      if (!(until >= this._now)) throw new RangeError(`Sim.run: until=${until} is before now=${this._now}`);
      const stop = new SimEvent(this);
      stop.state = EventState.Triggered;
      stop._w0 = (ev) => {
        if (ev === this.stopEvent) throw STOP;
      };
      this.stopEvent = stop;
      this.heap.push(until, URGENT, stop);
    }
    this.running = true;
    try {
      this.loop();
    } catch (e) {
      if (e !== STOP) throw e;
    } finally {
      this.running = false;
      this.stopEvent = null;
    }
  }

  /** @internal Queues a triggered event on the FIFO lane. */
  _enqueue(ev: SimEvent<unknown>): void {
    this.lane.push(ev);
  }

  private loop(): void {
    const heap = this.heap;
    const lane = this.lane;
    for (;;) {
      let item: Entry;
      if (lane.size !== 0 && heap.peekTime() !== this._now) {
        item = lane.shift();
      } else if (heap.size !== 0) {
        this._now = heap.peekTime();
        item = heap.pop();
      } else {
        return;
      }
      if (item._isProcess === true) {
        // `_val` is set only by `activate` (the lane); a timeout from the heap finds it undefined.
        const v = item._val;
        item._val = undefined;
        this.resume(item, v, false);
      } else {
        this.processEvent(item);
      }
    }
  }

  private processEvent(ev: SimEvent<unknown>): void {
    ev.state = EventState.Processed;
    const w0 = ev._w0;
    if (w0 === null) {
      if (!ev.ok) {
        const what = ev.error instanceof Error ? ev.error.message : String(ev.error);
        throw new Error(`an event failed with nobody waiting on it: ${what}`, { cause: ev.error });
      }
      return;
    }
    ev._w0 = null;
    const ws = ev._ws;
    this.wake(w0, ev);
    if (ws !== null) {
      ev._ws = null;
      for (let i = 0; i < ws.length; i++) this.wake(ws[i]!, ev);
    }
  }

  private wake(w: Waiter, ev: SimEvent<unknown>): void {
    if (typeof w !== 'function') {
      if (ev.ok) this.resume(w, ev.value, false);
      else this.resume(w, ev.error, true);
    } else {
      w(ev);
    }
  }

  /** Runs one step of `p`: from its resume to its next yield (or its end). */
  private resume(p: Process<unknown>, v: unknown, thrown: boolean): void {
    const gen = p._gen;
    p._state = P_RUNNING;
    let r: IteratorResult<Yieldable, unknown>;
    try {
      r = thrown ? gen.throw(v) : gen.next(v);
      while (r.done !== true) {
        const y = r.value;
        if (typeof y === 'number') {
          const t = this._now + y;
          if (!(y >= 0)) throw new RangeError(`yielded a bad delay ${y}`);
          p._state = P_READY;
          if (t === this._now) this.lane.push(p);
          else this.heap.push(t, NORMAL, p);
          return;
        }
        if (y === PASSIVATE) {
          p._state = P_PASSIVE;
          return;
        }
        let ev: SimEvent<unknown>;
        const isProcess = typeof y === 'object' && y !== null ? (y as Entry)._isProcess : undefined;
        if (isProcess === false) ev = y as SimEvent<unknown>;
        else if (isProcess === true) ev = (y as Process<unknown>).done;
        else throw new TypeError(`yielded an unsupported value: ${String(y)}`);
        if (ev.sim !== this) throw new Error('yielded an event of another simulator');
        if (ev.state !== EventState.Processed) {
          ev._wait(p);
          p._state = P_WAITING;
          return;
        }
        r = ev.ok ? gen.next(ev.value) : gen.throw(ev.error);
      }
    } catch (e) {
      this.crash(p, e);
      return;
    }
    p._state = P_DONE;
    p._val = r.value;
    const d = p._done;
    if (d !== null) d.succeed(r.value);
  }

  private crash(p: Process<unknown>, e: unknown): void {
    p._state = P_FAILED;
    p._val = e;
    const d = p._done;
    if (d?.hasWaiters) {
      d.fail(e);
      return;
    }
    throw new ProcessError(p, this._now, e);
  }
}
