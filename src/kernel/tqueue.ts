/**
 * Deferred work: task queues and the keventd-style worker pool.
 *
 * - `tq_immediate`: routines queued (typically from an interrupt handler) run at the end of
 *   the current interrupt, still in interrupt context (2.4's IMMEDIATE_BH).
 * - `tq_disk`: routines (the block layer's unplug functions) run when someone calls
 *   `run_task_queue(tq_disk)` before waiting for IO.
 * - `add_timer`: a kernel timer whose routine runs in interrupt (softirq) context when it
 *   expires, on the CPU that armed it.
 * - `schedule_task(routine)`: queues a routine for the shared pool of worker threads
 *   (`keventd/N`, daemons); the routine runs in process context and may sleep. The pool is
 *   created on first use with `KEVENTD_DEFAULT_WORKERS` threads, or by `keventd_init`.
 * - `schedule_tq(tq)`: the same for an embedded `TqStruct` (2.4's `schedule_task(&tq)`): no
 *   allocation, and a struct already queued is not queued twice (returns 0), as 2.4's
 *   `tq->sync` bit ensured. A worktodo embeds one.
 */
import { current as cur } from './current.js';
import type { Kernel, TimerHandle } from './kernel.js';
import { atomic, type KernelCode } from './ops.js';
import { current, kernel, schedule, set_current_state, wake_up_process } from './sched.js';
import type { Spinlock } from './spinlock.js';
import { spin_lock_irqsave, spin_unlock_irqrestore } from './spinlock.js';
import { TASK_INTERRUPTIBLE, type Task } from './task.js';

/** A deferred routine. */
export type Routine = () => KernelCode<unknown>;

/** A task queue (`struct tq_struct` list). */
export class TaskQueue {
  readonly name: string;
  readonly obj: number;
  readonly list: { routine: Routine; label: string }[] = [];
  constructor(name: string, obj: number) {
    this.name = name;
    this.obj = obj;
  }
}

/**
 * `struct tq_struct`: a routine embedded in its owner (a worktodo). `sync` is set while it sits
 * on the keventd pool's list (from `schedule_tq` until a worker takes it); the worker calls
 * whatever `routine` holds when it runs it.
 */
export class TqStruct {
  routine: Routine;
  label: string;
  /** Queued and not yet taken by a worker (2.4's `tq->sync`). */
  sync = false;
  constructor(routine: Routine, label: string = routine.name || 'routine') {
    this.routine = routine;
    this.label = label;
  }
}

interface TqState {
  tq_immediate: TaskQueue;
  tq_disk: TaskQueue;
  pool: Pool | null;
}

interface Pool {
  readonly lock: Spinlock;
  readonly work: { routine: Routine; label: string }[];
  readonly idle: Task[];
  readonly workers: Task[];
}

/** Default size of the keventd pool. */
export const KEVENTD_DEFAULT_WORKERS = 2;

const states = new WeakMap<Kernel, TqState>();

function state(k: Kernel): TqState {
  let s = states.get(k);
  if (s === undefined) {
    s = {
      tq_immediate: new TaskQueue('tq_immediate', k.newObjectId()),
      tq_disk: new TaskQueue('tq_disk', k.newObjectId()),
      pool: null,
    };
    states.set(k, s);
    const imm = s.tq_immediate;
    // Looked at as each handler returns: an empty tq_immediate costs nothing.
    k.irqExitHook = () => (imm.list.length > 0 ? run_task_queue(imm) : null);
  }
  return s;
}

/** The kernel's `tq_immediate`. */
export function tq_immediate(k: Kernel): TaskQueue {
  return state(k).tq_immediate;
}
/** The kernel's `tq_disk`. */
export function tq_disk(k: Kernel): TaskQueue {
  return state(k).tq_disk;
}

/** `queue_task(routine, tq)`: appends the routine (a visible step on the queue). */
export function* queue_task(
  tq: TaskQueue,
  routine: Routine,
  label = routine.name || 'routine',
): KernelCode<void> {
  yield* atomic(tq.obj, true, `queue_task ${tq.name}`, () => {
    tq.list.push({ routine, label });
    cur.kernel?.emit('tq.queue', { queue: tq.name, what: label });
  });
}

/** `run_task_queue(tq)`: runs and removes every routine queued, in order. */
export function* run_task_queue(tq: TaskQueue): KernelCode<void> {
  const batch = yield* atomic(tq.obj, true, `run_task_queue ${tq.name}`, () => tq.list.splice(0));
  for (const item of batch) {
    const k = cur.kernel;
    if (k?.tracing) k.emit('tq.run', { queue: tq.name, what: item.label });
    yield item.routine();
  }
}

/**
 * `add_timer`: runs `routine` in interrupt context on this CPU (or CPU 0 outside any CPU)
 * after `ns`. Returns a handle whose `cancel()` is `del_timer`.
 */
export function add_timer(k: Kernel, ns: number, routine: Routine, label = 'timer'): TimerHandle {
  const cpu = cur.cpu === null ? 0 : cur.cpu.id;
  return k.after(ns, label, () => k.raise_irq(label, routine, cpu));
}

/** Creates the keventd pool with `n` worker threads (once per kernel). */
export function keventd_init(k: Kernel, n = KEVENTD_DEFAULT_WORKERS): void {
  const s = state(k);
  if (s.pool !== null) throw new Error('keventd_init: the worker pool already exists');
  if (!Number.isInteger(n) || n < 1) throw new Error(`keventd_init: need at least one worker, got ${n}`);
  const pool: Pool = { lock: k.spinlock('keventd.lock'), work: [], idle: [], workers: [] };
  s.pool = pool;
  for (let i = 0; i < n; i++) {
    pool.workers.push(k.spawn(`keventd/${i}`, () => worker(k, pool), { daemon: true }));
  }
}

/** Number of keventd workers (0 before the pool exists). */
export function keventd_workers(k: Kernel): readonly Task[] {
  return state(k).pool?.workers ?? [];
}

function* worker(k: Kernel, pool: Pool): KernelCode<void> {
  const me = current();
  for (;;) {
    yield spin_lock_irqsave(pool.lock);
    const item = pool.work.shift();
    if (item === undefined) {
      pool.idle.push(me);
      yield set_current_state(TASK_INTERRUPTIBLE);
      yield spin_unlock_irqrestore(pool.lock);
      yield schedule('keventd: no work');
      continue;
    }
    if (item instanceof TqStruct) item.sync = false;
    yield spin_unlock_irqrestore(pool.lock);
    k.count('keventd.routines');
    if (k.tracing) k.emit('tq.run', { queue: 'keventd', what: item.label });
    yield item.routine();
    k.release();
  }
}

/**
 * `schedule_task(routine)`: runs `routine` later on a keventd worker thread, in process
 * context. Never sleeps; callable from interrupt context.
 */
export function* schedule_task(routine: Routine, label = routine.name || 'routine'): KernelCode<void> {
  const k = kernel();
  if (state(k).pool === null) keventd_init(k);
  const pool = state(k).pool!;
  yield spin_lock_irqsave(pool.lock);
  pool.work.push({ routine, label });
  k.hold();
  if (k.tracing) k.emit('tq.queue', { queue: 'keventd', what: label });
  const w = pool.idle.shift();
  yield spin_unlock_irqrestore(pool.lock);
  if (w !== undefined) yield wake_up_process(w);
}

/**
 * `schedule_task(&tq)` for an embedded `TqStruct`: queues it for a keventd worker unless it is
 * already queued. Returns 1 if queued, 0 if it was already on the list. Never sleeps.
 */
export function* schedule_tq(tq: TqStruct): KernelCode<number> {
  const k = kernel();
  if (state(k).pool === null) keventd_init(k);
  const pool = state(k).pool!;
  yield spin_lock_irqsave(pool.lock);
  if (tq.sync) {
    yield spin_unlock_irqrestore(pool.lock);
    return 0;
  }
  tq.sync = true;
  pool.work.push(tq);
  k.hold();
  if (k.tracing) k.emit('tq.queue', { queue: 'keventd', what: tq.label });
  const w = pool.idle.shift();
  yield spin_unlock_irqrestore(pool.lock);
  if (w !== undefined) yield wake_up_process(w);
  return 1;
}
