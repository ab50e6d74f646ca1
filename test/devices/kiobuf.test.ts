/**
 * User memory as the kiobuf layer checks it: `user_region` answers exactly as `user_view` (the
 * same region, at the same bytes, or null), for every mix of mappings, protections and ranges.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { user_region } from '../../src/devices/kiobuf.js';
import { Process } from '../../src/kernel/process.js';

describe('user_region', () => {
  test.prop(
    [
      fc.array(fc.record({ pages: fc.integer({ min: 1, max: 3 }), prot: fc.integer({ min: 0, max: 3 }) }), {
        minLength: 1,
        maxLength: 4,
      }),
      fc.array(
        fc.record({
          region: fc.nat(),
          off: fc.integer({ min: -4096, max: 4 * 4096 }),
          len: fc.integer({ min: 0, max: 3 * 4096 }),
          write: fc.boolean(),
        }),
        { minLength: 1, maxLength: 20 },
      ),
    ],
    { numRuns: 100 },
  )('finds the region user_view would view, or gives null when it would', (maps, probes) => {
    const p = new Process(1, 'p');
    const starts = maps.map((m) => p.mm.mmap(m.pages * 4096, m.prot));
    for (const q of probes) {
      const addr = starts[q.region % starts.length]! + q.off;
      const view = p.mm.user_view(addr, q.len, q.write);
      const r = user_region(p, addr, q.len, q.write);
      if (view === null) {
        expect(r).toBeNull();
        continue;
      }
      expect(r).not.toBeNull();
      const off = addr - r!.start;
      expect(r!.data.buffer).toBe(view.buffer);
      expect(r!.data.byteOffset + off).toBe(view.byteOffset);
      expect(off + q.len).toBeLessThanOrEqual(r!.data.length);
    }
  });
});
