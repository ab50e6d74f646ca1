/**
 * A self-contained HTML timeline of a trace: one file, inline CSS and JS, no network.
 *
 * - {@link htmlTimeline}: the page. One row per CPU (the task running, interrupt slices
 *   drawn inside, instant marks for memory operations, notes and violations) and one row per
 *   task (running / runnable / sleeping, coloured by state); every slice and mark has hover
 *   text with its details. Below: a step slider and the list of all events (the text log's
 *   lines); moving the slider highlights the event, shows its fields and moves a cursor over
 *   the timeline. The rows are rendered into the HTML itself, so the page reads without JS.
 * - {@link escapeHtml}, {@link jsonForScript}: the escaping used (the embedded JSON never
 *   contains `<`, so no `</script>` or `<!--` can end the script early).
 *
 * The embedded data (`<script type="application/json" id="aiosim-data">`) holds the meta,
 * the clock and the events as given.
 */
import { buildTimeline, type ChromeOptions, type TimelineSlice } from './chrome.js';
import type { TraceEvent } from './events.js';
import type { TraceMeta } from './meta.js';
import { taskNames } from './meta.js';
import { describeEvent, formatSeconds, textLines } from './text.js';

/** Options of {@link htmlTimeline}. */
export interface HtmlOptions {
  /** Page title (default `aiosim: <scenario>`). */
  title?: string;
  /** Clock of the timeline (default 'auto', as for the Chrome exporter). */
  clock?: ChromeOptions['clock'];
}

/** `s` with `& < > " '` replaced by entities (safe in text and in quoted attributes). */
export function escapeHtml(s: string): string {
  return s
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

/**
 * `value` as JSON safe to embed in a `<script>` element: `<`, `>`, `&` and the line
 * separators U+2028/U+2029 are written as `\u` escapes (the JSON value is unchanged).
 */
export function jsonForScript(value: unknown): string {
  return JSON.stringify(value)
    .replace(/</g, '\\u003c')
    .replace(/>/g, '\\u003e')
    .replace(/&/g, '\\u0026')
    .replace(/\u2028/g, '\\u2028')
    .replace(/\u2029/g, '\\u2029');
}

/** A percentage with 4 decimals (stable text). */
function pct(x: number): string {
  return `${(Math.round(x * 1e6) / 1e4).toFixed(4)}%`;
}

const CSS = `
body{font:13px/1.4 system-ui,sans-serif;margin:16px;color:#222;background:#fff}
h1{font-size:18px;margin:0 0 4px}
.meta{color:#555;margin:0 0 12px}
.legend span{display:inline-block;margin-right:12px}
.legend i{display:inline-block;width:12px;height:12px;margin-right:4px;vertical-align:middle;border-radius:2px}
#lanes{position:relative;border:1px solid #ccc;margin:8px 0}
.row{display:flex;height:24px;border-bottom:1px solid #eee}
.row.group{height:20px;background:#f4f4f4;font-weight:600}
.label{width:160px;flex:none;padding:3px 6px;box-sizing:border-box;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}
.lane{position:relative;flex:1;overflow:hidden}
.slice{position:absolute;top:3px;height:18px;min-width:2px;box-sizing:border-box;border-radius:2px;font-size:11px;line-height:18px;padding:0 2px;overflow:hidden;white-space:nowrap;color:#111;cursor:pointer}
.running{background:#7cc47c}
.runnable{background:#f0d35b}
.sleeping{background:#b9c7e6}
.irq{background:#e8845b}
.slice.irq{top:11px;height:10px;line-height:10px;font-size:9px}
.mark{position:absolute;top:2px;width:2px;height:8px;margin-left:-1px;background:#555;cursor:pointer}
.mark.mem{background:#2a6fdb}
.mark.note{background:#8a4fc9;height:20px}
.mark.violation{background:#d00;width:4px;margin-left:-2px;height:20px}
.mark.wakeup{background:#0a0;height:20px}
#cursor{position:absolute;top:0;bottom:0;width:0;border-left:2px solid #d00;pointer-events:none}
#controls{margin:8px 0}
#controls input{width:60%;vertical-align:middle}
#detail{background:#f8f8f8;border:1px solid #ddd;padding:6px;white-space:pre-wrap;min-height:2em}
#events{font:12px/1.35 ui-monospace,monospace;max-height:40vh;overflow:auto;border:1px solid #ccc;padding:0 0 0 3.5em;margin:0}
#events li{white-space:pre;cursor:pointer}
#events li.cur{background:#ffe08a}
#events li.violation{color:#b00}
`;

const JS = `
(function(){
  var data = JSON.parse(document.getElementById('aiosim-data').textContent);
  var events = data.events;
  var slider = document.getElementById('step');
  var detail = document.getElementById('detail');
  var pos = document.getElementById('pos');
  var cursor = document.getElementById('cursor');
  var list = document.getElementById('events');
  var items = list ? list.children : [];
  var span = data.end - data.start || 1;
  var cur = -1;
  function clockOf(e){ return data.clock === 'time' ? e.t : e.step; }
  function select(i){
    if (!events.length) return;
    i = Math.max(0, Math.min(events.length - 1, i | 0));
    if (cur >= 0 && items[cur]) items[cur].className = items[cur].className.replace(/ ?cur/, '');
    cur = i;
    var li = items[i];
    if (li) { li.className += ' cur'; if (li.scrollIntoView) li.scrollIntoView({block: 'nearest'}); }
    var e = events[i];
    slider.value = String(i);
    pos.textContent = 'event ' + (i + 1) + ' / ' + events.length + ', step ' + e.step + ', t = ' + e.t + ' ns';
    detail.textContent = JSON.stringify(e, null, 1);
    var f = (clockOf(e) - data.start) / span;
    cursor.style.left = 'calc(160px + (100% - 160px) * ' + f + ')';
  }
  if (slider) slider.addEventListener('input', function(){ select(Number(slider.value)); });
  if (list) list.addEventListener('click', function(ev){
    var t = ev.target; while (t && t.tagName !== 'LI') t = t.parentNode;
    if (t) select(Number(t.getAttribute('data-i')));
  });
  var lanes = document.getElementById('lanes');
  if (lanes) lanes.addEventListener('click', function(ev){
    var a = ev.target && ev.target.getAttribute && ev.target.getAttribute('data-i');
    if (a !== null && a !== undefined && a !== false) select(Number(a));
  });
  select(0);
})();
`;

/**
 * The HTML timeline of `events` (see the module doc). Pure: the same input gives the same
 * string.
 */
export function htmlTimeline(
  events: readonly TraceEvent[],
  meta: TraceMeta,
  options: HtmlOptions = {},
): string {
  const { title = `aiosim: ${meta.scenario}` } = options;
  const tl = buildTimeline(events, meta, {
    clock: options.clock ?? 'auto',
    counters: false,
    instants: 'all',
  });
  const names = taskNames(events, meta);
  const span = tl.end - tl.start || 1;
  const x = (v: number): number => (v - tl.start) / span;
  const when = (v: number): string => (tl.clock === 'time' ? `${formatSeconds(v)} s` : `step ${v}`);

  const sliceHtml = (s: TimelineSlice): string => {
    const args = Object.entries(s.args)
      .map(([k, v]) => `${k}: ${v}`)
      .join('\n');
    const hover = `${s.name}\n${s.state}, ${when(s.start)} to ${when(s.end)}\nsteps ${events[s.first]?.step ?? 0} to ${events[s.last]?.step ?? 0}${args === '' ? '' : `\n${args}`}`;
    if (s.state === 'wakeup') {
      return `<div class="mark wakeup" style="left:${pct(x(s.start))}" title="${escapeHtml(hover)}" data-i="${s.first}"></div>`;
    }
    const label = s.state === 'irq' || s.track === 'cpu' ? s.name : s.state;
    return `<div class="slice ${s.state}" style="left:${pct(x(s.start))};width:${pct((s.end - s.start) / span)}" title="${escapeHtml(hover)}" data-i="${s.first}">${escapeHtml(label)}</div>`;
  };

  // Each row draws task states first, interrupts over them, then the marks on top.
  type Item = { layer: number; at: number; html: string };
  const cpuRows: Item[][] = Array.from({ length: tl.cpus + 1 }, () => []);
  const taskRows = new Map<number, Item[]>(tl.tasks.map((t) => [t.pid, []]));
  for (const s of tl.slices) {
    const item = {
      layer: s.state === 'wakeup' ? 2 : s.state === 'irq' ? 1 : 0,
      at: s.start,
      html: sliceHtml(s),
    };
    if (s.track === 'cpu') cpuRows[s.id < 0 ? tl.cpus : s.id]!.push(item);
    else taskRows.get(s.id)?.push(item);
  }
  for (const m of tl.instants) {
    const e = events[m.index]!;
    const cls =
      m.kind === 'violation'
        ? 'violation'
        : m.kind === 'note'
          ? 'note'
          : m.kind.startsWith('mem.')
            ? 'mem'
            : '';
    const hover = `${m.name}\n${when(m.at)}, step ${e.step}\n${describeEvent(e, names)}`;
    cpuRows[m.cpu < 0 ? tl.cpus : m.cpu]!.push({
      layer: 2,
      at: m.at,
      html: `<div class="mark ${cls}" style="left:${pct(x(m.at))}" title="${escapeHtml(hover)}" data-i="${m.index}"></div>`,
    });
  }
  const ordered = (items: Item[]): string[] =>
    items
      .map((it, k) => ({ ...it, k }))
      .sort((a, b) => a.layer - b.layer || a.at - b.at || a.k - b.k)
      .map((it) => it.html);

  const row = (label: string, items: Item[]): string =>
    `<div class="row"><div class="label" title="${escapeHtml(label)}">${escapeHtml(label)}</div><div class="lane">${ordered(items).join('')}</div></div>`;
  const rows: string[] = ['<div class="row group"><div class="label">CPUs</div></div>'];
  for (let c = 0; c < tl.cpus; c++) rows.push(row(`CPU ${c}`, cpuRows[c]!));
  if (cpuRows[tl.cpus]!.length > 0) rows.push(row('machine', cpuRows[tl.cpus]!));
  rows.push('<div class="row group"><div class="label">Tasks</div></div>');
  for (const t of tl.tasks) rows.push(row(`${t.name}-${t.pid}`, taskRows.get(t.pid)!));

  const lines = textLines(events, meta);
  const items = lines.map(
    (l, i) =>
      `<li data-i="${i}"${events[i]!.kind === 'violation' ? ' class="violation"' : ''}>${escapeHtml(l)}</li>`,
  );

  let info = `cpus: ${meta.cpus} · memory model: ${meta.memoryModel}`;
  if (meta.seed !== undefined) info += ` · seed: ${meta.seed}`;
  info += ` · ${events.length} events · clock: ${tl.clock === 'time' ? 'simulated time' : 'steps'}`;
  info += ` · ${when(tl.start)} to ${when(tl.end)}`;
  const violations = events.filter((e) => e.kind === 'violation').length;
  if (violations > 0) info += ` · ${violations} violation${violations === 1 ? '' : 's'}`;

  const data = { meta, clock: tl.clock, start: tl.start, end: tl.end, events };
  const legend = ['running', 'runnable', 'sleeping', 'irq']
    .map((s) => `<span><i class="${s}"></i>${s}</span>`)
    .join('');
  return [
    '<!DOCTYPE html>',
    '<html lang="en">',
    '<head>',
    '<meta charset="utf-8">',
    `<title>${escapeHtml(title)}</title>`,
    `<style>${CSS}</style>`,
    '</head>',
    '<body>',
    `<h1>${escapeHtml(title)}</h1>`,
    `<p class="meta">${escapeHtml(info)}</p>`,
    `<div class="legend">${legend}<span><i class="mark mem" style="position:static;display:inline-block"></i>memory</span><span><i class="mark note" style="position:static;display:inline-block"></i>note</span><span><i class="mark violation" style="position:static;display:inline-block"></i>violation</span><span><i class="mark wakeup" style="position:static;display:inline-block"></i>wake-up</span></div>`,
    `<div id="lanes">${rows.join('')}<div id="cursor"></div></div>`,
    `<div id="controls"><input type="range" id="step" min="0" max="${Math.max(0, events.length - 1)}" value="0" aria-label="event"> <span id="pos"></span></div>`,
    '<pre id="detail"></pre>',
    `<ol id="events" start="0">${items.join('')}</ol>`,
    `<script type="application/json" id="aiosim-data">${jsonForScript(data)}</script>`,
    `<script>${JS}</script>`,
    '</body>',
    '</html>',
    '',
  ].join('\n');
}
