import { expect, it } from 'vitest';
import { explore, READ_ONCE, type Scenario, smp_mb, WRITE_ONCE } from '../src/index.js';

// The README's ten-line example, as written there (imported from the package barrel).
it('the README example proves SB with smp_mb on both sides for every interleaving', () => {
  const sb: Scenario = {
    name: 'my-sb',
    title: 'store buffering',
    description: 'both loads see 0?',
    config: { cpus: 2, memoryModel: 'tso', timed: false },
    setup(k) {
      const x = k.cell('x');
      const y = k.cell('y');
      let r0 = -1;
      let r1 = -1;
      k.spawn(
        'P0',
        function* () {
          yield* WRITE_ONCE(x, 1);
          yield* smp_mb();
          r0 = yield* READ_ONCE(y);
        },
        { cpu: 0 },
      ); // prettier-ignore
      k.spawn(
        'P1',
        function* () {
          yield* WRITE_ONCE(y, 1);
          yield* smp_mb();
          r1 = yield* READ_ONCE(x);
        },
        { cpu: 1 },
      ); // prettier-ignore
      return { final: () => (r0 === 0 && r1 === 0 ? 'both loads saw 0' : undefined) };
    },
  };
  const r = explore(sb, { strategy: 'exhaustive' });
  expect(r.complete).toBe(true);
  expect(r.violations).toEqual([]);
  // Without the barriers the same search finds the reordering.
  const noMb: Scenario = {
    ...sb,
    setup(k) {
      const x = k.cell('x');
      const y = k.cell('y');
      let r0 = -1;
      let r1 = -1;
      k.spawn(
        'P0',
        function* () {
          yield* WRITE_ONCE(x, 1);
          r0 = yield* READ_ONCE(y);
        },
        { cpu: 0 },
      ); // prettier-ignore
      k.spawn(
        'P1',
        function* () {
          yield* WRITE_ONCE(y, 1);
          r1 = yield* READ_ONCE(x);
        },
        { cpu: 1 },
      ); // prettier-ignore
      return { final: () => (r0 === 0 && r1 === 0 ? 'both loads saw 0' : undefined) };
    },
  };
  expect(explore(noMb, { strategy: 'exhaustive' }).violations[0]?.message).toBe('both loads saw 0');
});
