/**
 * `keyed(make)` (src/kernel/keyed.ts): one state per key, made once on first use, whatever the
 * order in which keys are asked for (the getter's one-entry cache of the last key included).
 */
import { fc, test } from '@fast-check/vitest';
import { expect } from 'vitest';
import { keyed } from '../../src/kernel/keyed.js';

test.prop([fc.array(fc.nat(3), { maxLength: 30 })])(
  'each key gets its own state, made once, in any order of lookups',
  (order) => {
    const keys = [{}, {}, {}, {}];
    const made: object[] = [];
    const get = keyed((key: object) => {
      made.push(key);
      return { key };
    });
    const seen = new Map<object, { key: object }>();
    for (const i of order) {
      const key = keys[i]!;
      const s = get(key);
      expect(s.key).toBe(key);
      if (seen.has(key)) expect(s).toBe(seen.get(key));
      else seen.set(key, s);
    }
    // Made once per key asked for, in the order of first use.
    expect(made).toEqual([...seen.keys()]);
  },
);
