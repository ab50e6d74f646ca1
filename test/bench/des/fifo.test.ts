import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Fifo } from '../../../src/bench/des/fifo.js';

describe('Fifo', () => {
  test.prop([
    fc.array(
      fc.oneof(
        fc.integer({ min: 0, max: 20 }),
        fc.constant('shift' as const),
        fc.constant('remove' as const),
      ),
      {
        maxLength: 300,
      },
    ),
  ])('behaves like an array queue (push, shift, remove)', (ops) => {
    const q = new Fifo<number>(1);
    const ref: number[] = [];
    for (const o of ops) {
      if (o === 'shift') {
        if (ref.length === 0) expect(() => q.shift()).toThrow(/empty/);
        else expect(q.shift()).toBe(ref.shift());
      } else if (o === 'remove') {
        const v = ref.length > 0 ? ref[ref.length >> 1]! : 99;
        const i = ref.indexOf(v);
        expect(q.remove(v)).toBe(i >= 0);
        if (i >= 0) ref.splice(i, 1);
      } else {
        q.push(o);
        ref.push(o);
      }
      expect(q.size).toBe(ref.length);
      expect(q.toArray()).toEqual(ref);
    }
  });

  it('peek shows the head; clear empties it', () => {
    const q = new Fifo<string>();
    expect(() => q.peek()).toThrow(/empty/);
    q.push('a');
    q.push('b');
    expect(q.peek()).toBe('a');
    q.clear();
    expect(q.size).toBe(0);
    q.push('c');
    expect(q.shift()).toBe('c');
  });
});
