/**
 * Test helpers: a small builder of synthetic trace events, a sample two-CPU run (the
 * waitqueue_active lost wake-up, with an interrupt, store buffers and a violation), and a
 * fast-check arbitrary of well-formed random traces.
 */
import fc from 'fast-check';
import type { TraceEvent, TraceKind, TracePayloads } from '../../src/trace/events.js';
import type { TraceMeta } from '../../src/trace/meta.js';

/** Builds events one at a time; `step` and `t` advance only when told to. */
export class TraceBuilder {
  readonly events: TraceEvent[] = [];
  step = 0;
  t = 0;

  /** Advances the step counter by one and the time by `ns`. */
  next(ns = 0): this {
    this.step++;
    this.t += ns;
    return this;
  }

  /** Appends one event at the current step and time. */
  emit<K extends TraceKind>(kind: K, cpu: number, pid: number, payload: TracePayloads[K]): this {
    this.events.push({ step: this.step, t: this.t, cpu, pid, kind, ...payload } as unknown as TraceEvent);
    return this;
  }
}

/** Meta of the sample run. */
export const SAMPLE_META: TraceMeta = {
  scenario: 'waitqueue-active',
  cpus: 2,
  memoryModel: 'tso',
  seed: 7,
  tasks: [
    { pid: 1, name: 'waker' },
    { pid: 2, name: 'waiter' },
  ],
  choices: [0, 1, 1, 0],
};

/**
 * The sample run: waiter (pid 2) on CPU1, waker (pid 1) on CPU0. Both stores sit in store
 * buffers while the other CPU loads; the waiter sleeps; an interrupt on CPU0 wakes it; a
 * violation is reported. Every step advances the time by 1 µs (`usPerStep` changes that).
 */
export function sampleTrace(nsPerStep = 1000): TraceEvent[] {
  const b = new TraceBuilder();
  b.emit('task.new', -1, -1, { task: 1, name: 'waker', onCpu: 0 });
  b.emit('task.new', -1, -1, { task: 2, name: 'waiter', onCpu: 1 });
  b.next(nsPerStep).emit('sched.switch', 0, -1, { prev: -1, next: 1, prevState: 'R' });
  b.emit('sched.switch', 1, -1, { prev: -1, next: 2, prevState: 'R' });
  b.next(nsPerStep).emit('wq.add', 1, 2, { wq: 'wq', entry: 'waiter', exclusive: false });
  b.emit('mem.store', 1, 2, { cell: 'wq.head', value: 1, buffered: true, op: 'WRITE_ONCE' });
  b.next(nsPerStep).emit('note', 0, 1, { text: 'waker: cond = 1' });
  b.emit('mem.store', 0, 1, { cell: 'cond', value: 1, buffered: true, op: 'WRITE_ONCE' });
  b.next(nsPerStep).emit('mem.load', 0, 1, {
    cell: 'wq.head',
    value: 0,
    from: 'memory',
    op: 'waitqueue_active',
  });
  b.next(nsPerStep).emit('mem.load', 1, 2, { cell: 'cond', value: 0, from: 'memory', op: 'READ_ONCE' });
  b.next(nsPerStep).emit('mem.drain', 0, 1, { cell: 'cond', value: 1, from: 0 });
  b.next(nsPerStep).emit('mem.drain', 1, 2, { cell: 'wq.head', value: 1, from: 1 });
  b.next(nsPerStep).emit('sched.sleep', 1, 2, { task: 2, state: 'TASK_UNINTERRUPTIBLE', on: 'wq:wq' });
  b.emit('sched.switch', 1, 2, { prev: 2, next: -1, prevState: 'D' });
  b.next(nsPerStep).emit('irq.enter', 0, -1, { irq: 'timer' });
  b.next(nsPerStep).emit('lock.acquire', 0, -1, { lock: 'wq.lock', lockKind: 'spin' });
  b.emit('wq.wake', 0, -1, { wq: 'wq', entry: 'waiter', func: 'default_wake_function', result: 1 });
  b.emit('sched.wakeup', 0, -1, { task: 2, woken: true });
  b.emit('lock.release', 0, -1, { lock: 'wq.lock', lockKind: 'spin' });
  b.next(nsPerStep).emit('irq.exit', 0, -1, { irq: 'timer' });
  b.next(nsPerStep).emit('sched.switch', 1, -1, { prev: -1, next: 2, prevState: 'R' });
  b.next(nsPerStep).emit('violation', -1, -1, {
    violationKind: 'invariant',
    message: 'waiter slept while cond = 1',
  });
  b.next(nsPerStep).emit('task.exit', 0, 1, { task: 1, name: 'waker' });
  b.emit('sched.switch', 0, 1, { prev: 1, next: -1, prevState: 'X' });
  return b.events;
}

/** One action of the random trace generator. */
type Action =
  | { a: 'switch'; cpu: number; task: number }
  | { a: 'idle'; cpu: number }
  | { a: 'sleep'; cpu: number }
  | { a: 'wake'; cpu: number; task: number }
  | { a: 'irq'; cpu: number }
  | { a: 'store'; cpu: number; cell: number; buffered: boolean }
  | { a: 'drain'; cpu: number }
  | { a: 'load'; cpu: number; cell: number }
  | { a: 'note'; cpu: number }
  | { a: 'violation' }
  | { a: 'time'; ns: number };

const CELLS = ['cond', 'wq.head', 'x'];

/** A random action for a machine of `cpus` CPUs and `tasks` tasks. */
function actionArb(cpus: number, tasks: number): fc.Arbitrary<Action> {
  const cpu = fc.integer({ min: 0, max: cpus - 1 });
  const task = fc.integer({ min: 1, max: tasks });
  const cell = fc.integer({ min: 0, max: CELLS.length - 1 });
  return fc.oneof(
    fc.record({ a: fc.constant('switch' as const), cpu, task }),
    fc.record({ a: fc.constant('idle' as const), cpu }),
    fc.record({ a: fc.constant('sleep' as const), cpu }),
    fc.record({ a: fc.constant('wake' as const), cpu, task }),
    fc.record({ a: fc.constant('irq' as const), cpu }),
    fc.record({ a: fc.constant('store' as const), cpu, cell, buffered: fc.boolean() }),
    fc.record({ a: fc.constant('drain' as const), cpu }),
    fc.record({ a: fc.constant('load' as const), cpu, cell }),
    fc.record({ a: fc.constant('note' as const), cpu }),
    fc.constant({ a: 'violation' as const }),
    fc.record({ a: fc.constant('time' as const), ns: fc.integer({ min: 0, max: 5000 }) }),
  );
}

/**
 * Interprets actions into a well-formed trace: switches only to runnable tasks, sleeps only
 * for the running task, wake-ups only of sleeping (woken) or running (not woken) tasks,
 * interrupts bracketed (their events in interrupt context), drains only of buffered stores.
 * With `timed` false every event has t = 0 (an exploration run).
 */
export function interpret(
  actions: readonly Action[],
  cpus: number,
  tasks: number,
  timed: boolean,
): TraceEvent[] {
  const b = new TraceBuilder();
  const cur: number[] = new Array<number>(cpus).fill(-1);
  const state = new Map<number, 'runnable' | 'running' | 'sleeping'>();
  const sb: { cell: string; value: number }[][] = Array.from({ length: cpus }, () => []);
  for (let p = 1; p <= tasks; p++) {
    b.emit('task.new', -1, -1, { task: p, name: `task${p}`, onCpu: (p - 1) % cpus });
    state.set(p, 'runnable');
  }
  let value = 0;
  for (const act of actions) {
    b.next(0);
    switch (act.a) {
      case 'time':
        if (timed) b.t += act.ns;
        break;
      case 'switch': {
        if (state.get(act.task) !== 'runnable') break;
        const prev = cur[act.cpu]!;
        if (prev >= 0) state.set(prev, 'runnable');
        b.emit('sched.switch', act.cpu, prev, { prev, next: act.task, prevState: 'R' });
        cur[act.cpu] = act.task;
        state.set(act.task, 'running');
        break;
      }
      case 'idle': {
        const prev = cur[act.cpu]!;
        if (prev < 0) break;
        b.emit('sched.switch', act.cpu, prev, { prev, next: -1, prevState: 'R' });
        state.set(prev, 'runnable');
        cur[act.cpu] = -1;
        break;
      }
      case 'sleep': {
        const p = cur[act.cpu]!;
        if (p < 0) break;
        b.emit('sched.sleep', act.cpu, p, { task: p, state: 'TASK_INTERRUPTIBLE', on: 'wq:wq' });
        b.emit('sched.switch', act.cpu, p, { prev: p, next: -1, prevState: 'S' });
        state.set(p, 'sleeping');
        cur[act.cpu] = -1;
        break;
      }
      case 'wake': {
        const st = state.get(act.task);
        if (st === 'runnable') break;
        b.emit('sched.wakeup', act.cpu, cur[act.cpu]!, { task: act.task, woken: st === 'sleeping' });
        if (st === 'sleeping') state.set(act.task, 'runnable');
        break;
      }
      case 'irq':
        b.emit('irq.enter', act.cpu, -1, { irq: 'timer' });
        b.next(0).emit('note', act.cpu, -1, { text: 'in <irq> </script> handler' });
        b.next(0);
        if (timed) b.t += 100;
        b.emit('irq.exit', act.cpu, -1, { irq: 'timer' });
        break;
      case 'store': {
        value++;
        const cell = CELLS[act.cell]!;
        b.emit('mem.store', act.cpu, cur[act.cpu]!, {
          cell,
          value,
          buffered: act.buffered,
          op: 'WRITE_ONCE',
        });
        if (act.buffered) sb[act.cpu]!.push({ cell, value });
        break;
      }
      case 'drain': {
        const s = sb[act.cpu]!.shift();
        if (s !== undefined)
          b.emit('mem.drain', act.cpu, cur[act.cpu]!, { cell: s.cell, value: s.value, from: act.cpu });
        break;
      }
      case 'load':
        b.emit('mem.load', act.cpu, cur[act.cpu]!, {
          cell: CELLS[act.cell]!,
          value: 0,
          from: 'memory',
          op: 'READ_ONCE',
        });
        break;
      case 'note':
        b.emit('note', act.cpu, cur[act.cpu]!, { text: `note "${act.cpu}" & <b>` });
        break;
      case 'violation':
        b.emit('violation', -1, -1, {
          violationKind: 'bug',
          message: 'bad </script><!--',
        });
        break;
    }
  }
  return b.events;
}

/** A random well-formed trace with its meta. */
export const traceArb: fc.Arbitrary<{ events: TraceEvent[]; meta: TraceMeta }> = fc
  .record({
    cpus: fc.integer({ min: 1, max: 3 }),
    tasks: fc.integer({ min: 1, max: 4 }),
    timed: fc.boolean(),
  })
  .chain(({ cpus, tasks, timed }) =>
    fc.array(actionArb(cpus, tasks), { maxLength: 60 }).map((actions) => ({
      events: interpret(actions, cpus, tasks, timed),
      meta: {
        scenario: 'random',
        cpus,
        memoryModel: 'tso',
        tasks: Array.from({ length: tasks }, (_, k) => ({ pid: k + 1, name: `task${k + 1}` })),
      },
    })),
  );
