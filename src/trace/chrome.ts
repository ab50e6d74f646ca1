/**
 * Chrome/Perfetto trace-event JSON, and the timeline model it (and the HTML view) is built on.
 *
 * - {@link buildTimeline}: slices, instants and counters computed from the events: which task
 *   runs on each CPU when (from `sched.switch`), interrupt slices nested inside, each task's
 *   running / runnable / sleeping periods, zero-length `wake_up` slices that start a flow to
 *   the woken task's next running slice, the runnable-task count and each CPU's store-buffer
 *   depth.
 * - {@link chromeTrace}: the trace object `{ traceEvents, displayTimeUnit: 'ns', metadata }`.
 *   Process 1 "CPUs" has one thread per CPU (task slices, irq slices nested inside, instant
 *   events, counters) and a "machine" thread for events outside any CPU; process 2 "Tasks"
 *   has one thread per task. Tids are unique across both processes.
 * - {@link chromeTraceJson}: the same, serialised.
 * - {@link chooseClock}: `'time'` (simulated ns) or `'step'` (the step counter, for untimed
 *   exploration runs where the time never advances).
 *
 * Times are microseconds in the JSON (`ts`, `dur`): integer ns / 1000 with the `time` clock,
 * the step number itself with the `step` clock (one step draws as one microsecond).
 */
import { cellText, cpuCount, storeBufferStates } from './columns.js';
import type { TraceEvent, TraceKind } from './events.js';
import { type TraceMeta, taskNames } from './meta.js';

/** Which clock positions events on the timeline. */
export type Clock = 'time' | 'step';

/** What a slice shows. */
export type SliceState = 'running' | 'irq' | 'runnable' | 'sleeping' | 'wakeup';

/** Plain values allowed in slice and instant arguments. */
export type ArgValue = string | number | boolean;

/** One slice of the timeline. `start`/`end` are in clock units (ns or steps). */
export interface TimelineSlice {
  /** A CPU's row (`id` = CPU, -1 for the machine row) or a task's row (`id` = pid). */
  readonly track: 'cpu' | 'task';
  readonly id: number;
  readonly name: string;
  readonly state: SliceState;
  readonly start: number;
  readonly end: number;
  /** Indices of the events that opened and closed it. */
  readonly first: number;
  readonly last: number;
  readonly args: Readonly<Record<string, ArgValue>>;
  /** Flow started here (wake-up slices whose task ran again). */
  flowOut?: number;
  /** Flow ending here (the running slice a wake-up led to). */
  flowIn?: number;
}

/** One instant event of the timeline, on a CPU's row (or the machine row, `cpu` -1). */
export interface TimelineInstant {
  readonly cpu: number;
  readonly at: number;
  readonly index: number;
  readonly name: string;
  readonly kind: TraceKind;
  readonly args: Readonly<Record<string, ArgValue>>;
}

/** One counter sample: `values` from `at` on. `cpu` -1 for machine-wide counters. */
export interface TimelineCounter {
  readonly name: string;
  readonly cpu: number;
  readonly at: number;
  readonly values: Readonly<Record<string, number>>;
}

/** The timeline model of a trace. */
export interface Timeline {
  readonly clock: Clock;
  readonly cpus: number;
  /** Every task, in pid order. */
  readonly tasks: readonly { readonly pid: number; readonly name: string }[];
  readonly slices: readonly TimelineSlice[];
  readonly instants: readonly TimelineInstant[];
  readonly counters: readonly TimelineCounter[];
  /** Clock of the first and last event (0 and 0 for an empty trace). */
  readonly start: number;
  readonly end: number;
  /** Number of flows (ids 1..flows). */
  readonly flows: number;
}

/** Options of {@link buildTimeline} and {@link chromeTrace}. */
export interface ChromeOptions {
  /** The clock (default 'auto': 'step' when every event has t == 0, else 'time'). */
  clock?: Clock | 'auto';
  /** Kinds shown as instant events (default {@link DEFAULT_INSTANT_KINDS}), 'all' or 'none'. */
  instants?: readonly TraceKind[] | 'all' | 'none';
  /** Emit counters (runnable tasks, store-buffer depth per CPU; default true). */
  counters?: boolean;
  /** Emit wake-up flows (default true). */
  flows?: boolean;
}

/** Kinds drawn as slices (or not at all), never as instants under `instants: 'all'`. */
const SLICE_KINDS: ReadonlySet<string> = new Set([
  'sched.switch',
  'irq.enter',
  'irq.exit',
  'sched.wakeup',
  'cpu.cost',
]);

/** Kinds shown as instant events by default. */
export const DEFAULT_INSTANT_KINDS: readonly TraceKind[] = Object.freeze([
  'note',
  'violation',
  'mem.load',
  'mem.store',
  'mem.drain',
  'mem.rmw',
  'mem.fence',
  'lock.acquire',
  'lock.release',
  'lock.spin',
  'sem.down',
  'sem.up',
  'wq.add',
  'wq.remove',
  'wq.wake',
  'sched.sleep',
  'task.new',
  'task.exit',
  'irq.raise',
  'timer.fire',
  'io.submit',
  'io.complete',
  'aio.submit',
  'aio.complete',
  'aio.cancel',
] as const);

/** `'step'` when `clock` is 'step', or 'auto' and no event has a non-zero time; else `'time'`. */
export function chooseClock(events: readonly TraceEvent[], clock: Clock | 'auto' = 'auto'): Clock {
  if (clock !== 'auto') return clock;
  return events.some((e) => e.t !== 0) ? 'time' : 'step';
}

/** True for a `prevState` meaning "still runnable" (preempted rather than sleeping). */
function isRunnableState(s: string): boolean {
  return /^(r|r\+|running|task_running|runnable)$/i.test(s);
}

/** True for a `prevState` meaning the task is gone. */
function isDeadState(s: string): boolean {
  return /^(x|z|dead|exit|exited|zombie|task_zombie|task_dead)$/i.test(s);
}

/** The payload of an event as arguments (base fields and kind included, plain values only). */
function eventArgs(e: TraceEvent): Record<string, ArgValue> {
  const out: Record<string, ArgValue> = {};
  for (const [k, v] of Object.entries(e)) {
    if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean') out[k] = v;
  }
  return out;
}

interface OpenTaskSlice {
  pid: number;
  start: number;
  first: number;
  flowIn?: number;
}

interface OpenIrq {
  irq: string;
  start: number;
  first: number;
}

interface TaskTrack {
  state: 'running' | 'runnable' | 'sleeping' | 'exited';
  name: string;
  args: Record<string, ArgValue>;
  start: number;
  first: number;
  flowIn?: number;
}

/** The timeline model of `events` (see {@link Timeline}). Pure and deterministic. */
export function buildTimeline(
  events: readonly TraceEvent[],
  meta: TraceMeta,
  options: ChromeOptions = {},
): Timeline {
  const {
    instants: instantOpt = DEFAULT_INSTANT_KINDS,
    counters: withCounters = true,
    flows = true,
  } = options;
  const clock = chooseClock(events, options.clock);
  const at = (e: TraceEvent): number => (clock === 'time' ? e.t : e.step);
  const names = taskNames(events, meta);
  const n = cpuCount(events, meta.cpus);
  const instantKinds =
    instantOpt === 'all'
      ? undefined
      : instantOpt === 'none'
        ? new Set<string>()
        : new Set<string>(instantOpt);

  // Every pid mentioned anywhere gets a row.
  const pids = new Set<number>(names.keys());
  for (const e of events) {
    if (e.pid >= 0) pids.add(e.pid);
    if (e.kind === 'sched.switch') {
      if (e.prev >= 0) pids.add(e.prev);
      if (e.next >= 0) pids.add(e.next);
    } else if ('task' in e && typeof e.task === 'number' && e.task >= 0) pids.add(e.task);
  }
  const tasks = [...pids].sort((a, b) => a - b).map((pid) => ({ pid, name: names.get(pid) ?? `pid-${pid}` }));
  const nameOf = (pid: number): string => names.get(pid) ?? `pid-${pid}`;

  let start = 0;
  let end = 0;
  if (events.length > 0) {
    start = Number.POSITIVE_INFINITY;
    end = Number.NEGATIVE_INFINITY;
    for (const e of events) {
      start = Math.min(start, at(e));
      end = Math.max(end, at(e));
    }
  }

  const slices: TimelineSlice[] = [];
  const instants: TimelineInstant[] = [];
  const counters: TimelineCounter[] = [];
  const cpus = Array.from({ length: n }, () => ({
    cur: undefined as OpenTaskSlice | undefined,
    irqs: [] as OpenIrq[],
    hadTask: false,
  }));
  const trackOf = new Map<number, TaskTrack>();
  const pendingSleep = new Map<number, Record<string, ArgValue>>();
  const pendingFlow = new Map<number, { slice: TimelineSlice }>();
  let flowCount = 0;

  let runnable = 0;
  let lastRunnable = -1;
  const noteRunnable = (c: number): void => {
    if (withCounters && runnable !== lastRunnable) {
      counters.push({ name: 'runnable tasks', cpu: -1, at: c, values: { runnable } });
      lastRunnable = runnable;
    }
  };

  const closeTask = (pid: number, c: number, last: number): void => {
    const tr = trackOf.get(pid);
    if (tr === undefined || tr.state === 'exited') return;
    if (tr.state === 'running' || c > tr.start) {
      const s: TimelineSlice = {
        track: 'task',
        id: pid,
        name: tr.name,
        state: tr.state,
        start: tr.start,
        end: c,
        first: tr.first,
        last,
        args: tr.args,
      };
      if (tr.flowIn !== undefined) s.flowIn = tr.flowIn;
      slices.push(s);
    }
    if (tr.state === 'runnable') runnable--;
  };
  const setTask = (
    pid: number,
    state: TaskTrack['state'],
    name: string,
    args: Record<string, ArgValue>,
    c: number,
    i: number,
  ): void => {
    closeTask(pid, c, i);
    const tr: TaskTrack = { state, name, args, start: c, first: i };
    if (state === 'running' && flows) {
      const pf = pendingFlow.get(pid);
      if (pf !== undefined) {
        flowCount++;
        pf.slice.flowOut = flowCount;
        tr.flowIn = flowCount;
        pendingFlow.delete(pid);
      }
    }
    trackOf.set(pid, tr);
    if (state === 'runnable') runnable++;
    noteRunnable(c);
  };
  const runTask = (pid: number, cpu: number, c: number, i: number): void => {
    setTask(pid, 'running', 'running', { cpu }, c, i);
  };

  const cpuSlice = (cpu: number, o: OpenTaskSlice, c: number, last: number): void => {
    const s: TimelineSlice = {
      track: 'cpu',
      id: cpu,
      name: `${nameOf(o.pid)}-${o.pid}`,
      state: 'running',
      start: o.start,
      end: c,
      first: o.first,
      last,
      args: { pid: o.pid, task: nameOf(o.pid) },
    };
    slices.push(s);
  };
  const irqSlice = (cpu: number, q: OpenIrq, c: number, last: number): void => {
    slices.push({
      track: 'cpu',
      id: cpu,
      name: `irq ${q.irq}`,
      state: 'irq',
      start: q.start,
      end: c,
      first: q.first,
      last,
      args: { irq: q.irq },
    });
  };

  // Store-buffer depth counters.
  const sbs =
    withCounters && events.some((e) => e.kind === 'mem.store' && e.buffered)
      ? storeBufferStates(events, n)
      : [];
  if (sbs.length > 0) {
    for (let c = 0; c < n; c++)
      counters.push({ name: `sb depth cpu${c}`, cpu: c, at: start, values: { depth: 0 } });
  }
  if (withCounters && events.length > 0) noteRunnable(start);

  const taskEvent = (
    e: Extract<TraceEvent, { kind: 'task.new' | 'task.exit' | 'sched.sleep' | 'sched.wakeup' }>,
    c: number,
    i: number,
    cs: { cur: OpenTaskSlice | undefined } | undefined,
  ): void => {
    switch (e.kind) {
      case 'task.new':
        if (!trackOf.has(e.task) || trackOf.get(e.task)!.state === 'exited')
          setTask(e.task, 'runnable', 'runnable', { onCpu: e.onCpu }, c, i);
        break;
      case 'task.exit':
        closeTask(e.task, c, i);
        trackOf.set(e.task, { state: 'exited', name: 'exited', args: {}, start: c, first: i });
        pendingSleep.delete(e.task);
        pendingFlow.delete(e.task);
        noteRunnable(c);
        break;
      case 'sched.sleep': {
        const args = { state: e.state, on: e.on };
        if (trackOf.get(e.task)?.state === 'running') pendingSleep.set(e.task, args);
        else setTask(e.task, 'sleeping', 'sleeping', args, c, i);
        break;
      }
      case 'sched.wakeup': {
        pendingSleep.delete(e.task);
        if (!e.woken) break;
        const st = trackOf.get(e.task)?.state;
        if (st !== 'running') setTask(e.task, 'runnable', 'runnable', {}, c, i);
        const s: TimelineSlice = {
          track: 'cpu',
          id: cs === undefined ? -1 : e.cpu,
          name: `wake_up ${nameOf(e.task)}-${e.task}`,
          state: 'wakeup',
          start: c,
          end: c,
          first: i,
          last: i,
          args: { task: e.task, name: nameOf(e.task) },
        };
        slices.push(s);
        if (st !== 'running') pendingFlow.set(e.task, { slice: s });
        break;
      }
      default:
        break;
    }
  };

  let clockNow = start;
  events.forEach((e, i) => {
    // The clock never runs backwards on the timeline, even if a trace's does.
    const c = Math.max(clockNow, at(e));
    clockNow = c;
    const cs = e.cpu >= 0 ? cpus[e.cpu] : undefined;
    // A task seen on a CPU that we did not see being switched in: it was running already.
    if (
      cs !== undefined &&
      e.pid >= 0 &&
      cs.cur === undefined &&
      cs.irqs.length === 0 &&
      e.kind !== 'sched.switch'
    ) {
      const st = trackOf.get(e.pid)?.state;
      if (st !== 'exited' && st !== 'sleeping') {
        cs.cur = { pid: e.pid, start: c, first: i };
        cs.hadTask = true;
        if (st !== 'running') runTask(e.pid, e.cpu, c, i);
      }
    }
    switch (e.kind) {
      case 'task.new':
      case 'task.exit':
      case 'sched.sleep':
      case 'sched.wakeup':
        if (e.task < 0) break; // not a task: nothing to draw
        taskEvent(e, c, i, cs);
        break;
      case 'sched.switch': {
        if (cs === undefined) break;
        const reopen = cs.irqs.splice(0);
        for (let k = reopen.length - 1; k >= 0; k--) irqSlice(e.cpu, reopen[k]!, c, i);
        if (cs.cur !== undefined) cpuSlice(e.cpu, cs.cur, c, i);
        else if (e.prev >= 0 && !cs.hadTask && !trackOf.has(e.prev)) {
          // The task was running when the trace began.
          cpuSlice(e.cpu, { pid: e.prev, start, first: 0 }, c, i);
          runTask(e.prev, e.cpu, start, 0);
        }
        cs.cur = undefined;
        if (e.prev >= 0 && trackOf.get(e.prev)?.state === 'running') {
          const sleep = pendingSleep.get(e.prev);
          pendingSleep.delete(e.prev);
          if (isDeadState(e.prevState)) {
            closeTask(e.prev, c, i);
            trackOf.set(e.prev, { state: 'exited', name: 'exited', args: {}, start: c, first: i });
          } else if (sleep !== undefined || !isRunnableState(e.prevState)) {
            setTask(e.prev, 'sleeping', 'sleeping', sleep ?? { state: e.prevState }, c, i);
          } else {
            setTask(e.prev, 'runnable', 'runnable', {}, c, i);
          }
        }
        if (e.next >= 0) {
          cs.cur = { pid: e.next, start: c, first: i };
          cs.hadTask = true;
          runTask(e.next, e.cpu, c, i);
        }
        for (const q of reopen) cs.irqs.push({ irq: q.irq, start: c, first: i });
        break;
      }
      case 'irq.enter':
        if (cs !== undefined) cs.irqs.push({ irq: e.irq, start: c, first: i });
        break;
      case 'irq.exit': {
        if (cs === undefined) break;
        let k = cs.irqs.length - 1;
        while (k >= 0 && cs.irqs[k]!.irq !== e.irq) k--;
        if (k < 0) break;
        const closing = cs.irqs.splice(k);
        for (let j = closing.length - 1; j >= 0; j--) irqSlice(e.cpu, closing[j]!, c, i);
        break;
      }
      default:
        break;
    }
    if (!SLICE_KINDS.has(e.kind) && (instantKinds === undefined || instantKinds.has(e.kind))) {
      instants.push({
        cpu: cs === undefined ? -1 : e.cpu,
        at: c,
        index: i,
        name: cellText(e, names),
        kind: e.kind,
        args: eventArgs(e),
      });
    }
    if (sbs.length > 0 && i > 0) {
      const before = sbs[i - 1]!;
      const after = sbs[i]!;
      for (let k = 0; k < n; k++) {
        if (after[k] !== before[k]) {
          counters.push({ name: `sb depth cpu${k}`, cpu: k, at: c, values: { depth: after[k]!.length } });
        }
      }
    } else if (sbs.length > 0) {
      for (let k = 0; k < n; k++) {
        const d = sbs[0]![k]!.length;
        if (d > 0) counters.push({ name: `sb depth cpu${k}`, cpu: k, at: c, values: { depth: d } });
      }
    }
  });

  // Close what is still open at the end of the trace.
  const last = events.length - 1;
  cpus.forEach((cs, cpu) => {
    for (let k = cs.irqs.length - 1; k >= 0; k--) irqSlice(cpu, cs.irqs[k]!, end, last);
    cs.irqs.length = 0;
    if (cs.cur !== undefined) cpuSlice(cpu, cs.cur, end, last);
    cs.cur = undefined;
  });
  for (const pid of [...trackOf.keys()].sort((a, b) => a - b)) closeTask(pid, end, last);

  return { clock, cpus: n, tasks, slices, instants, counters, start, end, flows: flowCount };
}

/** One Chrome trace event as this exporter writes it. */
export interface ChromeTraceEvent {
  name: string;
  ph: 'X' | 'i' | 'C' | 'M';
  pid: number;
  tid: number;
  ts?: number;
  dur?: number;
  cat?: string;
  s?: 't' | 'p' | 'g';
  args?: Record<string, ArgValue>;
  bind_id?: string;
  flow_in?: boolean;
  flow_out?: boolean;
}

/** The Chrome/Perfetto trace object. */
export interface ChromeTrace {
  traceEvents: ChromeTraceEvent[];
  displayTimeUnit: 'ns';
  metadata: Record<string, string | number | number[]>;
}

/** Pid of the "CPUs" process. */
export const CPUS_PID = 1;
/** Pid of the "Tasks" process. */
export const TASKS_PID = 2;

/** A flow id as written in `bind_id`. */
function flowId(n: number): string {
  return `0x${n.toString(16)}`;
}

/**
 * The Chrome/Perfetto trace of `events` (see the module doc for the layout). Every trace it
 * returns passes `validateChromeTrace`. Pure: the same input gives an equal object.
 */
export function chromeTrace(
  events: readonly TraceEvent[],
  meta: TraceMeta,
  options: ChromeOptions = {},
): ChromeTrace {
  const tl = buildTimeline(events, meta, options);
  const us = (v: number): number => (tl.clock === 'time' ? v / 1000 : v);
  const cpuTid = (cpu: number): number => (cpu < 0 ? tl.cpus + 1 : cpu + 1);
  const taskTid = new Map<number, number>(tl.tasks.map((t, k) => [t.pid, tl.cpus + 2 + k]));

  const head: ChromeTraceEvent[] = [
    { name: 'process_name', ph: 'M', pid: CPUS_PID, tid: 0, args: { name: 'CPUs' } },
    { name: 'process_sort_index', ph: 'M', pid: CPUS_PID, tid: 0, args: { sort_index: 0 } },
    { name: 'process_name', ph: 'M', pid: TASKS_PID, tid: 0, args: { name: 'Tasks' } },
    { name: 'process_sort_index', ph: 'M', pid: TASKS_PID, tid: 0, args: { sort_index: 1 } },
  ];
  for (let c = 0; c <= tl.cpus; c++) {
    const cpu = c === tl.cpus ? -1 : c;
    head.push({
      name: 'thread_name',
      ph: 'M',
      pid: CPUS_PID,
      tid: cpuTid(cpu),
      args: { name: cpu < 0 ? 'machine' : `CPU ${c}` },
    });
    head.push({
      name: 'thread_sort_index',
      ph: 'M',
      pid: CPUS_PID,
      tid: cpuTid(cpu),
      args: { sort_index: c },
    });
  }
  tl.tasks.forEach((t, k) => {
    const tid = taskTid.get(t.pid)!;
    head.push({ name: 'thread_name', ph: 'M', pid: TASKS_PID, tid, args: { name: `${t.name}-${t.pid}` } });
    head.push({ name: 'thread_sort_index', ph: 'M', pid: TASKS_PID, tid, args: { sort_index: k } });
  });

  const body: { ev: ChromeTraceEvent; rank: number }[] = [];
  for (const s of tl.slices) {
    const ev: ChromeTraceEvent = {
      name: s.name,
      cat: s.state === 'irq' ? 'irq' : 'sched',
      ph: 'X',
      pid: s.track === 'cpu' ? CPUS_PID : TASKS_PID,
      tid: s.track === 'cpu' ? cpuTid(s.id) : taskTid.get(s.id)!,
      ts: us(s.start),
      dur: us(s.end) - us(s.start),
      args: {
        ...s.args,
        state: s.state,
        startStep: events[s.first]?.step ?? 0,
        endStep: events[s.last]?.step ?? 0,
      },
    };
    if (s.flowOut !== undefined) {
      ev.bind_id = flowId(s.flowOut);
      ev.flow_out = true;
    } else if (s.flowIn !== undefined) {
      ev.bind_id = flowId(s.flowIn);
      ev.flow_in = true;
    }
    // Equal intervals nest in file order: a task's slice before an irq before a wake-up.
    body.push({ ev, rank: 1 + (s.state === 'irq' ? 0.1 : s.state === 'wakeup' ? 0.2 : 0) });
  }
  for (const x of tl.instants) {
    body.push({
      ev: {
        name: x.name,
        cat: x.kind.split('.')[0]!,
        ph: 'i',
        s: 't',
        pid: CPUS_PID,
        tid: cpuTid(x.cpu),
        ts: us(x.at),
        args: x.args,
      },
      rank: 2,
    });
  }
  for (const k of tl.counters) {
    body.push({
      ev: { name: k.name, ph: 'C', pid: CPUS_PID, tid: cpuTid(k.cpu), ts: us(k.at), args: { ...k.values } },
      rank: 0,
    });
  }
  body.sort((a, b) => a.ev.ts! - b.ev.ts! || a.rank - b.rank || (b.ev.dur ?? 0) - (a.ev.dur ?? 0));

  const metadata: ChromeTrace['metadata'] = {
    generator: 'aiosim',
    scenario: meta.scenario,
    cpus: meta.cpus,
    memoryModel: meta.memoryModel,
    clock: tl.clock,
    events: events.length,
  };
  if (meta.seed !== undefined) metadata.seed = meta.seed;
  if (meta.choices !== undefined) metadata.choices = [...meta.choices];
  return { traceEvents: [...head, ...body.map((b) => b.ev)], displayTimeUnit: 'ns', metadata };
}

/** {@link chromeTrace} serialised as JSON (`space` as for `JSON.stringify`). */
export function chromeTraceJson(
  events: readonly TraceEvent[],
  meta: TraceMeta,
  options: ChromeOptions = {},
  space?: number,
): string {
  return JSON.stringify(chromeTrace(events, meta, options), null, space);
}
