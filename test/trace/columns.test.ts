import { test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  cellText,
  columnView,
  cpuCount,
  formatStoreBuffer,
  markStoreLoadReordering,
  storeBufferStates,
  wrapText,
} from '../../src/trace/columns.js';
import { SAMPLE_META, sampleTrace, TraceBuilder, traceArb } from './builder.js';

/** The column (0 = step, 1 = CPU0, ...) a row's text sits in, for rows that have one. */
function columnOf(line: string): number {
  const parts = line.split(' | ');
  let col = -1;
  parts.forEach((p, k) => {
    if (k > 0 && p.trim() !== '' && col < 0) col = k;
  });
  return col;
}

describe('storeBufferStates', () => {
  it('follows buffered stores and drains per CPU', () => {
    const ev = sampleTrace();
    const sbs = storeBufferStates(ev, 2);
    expect(sbs).toHaveLength(ev.length);
    const sbAfter = (kind: string, cpu: number) =>
      sbs[ev.findIndex((e) => e.kind === kind && e.cpu === cpu)]!;
    expect(sbAfter('mem.store', 1)).toEqual([[], [{ cell: 'wq.head', value: 1 }]]);
    expect(sbAfter('mem.store', 0)).toEqual([[{ cell: 'cond', value: 1 }], [{ cell: 'wq.head', value: 1 }]]);
    expect(sbAfter('mem.drain', 0)).toEqual([[], [{ cell: 'wq.head', value: 1 }]]);
    expect(sbAfter('mem.drain', 1)).toEqual([[], []]);
    expect(sbs[sbs.length - 1]).toEqual([[], []]);
  });

  it('drains the oldest entry of the cell (same value first), ignores unbuffered stores and unknown drains', () => {
    const b = new TraceBuilder();
    b.emit('mem.store', 0, 1, { cell: 'x', value: 1, buffered: true, op: 'w' });
    b.emit('mem.store', 0, 1, { cell: 'y', value: 2, buffered: true, op: 'w' });
    b.emit('mem.store', 0, 1, { cell: 'x', value: 3, buffered: true, op: 'w' });
    b.emit('mem.store', 0, 1, { cell: 'z', value: 9, buffered: false, op: 'w' });
    b.emit('mem.drain', 0, 1, { cell: 'x', value: 3, from: 0 }); // PSO: the newer x by value
    b.emit('mem.drain', 0, 1, { cell: 'q', value: 1, from: 0 }); // nothing to drain
    b.emit('mem.drain', -1, -1, { cell: 'y', value: 7, from: 0 }); // no CPU: `from`; value differs
    const sbs = storeBufferStates(b.events);
    expect(sbs[3]).toEqual([
      [
        { cell: 'x', value: 1 },
        { cell: 'y', value: 2 },
        { cell: 'x', value: 3 },
      ],
    ]);
    expect(sbs[4]).toEqual([
      [
        { cell: 'x', value: 1 },
        { cell: 'y', value: 2 },
      ],
    ]);
    expect(sbs[5]).toBe(sbs[4]);
    expect(sbs[6]).toEqual([[{ cell: 'x', value: 1 }]]);
  });

  it('shares unchanged snapshots and widens to the highest CPU seen', () => {
    const b = new TraceBuilder();
    b.emit('note', 3, -1, { text: 'x' });
    expect(cpuCount(b.events, 2)).toBe(4);
    const sbs = storeBufferStates(b.events, 2);
    expect(sbs[0]).toHaveLength(4);
    const ev = sampleTrace();
    const all = storeBufferStates(ev, 2);
    expect(all[0]).toBe(all[1]);
  });

  it('formats a buffer', () => {
    expect(formatStoreBuffer([])).toBe('[sb: empty]');
    expect(
      formatStoreBuffer([
        { cell: 'cond', value: 1 },
        { cell: 'x', value: 2 },
      ]),
    ).toBe('[sb: cond=1, x=2]');
    const many = Array.from({ length: 5 }, (_, k) => ({ cell: `c${k}`, value: k }));
    expect(formatStoreBuffer(many, 2)).toBe('[sb: 3 older, c3=3, c4=4]');
    expect(formatStoreBuffer(many, 5)).toBe('[sb: c0=0, c1=1, c2=2, c3=3, c4=4]');
  });
});

describe('cellText and wrapText', () => {
  it('gives short teaching texts', () => {
    const names = new Map([[2, 'waiter']]);
    const ev = sampleTrace();
    const text = (kind: string) => cellText(ev.find((e) => e.kind === kind)!, names);
    expect(text('mem.store')).toBe('WRITE_ONCE wq.head = 1 (buffered)');
    expect(text('mem.load')).toBe('waitqueue_active wq.head -> 0');
    expect(text('mem.drain')).toBe('sb drain: cond = 1 visible');
    expect(text('sched.wakeup')).toBe('wake up waiter');
    expect(text('violation')).toBe('!! invariant: waiter slept while cond = 1');
    expect(text('sched.sleep')).toBe('waiter sleeps (TASK_UNINTERRUPTIBLE) on wq:wq');
  });

  it('wraps at blanks and splits words longer than the width', () => {
    expect(wrapText('a bb ccc dddd', 6)).toEqual(['a bb', 'ccc', 'dddd']);
    expect(wrapText('abcdefghij', 4)).toEqual(['abcd', 'efgh', 'ij']);
    expect(wrapText('', 4)).toEqual(['']);
  });
});

describe('columnView', () => {
  const ev = sampleTrace();

  it('has a header naming each CPU and its tasks, and puts each event in its CPU column', () => {
    const out = columnView(ev, SAMPLE_META, { width: 40 });
    const lines = out.trimEnd().split('\n');
    expect(lines[0]).toBe(`step | ${'CPU0 (waker)'.padEnd(40)} | CPU1 (waiter)`);
    expect(lines[1]).toBe(`-----+-${'-'.repeat(40)}-+-${'-'.repeat(40)}`);
    const row = (text: string) => lines.find((l) => l.includes(text))!;
    expect(columnOf(row('WRITE_ONCE cond = 1'))).toBe(1);
    expect(columnOf(row('WRITE_ONCE wq.head = 1'))).toBe(2);
    expect(columnOf(row('READ_ONCE cond -> 0'))).toBe(2);
    expect(row('WRITE_ONCE cond = 1')).toBe(`   3 | ${'WRITE_ONCE cond = 1 (buffered)'.padEnd(40)} |`);
    expect(row('READ_ONCE cond -> 0')).toBe(`   5 | ${''.padEnd(40)} | READ_ONCE cond -> 0`);
    // Interrupt context is named; the global violation spans the columns.
    expect(row('acquire wq.lock')).toBe(`  10 | ${'<irq>: acquire wq.lock'.padEnd(40)} |`);
    expect(row('!! invariant')).toBe('  13 | == !! invariant: waiter slept while cond = 1');
    // The default kinds leave out task creation and exit.
    expect(out).not.toContain('new task');
    expect(lines.every((l) => l === l.trimEnd())).toBe(true);
  });

  it('shows store buffers under the CPU that owns them when asked', () => {
    const lines = columnView(ev, SAMPLE_META, { width: 34, showStoreBuffers: true }).split('\n');
    const i = lines.findIndex((l) => l.includes('WRITE_ONCE cond = 1'));
    expect(lines[i + 1]).toBe(`     | ${'[sb: cond=1]'.padEnd(34)} |`);
    const j = lines.findIndex((l) => l.includes('READ_ONCE cond -> 0'));
    expect(lines[j + 1]).toBe(`     | ${''.padEnd(34)} | [sb: wq.head=1]`);
    const k = lines.findIndex((l) => l.includes('sb drain: cond = 1'));
    expect(lines[k + 1]).toBe(`     | ${'[sb: empty]'.padEnd(34)} |`);
    // Nothing about store buffers without the option.
    expect(columnView(ev, SAMPLE_META)).not.toContain('[sb:');
  });

  it('marks rows with the mark function, e.g. loads made while an own store is still buffered', () => {
    const out = columnView(ev, SAMPLE_META, { width: 34, mark: markStoreLoadReordering() });
    const marked = out.split('\n').filter((l) => l.includes('<=='));
    expect(marked).toEqual([
      `   4 | waitqueue_active wq.head -> 0      |   <== cond=1 still in CPU0's store buffer`,
      `   5 | ${''.padEnd(34)} | READ_ONCE cond -> 0   <== wq.head=1 still in CPU1's store buffer`,
    ]);
    const seen: number[] = [];
    columnView(ev, SAMPLE_META, {
      kinds: ['mem.load'],
      mark: (e, ctx) => {
        seen.push(ctx.index);
        expect(ev[ctx.index]).toBe(e);
        return ctx.after[e.cpu]!.length > 0 ? '*' : '';
      },
    });
    expect(seen).toEqual([8, 9]);
  });

  it('can give global events their own column, show all kinds, cut instead of wrap', () => {
    const out = columnView(ev, SAMPLE_META, { width: 12, global: 'column', kinds: 'all', wrap: false });
    const lines = out.split('\n');
    expect(lines[0]).toBe('step | CPU0 (waker) | CPU1 (waite~ | global');
    const v = lines.find((l) => l.includes('!! invari'))!;
    expect(columnOf(v)).toBe(3);
    expect(v).toBe(`  13 | ${''.padEnd(12)} | ${''.padEnd(12)} | !! invarian~`);
    expect(out).toContain('new task wa~');
    expect(lines.length).toBe(2 + ev.length + 1);
  });

  it('prefixes each event with its task on a CPU that ran several tasks', () => {
    const b = new TraceBuilder();
    b.emit('sched.switch', 0, -1, { prev: -1, next: 1, prevState: 'R' });
    b.next().emit('mem.fence', 0, 1, { op: 'smp_mb' });
    b.next().emit('sched.switch', 0, 1, { prev: 1, next: 2, prevState: 'R' });
    b.next().emit('mem.fence', 0, 2, { op: 'smp_wmb' });
    const meta = {
      scenario: 's',
      cpus: 1,
      memoryModel: 'sc',
      tasks: [
        { pid: 1, name: 'a' },
        { pid: 2, name: 'b' },
      ],
    };
    const lines = columnView(b.events, meta, { width: 20 }).trimEnd().split('\n');
    expect(lines).toEqual([
      'step | CPU0 (a, b)',
      '-----+---------------------',
      '   0 | switch <idle> -> a',
      '   1 | a: smp_mb',
      '   2 | switch a -> b',
      '   3 | b: smp_wmb',
    ]);
  });

  it('is deterministic', () => {
    const o = { showStoreBuffers: true, mark: markStoreLoadReordering() };
    expect(columnView(sampleTrace(), SAMPLE_META, o)).toBe(columnView(sampleTrace(), SAMPLE_META, o));
  });
});

describe('properties', () => {
  test.prop([traceArb])(
    'every shown event sits in its own CPU column (or the global one)',
    ({ events, meta }) => {
      const lines = columnView(events, meta, { kinds: 'all', width: 200, wrap: false, global: 'column' })
        .trimEnd()
        .split('\n');
      const hasGlobal = events.some((e) => e.cpu < 0);
      expect(lines.length).toBe(2 + events.length);
      events.forEach((e, i) => {
        const line = lines[2 + i]!;
        expect(line.startsWith(String(e.step).padStart(4))).toBe(true);
        expect(columnOf(line)).toBe(e.cpu < 0 ? meta.cpus + 1 : e.cpu + 1);
      });
      expect(lines[0]!.endsWith('global')).toBe(hasGlobal);
    },
  );

  test.prop([traceArb])('store-buffer depth = buffered stores - drains, per CPU', ({ events, meta }) => {
    const sbs = storeBufferStates(events, meta.cpus);
    for (let c = 0; c < meta.cpus; c++) {
      let depth = 0;
      events.forEach((e, i) => {
        if (e.cpu === c && e.kind === 'mem.store' && e.buffered) depth++;
        if (e.cpu === c && e.kind === 'mem.drain') depth--;
        expect(sbs[i]![c]!.length).toBe(depth);
      });
    }
  });
});
