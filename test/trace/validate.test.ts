import { describe, expect, it } from 'vitest';
import { validateChromeTrace } from '../../src/trace/validate.js';

type Ev = Record<string, unknown>;

/** A small valid trace using every rule's feature once. */
function good(): Ev[] {
  return [
    { name: 'process_name', ph: 'M', pid: 1, tid: 0, args: { name: 'CPUs' } },
    { name: 'process_sort_index', ph: 'M', pid: 1, tid: 0, args: { sort_index: 0 } },
    { name: 'thread_name', ph: 'M', pid: 1, tid: 1, args: { name: 'CPU 0' } },
    { name: 'thread_name', ph: 'M', pid: 1, tid: 2, args: { name: 'CPU 1' } },
    { name: 'process_name', ph: 'M', pid: 2, tid: 0, args: { name: 'Tasks' } },
    { name: 'thread_name', ph: 'M', pid: 2, tid: 3, args: { name: 'waiter-2' } },
    { name: 'A', ph: 'X', pid: 1, tid: 1, ts: 0, dur: 10 },
    { name: 'B', ph: 'X', pid: 1, tid: 1, ts: 2, dur: 3 },
    { name: 'C', ph: 'X', pid: 1, tid: 1, ts: 10, dur: 5 },
    { name: 'wake', ph: 'X', pid: 1, tid: 1, ts: 2, dur: 0, bind_id: '0x1', flow_out: true },
    { name: 'run', ph: 'X', pid: 2, tid: 3, ts: 5, dur: 1, bind_id: '0x1', flow_in: true },
    { name: 'b', ph: 'B', pid: 1, tid: 2, ts: 0 },
    { ph: 'E', pid: 1, tid: 2, ts: 4 },
    { name: 'store', ph: 'i', s: 't', pid: 1, tid: 1, ts: 3, args: { cell: 'cond' } },
    { name: 'sb', ph: 'C', pid: 1, tid: 1, ts: 0, args: { depth: 1 } },
    { name: 'f1', ph: 's', id: 5, pid: 1, tid: 1, ts: 1 },
    { name: 'f1', ph: 'f', id: 5, pid: 1, tid: 2, ts: 2 },
  ];
}

/** The good trace with `change` applied to a copy. */
function bad(change: (evs: Ev[]) => void): { traceEvents: Ev[] } {
  const evs = good();
  change(evs);
  return { traceEvents: evs };
}

const byName = (evs: Ev[], name: string): Ev => evs.find((e) => e.name === name)!;

describe('validateChromeTrace', () => {
  it('accepts the good trace, as an object or a bare array', () => {
    expect(validateChromeTrace({ traceEvents: good(), displayTimeUnit: 'ns' })).toEqual([]);
    expect(validateChromeTrace(good())).toEqual([]);
    expect(validateChromeTrace({ traceEvents: [] })).toEqual([]);
  });

  const cases: [string, (evs: Ev[]) => void, RegExp][] = [
    ['an event that is not an object', (e) => e.push(42 as unknown as Ev), /not an object/],
    ['an unknown phase', (e) => (byName(e, 'A').ph = 'Q'), /unknown phase "Q"/],
    ['a missing name', (e) => delete byName(e, 'store').name, /name must be a string/],
    ['a non-integer pid', (e) => (byName(e, 'store').pid = 1.5), /pid must be an integer/],
    ['a missing tid on a slice', (e) => delete byName(e, 'C').tid, /tid is required/],
    ['a non-numeric ts', (e) => (byName(e, 'store').ts = '3'), /ts must be a finite number/],
    ['args that are not an object', (e) => (byName(e, 'store').args = [1]), /args must be an object/],
    ['an X without dur', (e) => delete byName(e, 'C').dur, /X event needs a finite numeric dur/],
    ['a negative dur', (e) => (byName(e, 'C').dur = -1), /dur must be >= 0/],
    [
      'X slices that partly overlap',
      (e) => e.push({ name: 'D', ph: 'X', pid: 1, tid: 1, ts: 8, dur: 5 }),
      /partly overlaps/,
    ],
    [
      'a B without E',
      (e) => e.push({ name: 'open', ph: 'B', pid: 1, tid: 1, ts: 20 }),
      /B without a matching E/,
    ],
    ['an E without B', (e) => e.push({ ph: 'E', pid: 1, tid: 1, ts: 20 }), /E without a matching B/],
    ['an E before its B', (e) => (e.find((x) => x.ph === 'E')!.ts = -1), /before its B/],
    [
      'an E closing another name',
      (e) => (e.find((x) => x.ph === 'E')!.name = 'zz'),
      /E named "zz" closes B "b"/,
    ],
    ['a bad instant scope', (e) => (byName(e, 'store').s = 'x'), /instant scope/],
    [
      'a non-numeric counter',
      (e) => (byName(e, 'sb').args = { depth: '1' }),
      /counter arg "depth" must be a finite number/,
    ],
    ['a counter without args', (e) => delete byName(e, 'sb').args, /counter needs numeric args/],
    [
      'a flow_in without bind_id',
      (e) => delete byName(e, 'run').bind_id,
      /flow_in\/flow_out without a bind_id/,
    ],
    [
      'a flow whose in is missing',
      (e) => e.splice(e.indexOf(byName(e, 'run')), 1),
      /flow 0x1: flow_out \(event \d+\) has no flow_in/,
    ],
    [
      'a flow whose out is missing',
      (e) => e.splice(e.indexOf(byName(e, 'wake')), 1),
      /flow 0x1: flow_in \(event \d+\) has no flow_out/,
    ],
    ['a flow_in before its flow_out', (e) => (byName(e, 'run').ts = 1), /starts before its flow_out/],
    [
      'two flow_out slices for one id',
      (e) => {
        byName(e, 'C').bind_id = '0x1';
        byName(e, 'C').flow_out = true;
      },
      /2 flow_out slices/,
    ],
    ['a bind_id without direction', (e) => (byName(e, 'C').bind_id = '0x9'), /without flow_in or flow_out/],
    ['a bind_id on an instant', (e) => (byName(e, 'store').bind_id = '0x9'), /only belong on X or B slices/],
    ['an s flow event without f', (e) => e.splice(e.length - 1, 1), /flow 5: s event \d+ has no f event/],
    ['a flow event without id', (e) => delete byName(e, 'f1').id, /flow event needs an id/],
    [
      'a pid without process_name',
      (e) => e.splice(e.indexOf(e.find((x) => x.name === 'process_name' && x.pid === 2)!), 1),
      /pid 2 has no process_name metadata/,
    ],
    [
      'a thread without thread_name',
      (e) => e.push({ name: 'Z', ph: 'X', pid: 1, tid: 9, ts: 0, dur: 1 }),
      /tid 9 of pid 1 has no thread_name metadata/,
    ],
    [
      'a tid named in two processes',
      (e) => e.push({ name: 'thread_name', ph: 'M', pid: 2, tid: 1, args: { name: 'dup' } }),
      /tid 1 is used in process 1 and process 2/,
    ],
    [
      'a thread named twice',
      (e) => e.push({ name: 'thread_name', ph: 'M', pid: 1, tid: 1, args: { name: 'other' } }),
      /named both "CPU 0" and "other"/,
    ],
    [
      'a metadata name without args.name',
      (e) => (byName(e, 'thread_name').args = {}),
      /args.name must be a string/,
    ],
    [
      'an unknown metadata name',
      (e) => (byName(e, 'process_sort_index').name = 'colour'),
      /unknown metadata name/,
    ],
    [
      'a sort index that is not a number',
      (e) => (byName(e, 'process_sort_index').args = { sort_index: 'a' }),
      /sort_index must be a number/,
    ],
  ];

  for (const [what, change, msg] of cases) {
    it(`reports ${what}`, () => {
      const errors = validateChromeTrace(bad(change));
      expect(
        errors.some((x) => msg.test(x)),
        errors.join('\n'),
      ).toBe(true);
    });
  }

  it('reports each broken rule once and nothing else for single faults', () => {
    const single = [
      'an unknown phase',
      'a non-numeric ts',
      'a negative dur',
      'X slices that partly overlap',
      'a B without E',
      'a bad instant scope',
      'a non-numeric counter',
      'a flow whose in is missing',
      'a tid named in two processes',
    ];
    for (const [what, change] of cases.filter(([w]) => single.includes(w))) {
      expect(validateChromeTrace(bad(change)), what).toHaveLength(1);
    }
  });

  it('rejects things that are not traces and bad displayTimeUnit', () => {
    expect(validateChromeTrace(null)).toEqual([
      'trace must be an array of events or an object with a traceEvents array',
    ]);
    expect(validateChromeTrace({ events: [] })).toHaveLength(1);
    expect(validateChromeTrace({ traceEvents: [], displayTimeUnit: 'us' })).toEqual([
      'displayTimeUnit must be "ms" or "ns", got "us"',
    ]);
  });

  it('tolerates float rounding when slices touch', () => {
    const evs = good();
    evs.push({ name: 'p', ph: 'X', pid: 1, tid: 2, ts: 100.1, dur: 0.2 });
    evs.push({ name: 'q', ph: 'X', pid: 1, tid: 2, ts: 100.3, dur: 0.1 });
    evs.push({ name: 'r', ph: 'X', pid: 1, tid: 2, ts: 100.1, dur: 0.30000000000000004 });
    expect(validateChromeTrace(evs)).toEqual([]);
  });
});
