import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { EventHeap } from '../../src/kernel/heap.js';

interface Ref {
  time: number;
  priority: 0 | 1;
  seq: number;
}

/** The reference order: (time, priority, push order). */
function refLess(a: Ref, b: Ref): number {
  return a.time - b.time || a.priority - b.priority || a.seq - b.seq;
}

const op = fc.oneof(
  {
    arbitrary: fc.record({
      kind: fc.constant('push' as const),
      // A small set of times (with a fraction and negatives) so that ties are frequent.
      time: fc.oneof(fc.integer({ min: -3, max: 12 }), fc.constantFrom(0.5, 2.25, 1e-9)),
      priority: fc.constantFrom(0 as const, 1 as const),
    }),
    weight: 3,
  },
  { arbitrary: fc.constant({ kind: 'pop' as const }), weight: 2 },
);

describe('EventHeap', () => {
  test.prop([fc.array(op, { maxLength: 400 }), fc.integer({ min: 1, max: 8 })])(
    'pops in (time, priority, push order), like a sorted reference',
    (ops, capacity) => {
      const heap = new EventHeap<Ref>(capacity);
      let ref: Ref[] = [];
      let seq = 0;
      for (const o of ops) {
        if (o.kind === 'push') {
          const r: Ref = { time: o.time, priority: o.priority, seq: seq++ };
          heap.push(r.time, r.priority, r);
          ref.push(r);
        } else if (ref.length > 0) {
          ref.sort(refLess);
          const want = ref[0]!;
          expect(heap.peekTime()).toBe(want.time);
          expect(heap.peek()).toBe(want);
          expect(heap.pop()).toBe(want);
          ref = ref.slice(1);
        } else {
          expect(() => heap.pop()).toThrow(/empty/);
        }
        expect(heap.size).toBe(ref.length);
      }
      ref.sort(refLess);
      for (const want of ref) expect(heap.pop()).toBe(want);
      expect(heap.size).toBe(0);
      expect(heap.peekTime()).toBe(Number.POSITIVE_INFINITY);
    },
  );

  it('pops same-time entries urgent first, then in push order', () => {
    const heap = new EventHeap<string>();
    heap.push(5, 1, 'n1');
    heap.push(5, 0, 'u1');
    heap.push(3, 1, 'early');
    heap.push(5, 1, 'n2');
    heap.push(5, 0, 'u2');
    const out: string[] = [];
    while (heap.size > 0) out.push(heap.pop());
    expect(out).toEqual(['early', 'u1', 'u2', 'n1', 'n2']);
  });

  it('grows past its initial capacity and keeps order', () => {
    const heap = new EventHeap<number>(2);
    for (let i = 999; i >= 0; i--) heap.push(i % 10, 1, i);
    const out: number[] = [];
    while (heap.size > 0) out.push(heap.pop());
    const want = Array.from({ length: 1000 }, (_, k) => 999 - k).sort((a, b) => (a % 10) - (b % 10));
    expect(out).toEqual(want);
  });

  it('clear empties it, and same-time order keeps following push order afterwards', () => {
    const heap = new EventHeap<string>(4);
    for (let i = 0; i < 10; i++) heap.push(i, 1, `x${i}`);
    heap.clear();
    expect(heap.size).toBe(0);
    expect(() => heap.peek()).toThrow(/empty/);
    heap.push(1, 1, 'a');
    heap.push(1, 1, 'b');
    expect(heap.pop()).toBe('a');
    expect(heap.pop()).toBe('b');
  });
});
