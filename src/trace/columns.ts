/**
 * The side-by-side view: one column per CPU, one row per event, as in the kernel's
 * `CPU0 - waker | CPU1 - waiter` diagrams and the OSTEP `x86.py` simulator.
 *
 * ```
 * step | CPU0 (waker)                   | CPU1 (waiter)
 * -----+--------------------------------+-------------------------------
 *    2 |                                | WRITE_ONCE wq.head = 1
 *      |                                | (buffered)
 *      |                                | [sb: wq.head=1]
 *    3 | WRITE_ONCE cond = 1 (buffered) |
 *      | [sb: cond=1]                   |
 *    4 | waitqueue_active wq.head -> 0  |   <== cond=1 still in CPU0's store buffer
 *      | [sb: cond=1]                   |
 *    5 |                                | READ_ONCE cond -> 0   <== wq.head=1 still in CPU1's store buffer
 *      |                                | [sb: wq.head=1]
 * ```
 *
 * - {@link columnView}: the view as a string (options: shown kinds, column width, a row
 *   marker, store-buffer annotations, where global events go).
 * - {@link storeBufferStates}: every CPU's store-buffer contents after each event, computed
 *   from `mem.store` (buffered) and `mem.drain`.
 * - {@link formatStoreBuffer}: `[sb: cond=1, x=2]`.
 * - {@link cellText}: the short, teaching-friendly text of one event.
 * - {@link markStoreLoadReordering}: a ready marker for rows where a CPU loads while one of its
 *   own stores to another cell is still sitting in its store buffer.
 * - {@link DEFAULT_COLUMN_KINDS}: the kinds shown by default.
 */
import type { TraceEvent, TraceKind } from './events.js';
import { type TraceMeta, taskNames } from './meta.js';
import { contextLabels, describeEvent, oneLine } from './text.js';

/** One store waiting in a CPU's store buffer, as the trace shows it. */
export interface SbView {
  readonly cell: string;
  readonly value: number;
}

/**
 * Every CPU's store buffer at one point of the trace, indexed by CPU, oldest entry first.
 * Snapshots share unchanged per-CPU arrays, so `a[c] !== b[c]` means CPU c's buffer changed.
 */
export type StoreBufferSnapshot = readonly (readonly SbView[])[];

/** Number of CPUs a trace needs: `meta.cpus`, or more if events name a higher CPU. */
export function cpuCount(events: readonly TraceEvent[], cpus = 0): number {
  let n = Math.max(0, cpus);
  for (const e of events) if (e.cpu >= n) n = e.cpu + 1;
  return n;
}

/**
 * The store buffers after each event: `result[i][c]` is CPU c's buffer after `events[i]`.
 * A `mem.store` with `buffered: true` appends to its CPU's buffer; a `mem.drain` removes that
 * CPU's oldest entry for the cell (preferring one with the same value). A drain with no
 * matching entry (the trace started mid-run) changes nothing. `cpus` is a lower bound on the
 * number of CPUs (events on higher CPUs widen the snapshots).
 */
export function storeBufferStates(events: readonly TraceEvent[], cpus = 0): StoreBufferSnapshot[] {
  const n = cpuCount(events, cpus);
  let cur: (readonly SbView[])[] = Array.from({ length: n }, () => []);
  const out: StoreBufferSnapshot[] = [];
  for (const e of events) {
    if (e.kind === 'mem.store' && e.buffered && e.cpu >= 0) {
      cur = cur.slice();
      cur[e.cpu] = [...cur[e.cpu]!, { cell: e.cell, value: e.value }];
    } else if (e.kind === 'mem.drain') {
      const c = e.cpu >= 0 ? e.cpu : e.from;
      const buf = cur[c];
      if (buf !== undefined) {
        let at = buf.findIndex((s) => s.cell === e.cell && s.value === e.value);
        if (at < 0) at = buf.findIndex((s) => s.cell === e.cell);
        if (at >= 0) {
          cur = cur.slice();
          cur[c] = buf.filter((_, i) => i !== at);
        }
      }
    }
    out.push(cur);
  }
  return out;
}

/** True when two buffers are the same snapshot (or both empty). */
function sameBuffer(a: readonly SbView[], b: readonly SbView[]): boolean {
  return a === b || (a.length === 0 && b.length === 0);
}

/**
 * `[sb: cond=1, x=2]` (oldest first), or `[sb: empty]`. With more than `max` entries only the
 * newest `max` are listed, after a count of the others: `[sb: 3 older, x=2, y=5]`.
 */
export function formatStoreBuffer(entries: readonly SbView[], max = Number.POSITIVE_INFINITY): string {
  if (entries.length === 0) return '[sb: empty]';
  const hidden = Math.max(0, entries.length - Math.max(1, max));
  const shown = entries.slice(hidden).map((s) => `${s.cell}=${s.value}`);
  return `[sb: ${hidden > 0 ? `${hidden} older, ` : ''}${shown.join(', ')}]`;
}

/** Most store-buffer entries {@link columnView} lists under an event. */
const SB_SHOWN = 8;

/** Name of a pid for the columns (`<idle>` for -1). */
function nameOf(names: ReadonlyMap<number, string>, pid: number): string {
  if (pid < 0) return '<idle>';
  return names.get(pid) ?? `pid-${pid}`;
}

/** The short text of one event, as a column cell shows it. */
export function cellText(e: TraceEvent, names: ReadonlyMap<number, string> = new Map()): string {
  switch (e.kind) {
    case 'note':
      return oneLine(e.text);
    case 'violation':
      return `!! ${e.violationKind ?? 'violation'}: ${oneLine(e.message)}`;
    case 'mem.store':
      return `${e.op || 'store'} ${e.cell} = ${e.value}${e.buffered ? ' (buffered)' : ''}`;
    case 'mem.load': {
      const from = e.from === 'buffer' ? ' (own sb)' : e.from === 'stale' ? ' (stale)' : '';
      return `${e.op || 'load'} ${e.cell} -> ${e.value}${from}`;
    }
    case 'mem.drain':
      return `sb drain: ${e.cell} = ${e.value} visible`;
    case 'mem.rmw':
      return `${e.op || 'rmw'} ${e.cell}: ${e.old} -> ${e.value}`;
    case 'mem.fence':
      return e.op || 'fence';
    case 'lock.acquire':
      return `acquire ${e.lock}`;
    case 'lock.release':
      return `release ${e.lock}`;
    case 'lock.spin':
      return `spin on ${e.lock} (held by ${nameOf(names, e.holder)})`;
    case 'sem.down':
      return `down ${e.sem} (count ${e.count})${e.slept ? ', slept' : ''}`;
    case 'sem.up':
      return `up ${e.sem} (count ${e.count})`;
    case 'wq.add':
      return `add ${e.entry} to ${e.wq}${e.exclusive ? ' (exclusive)' : ''}`;
    case 'wq.remove':
      return `remove ${e.entry} from ${e.wq}`;
    case 'wq.wake':
      return `wake ${e.entry} on ${e.wq}: ${e.func} -> ${e.result}`;
    case 'sched.sleep':
      return `${nameOf(names, e.task)} sleeps (${e.state}) on ${e.on}`;
    case 'sched.wakeup':
      return `wake up ${nameOf(names, e.task)}${e.woken ? '' : ' (already running)'}`;
    case 'sched.switch':
      return `switch ${nameOf(names, e.prev)} -> ${nameOf(names, e.next)}`;
    case 'irq.enter':
      return `irq ${e.irq} enter`;
    case 'irq.exit':
      return `irq ${e.irq} exit`;
    case 'task.new':
      return `new task ${e.name} (queued on CPU${e.onCpu})`;
    default:
      return describeEvent(e, names);
  }
}

/** The kinds {@link columnView} shows by default: what a reader of a race diagram needs. */
export const DEFAULT_COLUMN_KINDS: readonly TraceKind[] = Object.freeze([
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
  'sched.wakeup',
  'sched.switch',
  'irq.enter',
  'irq.exit',
] as const);

/** What a row marker is told about its row. */
export interface ColumnRowContext {
  /** Index of the event in the full event array. */
  readonly index: number;
  /** Store buffers before the event. */
  readonly before: StoreBufferSnapshot;
  /** Store buffers after the event. */
  readonly after: StoreBufferSnapshot;
  /** Pid → task name. */
  readonly names: ReadonlyMap<number, string>;
}

/** Returns the marker printed at the end of an event's row, or '' / undefined for none. */
export type RowMarker = (event: TraceEvent, context: ColumnRowContext) => string | undefined;

/** Options of {@link columnView}. */
export interface ColumnOptions {
  /** Kinds to show, or `'all'` (default {@link DEFAULT_COLUMN_KINDS}). */
  kinds?: readonly TraceKind[] | 'all';
  /** Width of each CPU column in characters (default 32, at least 8). */
  width?: number;
  /** Marker for a row (printed after the last column). */
  mark?: RowMarker;
  /**
   * Show a CPU's store buffer (`[sb: cond=1]`) under an event of that CPU whenever the buffer
   * is non-empty after it or the event changed it (default false).
   */
  showStoreBuffers?: boolean;
  /** Events without a CPU: one line spanning the CPU columns, or a column of their own (default 'span'). */
  global?: 'span' | 'column';
  /** Wrap long cell text onto more lines (default true) or cut it with `~`. */
  wrap?: boolean;
}

/** Defaults of {@link ColumnOptions}. */
export const DEFAULT_COLUMN_OPTIONS: Readonly<{
  width: number;
  showStoreBuffers: boolean;
  global: 'span' | 'column';
  wrap: boolean;
}> = Object.freeze({ width: 32, showStoreBuffers: false, global: 'span', wrap: true });

/** `text` broken into lines of at most `width` characters (at blanks when it can). */
export function wrapText(text: string, width: number): string[] {
  width = Math.max(1, Math.floor(width));
  const out: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter((w) => w !== '')) {
    while (word.length > width) {
      if (line !== '') {
        out.push(line);
        line = '';
      }
      out.push(word.slice(0, width));
      word = word.slice(width);
    }
    if (line === '') line = word;
    else if (line.length + 1 + word.length <= width) line += ` ${word}`;
    else {
      out.push(line);
      line = word;
    }
  }
  if (line !== '' || out.length === 0) out.push(line);
  return out;
}

/** `text` cut to `width` characters, ending in `~` when cut. */
function cut(text: string, width: number): string {
  return text.length <= width ? text : `${text.slice(0, width - 1)}~`;
}

/**
 * A ready {@link RowMarker}: marks a `mem.load` made while the loading CPU's own store buffer
 * still holds a store to another cell, the store→load reordering behind the
 * `waitqueue_active` lost wake-up. The marker reads `<== cond=1 still in CPU0's store buffer`
 * (or `prefix` followed by the same).
 */
export function markStoreLoadReordering(prefix = '<=='): RowMarker {
  return (e, ctx) => {
    if (e.kind !== 'mem.load' || e.cpu < 0) return undefined;
    const pending = (ctx.before[e.cpu] ?? []).filter((s) => s.cell !== e.cell);
    if (pending.length === 0) return undefined;
    const what = pending.map((s) => `${s.cell}=${s.value}`).join(', ');
    return `${prefix} ${what} still in CPU${e.cpu}'s store buffer`;
  };
}

/**
 * The side-by-side view of `events`: a header `step | CPU0 (task) | CPU1 (task)`, a rule,
 * then one row per shown event with its text in its CPU's column. Events in interrupt context
 * start with `<irq>:`; on a CPU that ran more than one task, each event starts with its task's
 * name. Lines carry no trailing
 * blanks; the string ends with a newline. Pure: the same input gives the same string.
 */
export function columnView(
  events: readonly TraceEvent[],
  meta: TraceMeta,
  options: ColumnOptions = {},
): string {
  const {
    kinds = DEFAULT_COLUMN_KINDS,
    width: rawWidth = DEFAULT_COLUMN_OPTIONS.width,
    mark,
    showStoreBuffers = DEFAULT_COLUMN_OPTIONS.showStoreBuffers,
    global = DEFAULT_COLUMN_OPTIONS.global,
    wrap = DEFAULT_COLUMN_OPTIONS.wrap,
  } = options;
  const width = Math.max(8, Math.floor(rawWidth));
  const names = taskNames(events, meta);
  const labels = contextLabels(events, names);
  const n = cpuCount(events, meta.cpus);
  const shown = kinds === 'all' ? undefined : new Set<string>(kinds);
  const sbs = storeBufferStates(events, n);
  const empty: StoreBufferSnapshot = Array.from({ length: n }, () => []);

  // Tasks seen on each CPU, in order of first appearance.
  const seen: Map<number, string>[] = Array.from({ length: n }, () => new Map());
  for (const e of events) {
    if (e.cpu < 0) continue;
    const ctx = seen[e.cpu]!;
    if (e.pid >= 0) ctx.set(e.pid, nameOf(names, e.pid));
    if (e.kind === 'sched.switch' && e.next >= 0) ctx.set(e.next, nameOf(names, e.next));
  }
  const tasksOf = seen.map((m) => [...m.values()]);
  // A cell names its context when that is not obvious: interrupt context always, a task
  // when its CPU ran more than one (switches name their tasks themselves).
  const prefixOf = (e: TraceEvent, i: number): string => {
    if (e.cpu < 0 || e.kind === 'sched.switch') return '';
    if (labels[i] === '<irq>') return '<irq>: ';
    if (e.pid >= 0 && tasksOf[e.cpu]!.length > 1) return `${nameOf(names, e.pid)}: `;
    return '';
  };

  const hasGlobal = events.some((e) => e.cpu < 0 && (shown === undefined || shown.has(e.kind)));
  const globalColumn = global === 'column' && hasGlobal;
  const maxStep = events.reduce((m, e) => Math.max(m, e.step), 0);
  const stepWidth = Math.max(4, String(maxStep).length);
  const colCount = n + (globalColumn ? 1 : 0);
  const spanWidth = Math.max(width, colCount * (width + 3) - 3);

  const fitText = (text: string, w: number): string[] => (wrap ? wrapText(text, w) : [cut(text, w)]);
  const join = (step: string, cells: readonly string[], marker: string): string => {
    let line = `${step.padStart(stepWidth)} | ${cells.map((c) => c.padEnd(width)).join(' | ')}`;
    if (marker !== '') line = `${line.trimEnd()}   ${marker}`;
    return line.trimEnd();
  };

  const heads: string[] = [];
  for (let c = 0; c < n; c++) {
    const ts = tasksOf[c]!;
    heads.push(cut(ts.length === 0 ? `CPU${c}` : `CPU${c} (${ts.join(', ')})`, width));
  }
  if (globalColumn) heads.push('global');
  const lines: string[] = [
    join('step', heads, ''),
    `${'-'.repeat(stepWidth)}-+-${Array.from({ length: colCount }, () => '-'.repeat(width)).join('-+-')}`,
  ];

  events.forEach((e, i) => {
    if (shown !== undefined && !shown.has(e.kind)) return;
    const before = i === 0 ? empty : sbs[i - 1]!;
    const after = sbs[i]!;
    const marker = mark?.(e, { index: i, before, after, names }) ?? '';
    const step = String(e.step);
    if (e.cpu < 0 && !globalColumn) {
      const text = fitText(`== ${cellText(e, names)}`, spanWidth);
      text.forEach((t, k) => {
        lines.push(
          `${(k === 0 ? step : '').padStart(stepWidth)} | ${t}${k === 0 && marker !== '' ? `   ${marker}` : ''}`.trimEnd(),
        );
      });
      return;
    }
    const col = e.cpu < 0 ? n : e.cpu;
    const cellLines = fitText(prefixOf(e, i) + cellText(e, names), width);
    if (showStoreBuffers && e.cpu >= 0) {
      const sb = after[e.cpu] ?? [];
      if (sb.length > 0 || !sameBuffer(sb, before[e.cpu] ?? []))
        cellLines.push(...fitText(formatStoreBuffer(sb, SB_SHOWN), width));
    }
    cellLines.forEach((t, k) => {
      const cells = Array.from({ length: colCount }, (_, c) => (c === col ? t : ''));
      lines.push(join(k === 0 ? step : '', cells, k === 0 ? marker : ''));
    });
  });
  return `${lines.join('\n')}\n`;
}
