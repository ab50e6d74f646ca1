/**
 * The ftrace-like text log: one line per event, fixed-width columns.
 *
 * ```
 * #       TASK-PID  CPU    STEP   TIMESTAMP  EVENT
 *          waker-1 [000]     12    0.000120: mem.store cell=cond value=1 op=WRITE_ONCE buffered
 *            <irq> [000]     15    0.000150: sched.wakeup task=waiter-2 woken
 * ```
 *
 * - {@link textLog}: the whole log (a `#` header, then the lines), one string.
 * - {@link textLines}: the lines alone, one per event.
 * - {@link describeEvent}: `kind field=value ...` for one event (also used by the other
 *   exporters for hover text and lists).
 * - {@link contextLabels}: the context label of every event (`waker-1`, `<idle>`, `<irq>`),
 *   tracking interrupt nesting per CPU from `irq.enter`/`irq.exit`.
 * - {@link formatSeconds}: integer nanoseconds as `s.uuuuuu` or `s.nnnnnnnnn`.
 *
 * Field values print as `key=value`; strings with spaces, `=` or quotes are JSON-quoted;
 * pid-valued fields (`task`, `prev`, `next`, `holder`) print as `name-pid`; a boolean prints
 * as its bare key when true and is left out when false.
 */
import type { TraceEvent, TraceKind } from './events.js';
import { type TraceMeta, taskLabel, taskNames } from './meta.js';

/** Options of {@link textLog}. */
export interface TextOptions {
  /** Print the `#` header lines (default true). */
  header?: boolean;
  /**
   * Digits after the seconds' point: 6 (microseconds) or 9 (nanoseconds). Default: 6 when
   * every timestamp is a whole microsecond, else 9.
   */
  timeDigits?: 6 | 9;
  /** Only these kinds (default: all). */
  kinds?: readonly TraceKind[];
}

/** Defaults of {@link TextOptions}. */
export const DEFAULT_TEXT_OPTIONS: Readonly<{ header: boolean }> = Object.freeze({ header: true });

/** Width of the context label column. */
const LABEL_WIDTH = 16;
/** Width of the step column. */
const STEP_WIDTH = 6;
/** Width of the integer seconds part of a timestamp. */
const SECONDS_WIDTH = 4;

/** Payload fields that hold a pid. */
const PID_FIELDS: ReadonlySet<string> = new Set(['task', 'prev', 'next', 'holder']);
/** Fields every event has (not part of the payload). */
const BASE_FIELDS: ReadonlySet<string> = new Set(['kind', 'step', 't', 'cpu', 'pid']);

/** Payload field order per kind; kinds not listed print their fields in sorted order. */
const FIELD_ORDER: Partial<Record<TraceKind, readonly string[]>> = {
  'task.new': ['task', 'onCpu'],
  'task.exit': ['task'],
  'sched.sleep': ['task', 'state', 'on'],
  'sched.wakeup': ['task', 'woken'],
  'sched.migrate': ['task', 'from', 'to'],
  'cpu.cost': ['ns'],
  'irq.raise': ['irq', 'target'],
  'irq.enter': ['irq'],
  'irq.exit': ['irq'],
  'timer.add': ['timer', 'expires', 'what'],
  'timer.fire': ['timer', 'what'],
  'timer.cancel': ['timer', 'what'],
  'tq.queue': ['queue', 'what'],
  'tq.run': ['queue', 'what'],
  'mem.load': ['cell', 'value', 'from', 'op'],
  'mem.store': ['cell', 'value', 'op', 'buffered'],
  'mem.drain': ['cell', 'value', 'from'],
  'mem.rmw': ['cell', 'old', 'value', 'op'],
  'mem.fence': ['op'],
  'lock.acquire': ['lock', 'lockKind'],
  'lock.release': ['lock', 'lockKind'],
  'lock.spin': ['lock', 'holder'],
  'sem.down': ['sem', 'count', 'slept'],
  'sem.up': ['sem', 'count'],
  'wq.add': ['wq', 'entry', 'exclusive'],
  'wq.remove': ['wq', 'entry'],
  'wq.wake': ['wq', 'entry', 'func', 'result'],
  'io.submit': ['dev', 'rw', 'sector', 'bytes', 'req'],
  'io.start': ['dev', 'rw', 'sector', 'bytes', 'req'],
  'io.complete': ['dev', 'rw', 'sector', 'bytes', 'req', 'res'],
  'page.flag': ['page', 'flag', 'set'],
  'aio.submit': ['ctx', 'idx', 'op'],
  'aio.complete': ['ctx', 'idx', 'res'],
  'aio.cancel': ['ctx', 'idx', 'res'],
  'wtd.queue': ['wtd', 'action'],
  'wtd.run': ['wtd', 'action'],
};

/** A string value as printed: bare when it is one plain word, else JSON-quoted. */
export function quoteValue(s: string): string {
  return /^[^\s="\\]+$/.test(s) ? s : JSON.stringify(s);
}

/** `s` on one line: line breaks (and the blanks around them) become ` / `. */
export function oneLine(s: string): string {
  return s.replace(/\s*\r?\n\s*/g, ' / ');
}

/** `name-pid` for a pid (`<idle>` for -1 when `idle` is set, else the number). */
function pidText(names: ReadonlyMap<number, string>, pid: number, idle: boolean): string {
  if (pid >= 0) return `${names.get(pid) ?? 'pid'}-${pid}`;
  return idle ? '<idle>' : String(pid);
}

/**
 * `kind field=value ...` for one event (the text log's message column). `names` maps pids to
 * task names (see {@link taskNames}); an unknown pid prints as `pid-N`.
 */
export function describeEvent(e: TraceEvent, names: ReadonlyMap<number, string> = new Map()): string {
  switch (e.kind) {
    case 'note':
      return `note: ${oneLine(e.text)}`;
    case 'violation':
      return `violation [${e.violationKind ?? 'violation'}] ${oneLine(e.message)}`;
    case 'sched.switch':
      return `sched.switch prev=${pidText(names, e.prev, true)} prevState=${quoteValue(e.prevState)} ==> next=${pidText(names, e.next, true)}`;
    default:
      break;
  }
  const rec = e as unknown as Record<string, unknown>;
  const order =
    FIELD_ORDER[e.kind] ??
    Object.keys(rec)
      .filter((k) => !BASE_FIELDS.has(k))
      .sort();
  let out: string = e.kind;
  for (const key of order) {
    const v = rec[key];
    if (v === undefined) continue;
    if (typeof v === 'boolean') {
      if (v) out += ` ${key}`;
    } else if (typeof v === 'number') {
      out += ` ${key}=${PID_FIELDS.has(key) ? pidText(names, v, false) : String(v)}`;
    } else if (typeof v === 'string') {
      out += ` ${key}=${quoteValue(v)}`;
    } else {
      out += ` ${key}=${JSON.stringify(v)}`;
    }
  }
  return out;
}

/** Integer nanoseconds as seconds with `digits` (6 or 9) digits after the point. */
export function formatSeconds(ns: number, digits: 6 | 9 = 9): string {
  const neg = ns < 0;
  const abs = Math.abs(Math.trunc(ns));
  const secs = Math.floor(abs / 1e9);
  let frac = abs - secs * 1e9;
  if (digits === 6) frac = Math.floor(frac / 1000);
  return `${neg ? '-' : ''}${secs}.${String(frac).padStart(digits, '0')}`;
}

/**
 * The context label of every event: the task's `name-pid`, or `<irq>` (pid -1 inside an
 * `irq.enter`/`irq.exit` bracket on that CPU, both ends included), `<idle>` (pid -1 on a
 * CPU otherwise) or `<none>` (pid -1 and no CPU).
 */
export function contextLabels(events: readonly TraceEvent[], names: ReadonlyMap<number, string>): string[] {
  const depth = new Map<number, number>();
  const out: string[] = [];
  for (const e of events) {
    let d = depth.get(e.cpu) ?? 0;
    if (e.kind === 'irq.enter') d++;
    out.push(taskLabel(names, e.pid, e.cpu, d > 0));
    if (e.kind === 'irq.exit') d = Math.max(0, d - 1);
    depth.set(e.cpu, d);
  }
  return out;
}

/** The time digits to use: 6 when every timestamp is a whole microsecond, else 9. */
export function autoTimeDigits(events: readonly TraceEvent[]): 6 | 9 {
  return events.every((e) => e.t % 1000 === 0) ? 6 : 9;
}

/** The log's lines, one per event (after the `kinds` filter), without a header. */
export function textLines(
  events: readonly TraceEvent[],
  meta: TraceMeta,
  options: TextOptions = {},
): string[] {
  const { timeDigits = autoTimeDigits(events), kinds } = options;
  const names = taskNames(events, meta);
  const labels = contextLabels(events, names);
  const only = kinds === undefined ? undefined : new Set<string>(kinds);
  const timeWidth = SECONDS_WIDTH + 1 + timeDigits;
  const lines: string[] = [];
  events.forEach((e, i) => {
    if (only !== undefined && !only.has(e.kind)) return;
    const cpu = e.cpu < 0 ? '---' : String(e.cpu).padStart(3, '0');
    const label = labels[i]!.padStart(LABEL_WIDTH);
    const time = formatSeconds(e.t, timeDigits).padStart(timeWidth);
    lines.push(
      `${label} [${cpu}] ${String(e.step).padStart(STEP_WIDTH)} ${time}: ${describeEvent(e, names)}`,
    );
  });
  return lines;
}

/** The header lines of the log (run description and column titles). */
function headerLines(events: readonly TraceEvent[], meta: TraceMeta, timeDigits: 6 | 9): string[] {
  let run = `# scenario: ${meta.scenario}  cpus: ${meta.cpus}  memory model: ${meta.memoryModel}`;
  if (meta.seed !== undefined) run += `  seed: ${meta.seed}`;
  if (meta.choices !== undefined) run += `  choices: ${meta.choices.length}`;
  run += `  events: ${events.length}`;
  const timeWidth = SECONDS_WIDTH + 1 + timeDigits;
  const cols = `#${'TASK-PID'.padStart(LABEL_WIDTH - 1)}  CPU  ${'STEP'.padStart(STEP_WIDTH)} ${'TIMESTAMP'.padStart(timeWidth)}  EVENT`;
  return [run, '#', cols];
}

/**
 * The ftrace-like log of `events`: a `#` header (unless `header: false`) and one line per
 * event, each line ending in a newline. Pure: the same events and meta give the same string.
 */
export function textLog(events: readonly TraceEvent[], meta: TraceMeta, options: TextOptions = {}): string {
  const { header = DEFAULT_TEXT_OPTIONS.header, timeDigits = autoTimeDigits(events) } = options;
  const lines = textLines(events, meta, { ...options, timeDigits });
  const all = header ? [...headerLines(events, meta, timeDigits), ...lines] : lines;
  return all.length === 0 ? '' : `${all.join('\n')}\n`;
}
