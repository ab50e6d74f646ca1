import { test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { TraceEvent } from '../../src/trace/events.js';
import { taskNames } from '../../src/trace/meta.js';
import {
  autoTimeDigits,
  contextLabels,
  describeEvent,
  formatSeconds,
  oneLine,
  quoteValue,
  textLines,
  textLog,
} from '../../src/trace/text.js';
import { SAMPLE_META, sampleTrace, TraceBuilder, traceArb } from './builder.js';

describe('formatSeconds', () => {
  it('prints integer ns as seconds with 9 or 6 digits', () => {
    expect(formatSeconds(0)).toBe('0.000000000');
    expect(formatSeconds(120_000)).toBe('0.000120000');
    expect(formatSeconds(120_000, 6)).toBe('0.000120');
    expect(formatSeconds(1_234_567_891, 9)).toBe('1.234567891');
    expect(formatSeconds(1_234_567_891, 6)).toBe('1.234567');
    expect(formatSeconds(-1500, 9)).toBe('-0.000001500');
  });

  it('uses 6 digits only when every time is a whole microsecond', () => {
    expect(autoTimeDigits(sampleTrace(1000))).toBe(6);
    expect(autoTimeDigits(sampleTrace(250))).toBe(9);
  });
});

describe('describeEvent', () => {
  const names = new Map([
    [1, 'waker'],
    [2, 'waiter'],
  ]);
  const b = new TraceBuilder();

  it('prints fields as key=value in a fixed order, pids as name-pid, true booleans as bare keys', () => {
    b.emit('mem.store', 0, 1, { op: 'WRITE_ONCE', buffered: true, value: 1, cell: 'cond' });
    b.emit('mem.store', 0, 1, { cell: 'cond', value: 1, buffered: false, op: 'WRITE_ONCE' });
    b.emit('lock.spin', 1, 2, { lock: 'wq.lock', holder: 1 });
    b.emit('sched.switch', 1, 2, { prev: 2, next: -1, prevState: 'D' });
    b.emit('sched.wakeup', 0, 1, { task: 7, woken: false });
    const [s1, s2, spin, sw, wake] = b.events.map((e) => describeEvent(e, names));
    expect(s1).toBe('mem.store cell=cond value=1 op=WRITE_ONCE buffered');
    expect(s2).toBe('mem.store cell=cond value=1 op=WRITE_ONCE');
    expect(spin).toBe('lock.spin lock=wq.lock holder=waker-1');
    expect(sw).toBe('sched.switch prev=waiter-2 prevState=D ==> next=<idle>');
    expect(wake).toBe('sched.wakeup task=pid-7');
  });

  it('quotes strings with blanks, = or quotes, and keeps notes and violations on one line', () => {
    expect(quoteValue('wq:wq')).toBe('wq:wq');
    expect(quoteValue('a b')).toBe('"a b"');
    expect(quoteValue('a=b')).toBe('"a=b"');
    expect(quoteValue('')).toBe('""');
    expect(oneLine('a\n  b\r\nc')).toBe('a / b / c');
    const c = new TraceBuilder();
    c.emit('note', 0, 1, { text: 'line one\nline two' });
    c.emit('violation', -1, -1, { violationKind: 'hang', message: 'stuck:\n  waiter' });
    c.emit('sched.sleep', 1, 2, { task: 2, state: 'TASK_INTERRUPTIBLE', on: 'wait queue' });
    expect(c.events.map((e) => describeEvent(e, names))).toEqual([
      'note: line one / line two',
      'violation [hang] stuck: / waiter',
      'sched.sleep task=waiter-2 state=TASK_INTERRUPTIBLE on="wait queue"',
    ]);
  });

  it('prints a kind it has no field order for with its fields sorted', () => {
    const e = {
      step: 0,
      t: 0,
      cpu: 0,
      pid: 1,
      kind: 'wq.future',
      zeta: 1,
      alpha: 'x',
    } as unknown as TraceEvent;
    expect(describeEvent(e)).toBe('wq.future alpha=x zeta=1');
  });
});

describe('contextLabels', () => {
  it('labels tasks, idle CPUs, interrupt context (both bracket ends) and CPU-less events', () => {
    const ev = sampleTrace();
    const labels = contextLabels(ev, taskNames(ev, SAMPLE_META));
    const at = (kind: string): string[] => ev.flatMap((e, i) => (e.kind === kind ? [labels[i]!] : []));
    expect(at('task.new')).toEqual(['<none>', '<none>']);
    expect(at('irq.enter')).toEqual(['<irq>']);
    expect(at('irq.exit')).toEqual(['<irq>']);
    expect(at('wq.wake')).toEqual(['<irq>']);
    expect(at('note')).toEqual(['waker-1']);
    expect(at('sched.switch')).toEqual(['<idle>', '<idle>', 'waiter-2', '<idle>', 'waker-1']);
  });
});

describe('textLog', () => {
  it('prints a header and one fixed-width line per event', () => {
    const ev = sampleTrace();
    const out = textLog(ev, SAMPLE_META);
    const lines = out.split('\n');
    expect(out.endsWith('\n')).toBe(true);
    expect(lines[0]).toBe(
      '# scenario: waitqueue-active  cpus: 2  memory model: tso  seed: 7  choices: 4  events: 24',
    );
    expect(lines[2]).toBe('#       TASK-PID  CPU    STEP   TIMESTAMP  EVENT');
    expect(lines.length).toBe(3 + ev.length + 1);
    expect(lines).toContain(
      '         waker-1 [000]      3    0.000003: mem.store cell=cond value=1 op=WRITE_ONCE buffered',
    );
    expect(lines).toContain('           <irq> [000]     10    0.000010: sched.wakeup task=waiter-2 woken');
    expect(lines).toContain(
      '          <none> [---]     13    0.000013: violation [invariant] waiter slept while cond = 1',
    );
    // The columns line up: every event line has its ':' after the time at the same place.
    const body = lines.slice(3, -1);
    const colon = body.map((l) => l.indexOf(': '));
    expect(new Set(colon).size).toBe(1);
    expect(body.every((l) => l[16] === ' ' && l[17] === '[' && l[21] === ']')).toBe(true);
  });

  it('prints nanosecond digits when times are not whole microseconds', () => {
    const lines = textLines(sampleTrace(250), SAMPLE_META);
    expect(lines[4]).toBe('        waiter-2 [001]      2    0.000000500: wq.add wq=wq entry=waiter');
  });

  it('honours header: false, kinds and timeDigits', () => {
    const out = textLog(sampleTrace(), SAMPLE_META, { header: false, kinds: ['violation'], timeDigits: 9 });
    expect(out).toBe(
      '          <none> [---]     13    0.000013000: violation [invariant] waiter slept while cond = 1\n',
    );
    expect(textLog([], SAMPLE_META, { header: false })).toBe('');
  });

  it('is deterministic: the same events give the same string', () => {
    const a = textLog(sampleTrace(), SAMPLE_META);
    const b = textLog(structuredClone(sampleTrace()), structuredClone(SAMPLE_META));
    expect(a).toBe(b);
  });

  it('names tasks the meta does not list from their task.new events', () => {
    const b = new TraceBuilder();
    b.emit('task.new', -1, -1, { task: 9, name: 'kworker', onCpu: 0 });
    b.next(1000).emit('mem.fence', 0, 9, { op: 'smp_mb' });
    const lines = textLines(b.events, { scenario: 's', cpus: 1, memoryModel: 'sc', tasks: [] });
    expect(lines[1]).toBe('       kworker-9 [000]      1    0.000001: mem.fence op=smp_mb');
  });
});

describe('properties', () => {
  test.prop([traceArb])(
    'one line per event, carrying its description, columns aligned',
    ({ events, meta }) => {
      const lines = textLines(events, meta);
      const names = taskNames(events, meta);
      expect(lines).toHaveLength(events.length);
      lines.forEach((l, i) => {
        expect(l.endsWith(describeEvent(events[i]!, names))).toBe(true);
        expect(l.slice(16, 23)).toMatch(/^ \[(\d{3}|---)\] $/);
      });
      expect(textLog(events, meta)).toBe(textLog(structuredClone(events), structuredClone(meta)));
    },
  );
});
