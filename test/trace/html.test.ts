import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { escapeHtml, htmlTimeline, jsonForScript } from '../../src/trace/html.js';
import { SAMPLE_META, sampleTrace, TraceBuilder, traceArb } from './builder.js';

/** The text of the `<script>` element whose opening tag contains `marker`. */
function scriptText(html: string, marker: string): string {
  const open = html.indexOf(marker);
  expect(open).toBeGreaterThanOrEqual(0);
  const start = html.indexOf('>', open) + 1;
  return html.slice(start, html.indexOf('</script>', start));
}

/** Count of `needle` in `s`. */
function count(s: string, needle: string): number {
  return s.split(needle).length - 1;
}

/** A minimal stand-in for the DOM the inline script touches. */
class FakeElement {
  textContent = '';
  className = '';
  value = '';
  style: Record<string, string> = {};
  children: FakeElement[] = [];
  listeners: Record<string, ((ev: { target: unknown }) => void)[]> = {};
  attrs: Record<string, string> = {};
  tagName: string;
  parentNode: FakeElement | null = null;
  scrolled = 0;
  constructor(tag: string) {
    this.tagName = tag;
  }
  addEventListener(name: string, fn: (ev: { target: unknown }) => void): void {
    (this.listeners[name] ??= []).push(fn);
  }
  dispatch(name: string, target: unknown = this): void {
    for (const fn of this.listeners[name] ?? []) fn({ target });
  }
  getAttribute(name: string): string | null {
    return this.attrs[name] ?? null;
  }
  scrollIntoView(): void {
    this.scrolled++;
  }
}

/** Runs the page's inline script against fake elements; returns them. */
function runPage(html: string, events: readonly TraceEvent[]) {
  const ids: Record<string, FakeElement> = {};
  for (const id of ['step', 'detail', 'pos', 'cursor', 'events', 'lanes']) ids[id] = new FakeElement('DIV');
  const data = new FakeElement('SCRIPT');
  data.textContent = scriptText(html, 'id="aiosim-data"');
  ids['aiosim-data'] = data;
  ids.events!.children = events.map((_, i) => {
    const li = new FakeElement('LI');
    li.attrs['data-i'] = String(i);
    li.parentNode = ids.events!;
    return li;
  });
  const document = { getElementById: (id: string) => ids[id] ?? null };
  const code = scriptText(html, '<script>\n(function');
  new Function('document', `${code}`)(document);
  return ids;
}

describe('escaping', () => {
  it('escapes HTML text and attributes', () => {
    expect(escapeHtml(`<a href="x">'&'</a>`)).toBe('&lt;a href=&quot;x&quot;&gt;&#39;&amp;&#39;&lt;/a&gt;');
  });

  it('embeds JSON without any < > & or line separators, and it parses back the same', () => {
    const v = { s: '</script><!-- & \u2028 \u2029 >' };
    const j = jsonForScript(v);
    expect(j).not.toMatch(/[<>&\u2028\u2029]/);
    expect(JSON.parse(j)).toEqual(v);
  });
});

describe('htmlTimeline', () => {
  const ev = sampleTrace();
  const html = htmlTimeline(ev, SAMPLE_META);

  it('is one self-contained page: inline style and script, no network', () => {
    expect(html.startsWith('<!DOCTYPE html>\n<html lang="en">')).toBe(true);
    expect(html.trimEnd().endsWith('</html>')).toBe(true);
    expect(html).not.toMatch(/https?:|src=|<link|@import|url\(/);
    expect(count(html, '<script')).toBe(2);
    expect(count(html, '</script>')).toBe(2);
    expect(count(html, '<style>')).toBe(1);
  });

  it('embeds the meta and the events as JSON', () => {
    const data = JSON.parse(scriptText(html, 'id="aiosim-data"'));
    expect(data.meta).toEqual(SAMPLE_META);
    expect(data.events).toEqual(ev);
    expect(data.clock).toBe('time');
    expect([data.start, data.end]).toEqual([0, 14000]);
  });

  it('has a row per CPU and per task, slices coloured by state with hover text, and the event list', () => {
    for (const label of ['CPU 0', 'CPU 1', 'machine', 'waker-1', 'waiter-2']) {
      expect(html).toContain(`<div class="label" title="${label}">${label}</div>`);
    }
    expect(html).toMatch(
      /<div class="slice running" style="left:7\.1429%;width:92\.8571%" title="waker-1\nrunning, /,
    );
    expect(html).toMatch(/<div class="slice irq" style="left:64\.2857%;width:14\.2857%" title="irq timer\n/);
    expect(html).toContain('class="slice sleeping"');
    expect(html).toContain('class="slice runnable"');
    expect(html).toMatch(/class="mark violation" [^>]*title="!! invariant: waiter slept while cond = 1\n/);
    expect(html).toContain('class="mark wakeup"');
    expect(html).toContain('on: wq:wq');
    expect(count(html, '<li data-i=')).toBe(ev.length);
    expect(html).toContain(
      '<li data-i="7">         waker-1 [000]      3    0.000003: mem.store cell=cond value=1 op=WRITE_ONCE buffered</li>',
    );
    expect(html).toContain('<li data-i="21" class="violation">');
    expect(html).toContain(`max="${ev.length - 1}"`);
  });

  it('draws states under interrupts under marks in each row', () => {
    const cpu0 = html.slice(html.indexOf('title="CPU 0"'), html.indexOf('title="CPU 1"'));
    const running = cpu0.indexOf('class="slice running"');
    const irq = cpu0.indexOf('class="slice irq"');
    const mark = cpu0.indexOf('class="mark');
    expect(running).toBeGreaterThan(0);
    expect(irq).toBeGreaterThan(running);
    expect(mark).toBeGreaterThan(irq);
  });

  it('cannot be broken by </script> or markup inside event text', () => {
    const b = new TraceBuilder();
    b.emit('note', 0, 1, { text: '</script><script>alert(1)</script><!--' });
    b.emit('violation', -1, -1, { violationKind: 'bug', message: '<b>"x" & \'y\'</b>' });
    const page = htmlTimeline(b.events, { ...SAMPLE_META, scenario: '<i>x</i>' });
    expect(count(page, '</script>')).toBe(2);
    expect(count(page, '<script')).toBe(2);
    expect(page).not.toContain('<b>');
    expect(page).not.toContain('<i>x</i>');
    expect(page).toContain('&lt;/script&gt;&lt;script&gt;alert(1)');
    expect(JSON.parse(scriptText(page, 'id="aiosim-data"')).events).toEqual(b.events);
  });

  it('its script selects events from the slider, the list and the timeline', () => {
    const el = runPage(html, ev);
    expect(el.pos!.textContent).toBe('event 1 / 24, step 0, t = 0 ns');
    expect(JSON.parse(el.detail!.textContent)).toEqual(ev[0]);
    expect(el.events!.children[0]!.className).toContain('cur');
    el.step!.value = '7';
    el.step!.dispatch('input');
    expect(el.pos!.textContent).toBe('event 8 / 24, step 3, t = 3000 ns');
    expect(el.events!.children[0]!.className).not.toContain('cur');
    expect(el.events!.children[7]!.className).toContain('cur');
    expect(el.cursor!.style.left).toBe(`calc(160px + (100% - 160px) * ${3000 / 14000})`);
    el.events!.dispatch('click', el.events!.children[21]);
    expect(el.step!.value).toBe('21');
    expect(JSON.parse(el.detail!.textContent)).toEqual(ev[21]);
    const slice = new FakeElement('DIV');
    slice.attrs['data-i'] = '4';
    el.lanes!.dispatch('click', slice);
    expect(el.step!.value).toBe('4');
  });

  it('works for an empty trace and an untimed one', () => {
    const empty = htmlTimeline([], SAMPLE_META);
    expect(JSON.parse(scriptText(empty, 'id="aiosim-data"')).events).toEqual([]);
    expect(() => runPage(empty, [])).not.toThrow();
    const untimed = htmlTimeline(sampleTrace(0), SAMPLE_META, { title: 'Lost wake-up' });
    expect(untimed).toContain('<title>Lost wake-up</title>');
    expect(untimed).toContain('clock: steps');
  });

  it('is deterministic', () => {
    expect(htmlTimeline(sampleTrace(), SAMPLE_META)).toBe(html);
  });

  test.prop([traceArb])(
    'every random trace gives a page whose data parses back to its events',
    ({ events, meta }) => {
      const page = htmlTimeline(events, meta);
      expect(count(page, '</script>')).toBe(2);
      expect(JSON.parse(scriptText(page, 'id="aiosim-data"')).events).toEqual(events);
      expect(count(page, '<li data-i=')).toBe(events.length);
    },
  );

  test.prop([fc.string({ unit: 'binary' })])('any note text survives the embedding', (text) => {
    const b = new TraceBuilder();
    b.emit('note', 0, -1, { text });
    const page = htmlTimeline(b.events, SAMPLE_META);
    expect(count(page, '</script>')).toBe(2);
    expect(JSON.parse(scriptText(page, 'id="aiosim-data"')).events[0].text).toBe(text);
  });
});
