import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import type { Scenario } from '../../src/check/scenario.js';
import { cpu, local_irq_disable, local_irq_enable, READ_ONCE, WRITE_ONCE } from '../../src/kernel/ops.js';
import { spin_lock, spin_unlock } from '../../src/kernel/spinlock.js';

// An interrupt raised while interrupts are off is taken where the next cost ends. A handler
// that ends at once resumes the task underneath; the cost's own end must not resume it again,
// or the operation it stopped in front of is skipped.

function storeThenLoad(fastForward: boolean): Scenario {
  return {
    name: 'irq-at-cost-end',
    title: 'store then load across an interrupt at a cost boundary',
    description: 'a zero-length handler taken where a cost ends',
    config: { cpus: 1, timed: true, memoryModel: 'sc', fastForward },
    setup(k) {
      const x = k.cell('x');
      let seen = -1;
      k.spawn(
        't',
        function* () {
          yield* local_irq_disable();
          k.raise_irq('dev', function* () {}, 0);
          yield* local_irq_enable();
          yield* cpu(1000);
          yield* WRITE_ONCE(x, 1);
          seen = yield* READ_ONCE(x);
        },
        { cpu: 0 },
      );
      return { state: () => ({ seen }) };
    },
  };
}

describe('an interrupt taken at the end of a cost', () => {
  for (const fastForward of [true, false]) {
    it(`does not skip the task's next operation (fastForward ${fastForward})`, () => {
      const r = runScenario(storeThenLoad(fastForward), { seed: 1 });
      expect(r.status).toBe('done');
      expect(r.state).toEqual({ seen: 1 });
    });
  }

  it('leaves one context at a time inside a spinlock', () => {
    const s: Scenario = {
      name: 'irq-at-cost-end-lock',
      title: 'two tasks and a lock across interrupts at cost boundaries',
      description: 'each locked section takes an interrupt where its cost ends',
      config: { cpus: 2, timed: true, memoryModel: 'sc' },
      setup(k) {
        const lock = k.spinlock('ctx.lock');
        const inside = k.cell('inside');
        let most = 0;
        for (const c of [0, 1]) {
          k.spawn(
            `P${c}`,
            function* () {
              for (let i = 0; i < 3; i++) {
                yield* local_irq_disable();
                k.raise_irq('dev', function* () {}, c);
                yield* local_irq_enable();
                yield* cpu(100);
                yield* spin_lock(lock);
                const n = (yield* READ_ONCE(inside)) + 1;
                yield* WRITE_ONCE(inside, n);
                most = Math.max(most, n);
                yield* cpu(100);
                yield* WRITE_ONCE(inside, (yield* READ_ONCE(inside)) - 1);
                yield* spin_unlock(lock);
              }
            },
            { cpu: c },
          );
        }
        return { state: () => ({ most }) };
      },
    };
    for (const seed of [1, 2, 3, 4]) {
      const r = runScenario(s, { seed });
      expect(r.violations.map((v) => v.message)).toEqual([]);
      expect(r.state).toEqual({ most: 1 });
    }
  });
});
