import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  buildTimeline,
  type ChromeTrace,
  type ChromeTraceEvent,
  CPUS_PID,
  chooseClock,
  chromeTrace,
  chromeTraceJson,
  TASKS_PID,
} from '../../src/trace/chrome.js';
import type { TraceEvent, TraceKind } from '../../src/trace/events.js';
import type { TraceMeta } from '../../src/trace/meta.js';
import { validateChromeTrace } from '../../src/trace/validate.js';
import { SAMPLE_META, sampleTrace, TraceBuilder, traceArb } from './builder.js';

/** The tid named `name` in process `pid`. */
function tidOf(tr: ChromeTrace, pid: number, name: string): number {
  const m = tr.traceEvents.find(
    (e) => e.ph === 'M' && e.name === 'thread_name' && e.pid === pid && e.args?.name === name,
  );
  if (m === undefined) throw new Error(`no thread ${name}`);
  return m.tid;
}

/** `[name, ts, dur]` of the X slices of one thread, in order. */
function slicesOf(tr: ChromeTrace, pid: number, thread: string): [string, number, number][] {
  const tid = tidOf(tr, pid, thread);
  return tr.traceEvents
    .filter((e) => e.ph === 'X' && e.pid === pid && e.tid === tid)
    .map((e) => [e.name, e.ts!, e.dur!] as [string, number, number]);
}

describe('chromeTrace on the sample run', () => {
  const tr = chromeTrace(sampleTrace(), SAMPLE_META);

  it('passes the validator and has the top-level shape', () => {
    expect(validateChromeTrace(tr)).toEqual([]);
    expect(tr.displayTimeUnit).toBe('ns');
    expect(tr.metadata).toEqual({
      generator: 'aiosim',
      scenario: 'waitqueue-active',
      cpus: 2,
      memoryModel: 'tso',
      clock: 'time',
      events: 24,
      seed: 7,
      choices: [0, 1, 1, 0],
    });
  });

  it('names the processes and one thread per CPU, the machine and each task, with unique tids', () => {
    const names = tr.traceEvents
      .filter((e) => e.ph === 'M' && e.name.endsWith('_name'))
      .map((e) => [e.pid, e.args?.name]);
    expect(names).toEqual([
      [CPUS_PID, 'CPUs'],
      [TASKS_PID, 'Tasks'],
      [CPUS_PID, 'CPU 0'],
      [CPUS_PID, 'CPU 1'],
      [CPUS_PID, 'machine'],
      [TASKS_PID, 'waker-1'],
      [TASKS_PID, 'waiter-2'],
    ]);
    const tids = tr.traceEvents.filter((e) => e.name === 'thread_name').map((e) => e.tid);
    expect(new Set(tids).size).toBe(tids.length);
  });

  it('draws which task runs on each CPU, with the interrupt nested inside (µs from ns)', () => {
    expect(slicesOf(tr, CPUS_PID, 'CPU 0')).toEqual([
      ['waker-1', 1, 13],
      ['irq timer', 9, 2],
      ['wake_up waiter-2', 10, 0],
    ]);
    expect(slicesOf(tr, CPUS_PID, 'CPU 1')).toEqual([
      ['waiter-2', 1, 7],
      ['waiter-2', 12, 2],
    ]);
  });

  it("draws each task's states, and a flow from the wake-up to the woken task's next run", () => {
    expect(slicesOf(tr, TASKS_PID, 'waiter-2')).toEqual([
      ['runnable', 0, 1],
      ['running', 1, 7],
      ['sleeping', 8, 2],
      ['runnable', 10, 2],
      ['running', 12, 2],
    ]);
    expect(slicesOf(tr, TASKS_PID, 'waker-1')).toEqual([
      ['runnable', 0, 1],
      ['running', 1, 13],
    ]);
    const sleeping = tr.traceEvents.find((e) => e.name === 'sleeping')!;
    expect(sleeping.args).toMatchObject({ state: 'sleeping', on: 'wq:wq' });
    const out = tr.traceEvents.filter((e) => e.flow_out === true);
    const inn = tr.traceEvents.filter((e) => e.flow_in === true);
    expect(out).toHaveLength(1);
    expect(inn).toHaveLength(1);
    expect(out[0]!.bind_id).toBe(inn[0]!.bind_id);
    expect(out[0]!.name).toBe('wake_up waiter-2');
    expect(inn[0]).toMatchObject({ name: 'running', pid: TASKS_PID, ts: 12 });
  });

  it('has numeric counters: store-buffer depth per CPU and runnable tasks', () => {
    const series = (name: string): [number | undefined, Record<string, unknown> | undefined][] =>
      tr.traceEvents.filter((e) => e.ph === 'C' && e.name === name).map((e) => [e.ts, e.args]);
    expect(series('sb depth cpu0')).toEqual([
      [0, { depth: 0 }],
      [3, { depth: 1 }],
      [6, { depth: 0 }],
    ]);
    expect(series('sb depth cpu1')).toEqual([
      [0, { depth: 0 }],
      [2, { depth: 1 }],
      [7, { depth: 0 }],
    ]);
    expect(series('runnable tasks').map(([, a]) => a?.runnable)).toEqual([0, 1, 2, 1, 0, 1, 0]);
  });

  it('has thread-scoped instants for memory ops, notes and the violation', () => {
    const inst = tr.traceEvents.filter((e) => e.ph === 'i');
    expect(inst.every((e) => e.s === 't')).toBe(true);
    const v = inst.find((e) => e.cat === 'violation')!;
    expect(v.tid).toBe(tidOf(tr, CPUS_PID, 'machine'));
    expect(v.name).toBe('!! invariant: waiter slept while cond = 1');
    const store = inst.find((e) => e.args?.kind === 'mem.store' && e.args.cpu === 0)!;
    expect(store).toMatchObject({ name: 'WRITE_ONCE cond = 1 (buffered)', cat: 'mem', ts: 3 });
    expect(store.args).toMatchObject({ cell: 'cond', value: 1, buffered: true, step: 3 });
    expect(inst.some((e) => e.args?.kind === 'sched.switch')).toBe(false);
  });

  it('keeps events sorted by time after the metadata', () => {
    const body = tr.traceEvents.filter((e) => e.ph !== 'M');
    const ts = body.map((e) => e.ts!);
    expect(ts).toEqual([...ts].sort((a, b) => a - b));
  });

  it('is deterministic, and chromeTraceJson is its serialisation', () => {
    expect(chromeTraceJson(sampleTrace(), SAMPLE_META)).toBe(JSON.stringify(tr));
    expect(JSON.parse(chromeTraceJson(sampleTrace(), SAMPLE_META, {}, 2))).toEqual(tr);
  });
});

describe('clocks', () => {
  it('uses steps when time never advances, and ns/1000 otherwise (as floats)', () => {
    expect(chooseClock(sampleTrace(0))).toBe('step');
    expect(chooseClock(sampleTrace(5))).toBe('time');
    expect(chooseClock([])).toBe('step');
    expect(chooseClock(sampleTrace(5), 'step')).toBe('step');
    const st = chromeTrace(sampleTrace(0), SAMPLE_META);
    expect(st.metadata.clock).toBe('step');
    expect(validateChromeTrace(st)).toEqual([]);
    expect(slicesOf(st, CPUS_PID, 'CPU 1')).toEqual([
      ['waiter-2', 1, 7],
      ['waiter-2', 12, 2],
    ]);
    const fl = chromeTrace(sampleTrace(250), SAMPLE_META);
    expect(slicesOf(fl, CPUS_PID, 'CPU 0')[1]).toEqual(['irq timer', 2.25, 0.5]);
    expect(validateChromeTrace(fl)).toEqual([]);
    const forced = chromeTrace(sampleTrace(0), SAMPLE_META, { clock: 'time' });
    expect(forced.traceEvents.filter((e) => e.ph === 'X').every((e) => e.ts === 0 && e.dur === 0)).toBe(true);
    expect(validateChromeTrace(forced)).toEqual([]);
  });
});

describe('awkward traces stay valid', () => {
  const meta: TraceMeta = { scenario: 's', cpus: 1, memoryModel: 'sc', tasks: [{ pid: 1, name: 'a' }] };

  it('a task running before the trace began gets a slice from the start', () => {
    const b = new TraceBuilder();
    b.emit('note', 0, 1, { text: 'hello' });
    b.next(1000).emit('sched.switch', 0, 1, { prev: 1, next: -1, prevState: 'R' });
    const tr = chromeTrace(b.events, meta);
    expect(validateChromeTrace(tr)).toEqual([]);
    expect(slicesOf(tr, CPUS_PID, 'CPU 0')).toEqual([['a-1', 0, 1]]);
    const b2 = new TraceBuilder();
    b2.next(1000).emit('sched.switch', 0, 1, { prev: 1, next: -1, prevState: 'S' });
    const t2 = chromeTrace(b2.events, meta);
    expect(slicesOf(t2, CPUS_PID, 'CPU 0')).toEqual([['a-1', 1, 0]]);
  });

  it('a switch inside an interrupt splits the interrupt slice so slices still nest', () => {
    const b = new TraceBuilder();
    b.emit('sched.switch', 0, -1, { prev: -1, next: 1, prevState: 'R' });
    b.next(1000).emit('irq.enter', 0, -1, { irq: 'disk' });
    b.next(1000).emit('sched.switch', 0, -1, { prev: 1, next: 2, prevState: 'R' });
    b.next(1000).emit('irq.exit', 0, -1, { irq: 'disk' });
    b.next(1000).emit('irq.exit', 0, -1, { irq: 'never-entered' });
    const tr = chromeTrace(b.events, { ...meta, tasks: [...meta.tasks, { pid: 2, name: 'b' }] });
    expect(validateChromeTrace(tr)).toEqual([]);
    expect(slicesOf(tr, CPUS_PID, 'CPU 0')).toEqual([
      ['a-1', 0, 2],
      ['irq disk', 1, 1],
      ['b-2', 2, 2],
      ['irq disk', 2, 1],
    ]);
  });

  it('open slices close at the end; time running backwards is clamped', () => {
    const b = new TraceBuilder();
    b.t = 5000;
    b.emit('sched.switch', 0, -1, { prev: -1, next: 1, prevState: 'R' });
    b.emit('irq.enter', 0, -1, { irq: 'timer' });
    b.t = 2000;
    b.next().emit('note', 0, -1, { text: 'time went back' });
    b.t = 6000;
    b.next().emit('note', 0, -1, { text: 'forward again' });
    const tr = chromeTrace(b.events, meta);
    expect(validateChromeTrace(tr)).toEqual([]);
    expect(slicesOf(tr, CPUS_PID, 'CPU 0')).toEqual([
      ['a-1', 5, 1],
      ['irq timer', 5, 1],
    ]);
    const notes = tr.traceEvents.filter((e) => e.ph === 'i').map((e) => e.ts);
    expect(notes).toEqual([5, 6]);
  });

  it('a wake-up of a task that never runs again has no flow; options turn parts off', () => {
    const b = new TraceBuilder();
    b.emit('sched.sleep', -1, -1, { task: 1, state: 'S', on: 'timer' });
    b.next(1000).emit('sched.wakeup', -1, -1, { task: 1, woken: true });
    const tr = chromeTrace(b.events, meta);
    expect(validateChromeTrace(tr)).toEqual([]);
    expect(tr.traceEvents.some((e) => e.bind_id !== undefined)).toBe(false);
    expect(slicesOf(tr, CPUS_PID, 'machine')).toEqual([['wake_up a-1', 1, 0]]);
    const bare = chromeTrace(sampleTrace(), SAMPLE_META, { counters: false, flows: false, instants: 'none' });
    expect(validateChromeTrace(bare)).toEqual([]);
    expect(bare.traceEvents.some((e) => e.ph === 'C' || e.ph === 'i' || e.bind_id !== undefined)).toBe(false);
    const all = chromeTrace(sampleTrace(), SAMPLE_META, { instants: 'all' });
    expect(all.traceEvents.filter((e) => e.ph === 'i').length).toBe(
      sampleTrace().filter((e) => !['sched.switch', 'irq.enter', 'irq.exit', 'sched.wakeup'].includes(e.kind))
        .length,
    );
  });

  it('an empty trace is valid', () => {
    const tr = chromeTrace([], meta);
    expect(validateChromeTrace(tr)).toEqual([]);
    expect(buildTimeline([], meta).slices).toEqual([]);
  });
});

/** Any event at all: random kinds, CPUs, pids, times, in any order. */
const KINDS: TraceKind[] = [
  'task.new',
  'task.exit',
  'sched.switch',
  'sched.sleep',
  'sched.wakeup',
  'irq.enter',
  'irq.exit',
  'mem.store',
  'mem.drain',
  'mem.load',
  'note',
  'violation',
];
const soupArb: fc.Arbitrary<TraceEvent[]> = fc.array(
  fc
    .record({
      kind: fc.constantFrom(...KINDS),
      step: fc.nat(20),
      t: fc.nat(10_000),
      cpu: fc.integer({ min: -1, max: 2 }),
      pid: fc.integer({ min: -1, max: 3 }),
      a: fc.integer({ min: -1, max: 3 }),
      b: fc.integer({ min: -1, max: 3 }),
      flag: fc.boolean(),
      s: fc.constantFrom('R', 'S', 'D', 'X', 'timer', 'cond'),
    })
    .map(
      ({ kind, step, t, cpu, pid, a, b, flag, s }) =>
        ({
          kind,
          step,
          t,
          cpu,
          pid,
          task: a,
          name: `t${a}`,
          onCpu: b,
          prev: a,
          next: b,
          prevState: s,
          state: s,
          on: s,
          woken: flag,
          irq: s,
          cell: s,
          value: b,
          buffered: flag,
          op: 'op',
          from: a,
          text: s,
          message: s,
        }) as unknown as TraceEvent,
    ),
  { maxLength: 40 },
);

describe('properties', () => {
  test.prop([traceArb])('every well-formed trace exports to a valid Chrome trace', ({ events, meta }) => {
    const tr = chromeTrace(events, meta);
    expect(validateChromeTrace(tr)).toEqual([]);
    expect(validateChromeTrace(JSON.parse(JSON.stringify(tr)))).toEqual([]);
  });

  test.prop([traceArb])('flows pair each woken task with its next running slice', ({ events, meta }) => {
    const tr = chromeTrace(events, meta);
    const outs = tr.traceEvents.filter((e) => e.flow_out === true);
    const ins = new Map<string, ChromeTraceEvent>(
      tr.traceEvents.filter((e) => e.flow_in === true).map((e) => [e.bind_id!, e]),
    );
    expect(ins.size).toBe(outs.length);
    for (const o of outs) {
      const i = ins.get(o.bind_id!)!;
      expect(i.name).toBe('running');
      expect(i.ts!).toBeGreaterThanOrEqual(o.ts!);
    }
  });

  test.prop([soupArb, fc.integer({ min: 0, max: 3 })])(
    'even ill-formed event sequences export to a valid Chrome trace',
    (events, cpus) => {
      const meta: TraceMeta = {
        scenario: 'soup',
        cpus,
        memoryModel: 'pso',
        tasks: [{ pid: 1, name: 'one' }],
      };
      for (const clock of ['auto', 'time', 'step'] as const) {
        expect(validateChromeTrace(chromeTrace(events, meta, { clock, instants: 'all' }))).toEqual([]);
      }
    },
  );

  test.prop([traceArb])('the export is deterministic', ({ events, meta }) => {
    expect(chromeTraceJson(events, meta)).toBe(
      chromeTraceJson(structuredClone(events), structuredClone(meta)),
    );
  });
});
