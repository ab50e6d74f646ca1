/**
 * Tests of prebuilt operations (src/kernel/prebuilt.ts): a prebuilt operation yielded
 * directly is the same visible operation as the primitive driven with `yield*` — same result,
 * same trace, same steps — `write_once_op` / `atomic_op` make the operations of `WRITE_ONCE` /
 * `atomic` directly, and `done(value)` is kernel code that returns at once.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { atomic, cpu, type KernelCode, OP, READ_ONCE, smp_mb, WRITE_ONCE } from '../../src/kernel/ops.js';
import { atomic_op, done, prebuilt, write_once_op } from '../../src/kernel/prebuilt.js';
import { spin_lock_irqsave, spin_unlock_irqrestore } from '../../src/kernel/spinlock.js';
import type { TraceEvent } from '../../src/trace/events.js';

describe('prebuilt', () => {
  it('takes out the operation of a one-operation primitive', () => {
    const k = new Kernel({ cpus: 1, trace: false }, seeded(1));
    const c = k.cell('c', 5);
    expect(prebuilt(READ_ONCE(c))).toEqual({ code: OP.LOAD, cell: c, how: 'READ_ONCE' });
    expect(prebuilt(cpu(300))).toEqual({ code: OP.COST, ns: 300 });
    expect(prebuilt(smp_mb())).toEqual({ code: OP.FENCE, kind: 'smp_mb' });
  });

  it('refuses code that yields nothing', () => {
    expect(() => prebuilt(done(1))).toThrow(/yielded no operation/);
  });

  /** Two tasks on two CPUs bump a counter under a lock `n` times each; `fast` yields prebuilt ops. */
  function run(seed: number, n: number, fast: boolean): { trace: string[]; value: number; steps: number } {
    const k = new Kernel({ cpus: 2, timed: false, trace: true }, seeded(seed));
    const lock = k.spinlock('l');
    const c = k.cell('c', 0);
    const lockOp = prebuilt(spin_lock_irqsave(lock));
    const unlockOp = prebuilt(spin_unlock_irqrestore(lock));
    const load = prebuilt(READ_ONCE(c));
    const trace: string[] = [];
    k.events.on('trace', (e: TraceEvent) => trace.push(JSON.stringify(e)));
    function* body(): KernelCode<void> {
      for (let i = 0; i < n; i++) {
        if (fast) {
          yield lockOp;
          const v: number = yield load;
          yield* WRITE_ONCE(c, v + 1);
          yield unlockOp;
        } else {
          yield* spin_lock_irqsave(lock);
          const v = yield* READ_ONCE(c);
          yield* WRITE_ONCE(c, v + 1);
          yield* spin_unlock_irqrestore(lock);
        }
      }
    }
    k.spawn('a', body, { cpu: 0 });
    k.spawn('b', body, { cpu: 1 });
    const r = k.run();
    return { trace, value: c.value, steps: r.steps };
  }

  test.prop([fc.integer({ min: 1, max: 1_000_000 }), fc.integer({ min: 1, max: 6 })], { numRuns: 30 })(
    'yielding prebuilt operations gives the same run as the primitives, event for event',
    (seed, n) => {
      const slow = run(seed, n, false);
      const fast = run(seed, n, true);
      expect(fast.value).toBe(2 * n);
      expect(fast.steps).toBe(slow.steps);
      expect(fast.trace).toEqual(slow.trace);
    },
  );
});

describe('write_once_op and atomic_op', () => {
  it('are the operations WRITE_ONCE and atomic yield', () => {
    const k = new Kernel({ cpus: 1, trace: false }, seeded(1));
    const c = k.cell('c', 0);
    const fn = () => 3;
    expect(write_once_op(c, 9)).toEqual(prebuilt(WRITE_ONCE(c, 9)));
    expect(atomic_op(4, true, 'x', fn)).toEqual(prebuilt(atomic(4, true, 'x', fn)));
    expect(atomic_op(4, false, 'y', fn)).toEqual(prebuilt(atomic(4, false, 'y', fn)));
  });

  /** Two tasks race a store and an atomic section on shared state; `fast` yields the direct ops. */
  function race(seed: number, fast: boolean): { trace: string[]; seen: number[] } {
    const k = new Kernel({ cpus: 2, timed: false, trace: true, memoryModel: 'tso' }, seeded(seed));
    const c = k.cell('c', 0);
    const obj = k.newObjectId();
    let shared = 0;
    const seen: number[] = [];
    const trace: string[] = [];
    k.events.on('trace', (e: TraceEvent) => trace.push(JSON.stringify(e)));
    function* body(id: number): KernelCode<void> {
      for (let i = 0; i < 3; i++) {
        const bump = () => ++shared;
        if (fast) {
          yield write_once_op(c, id * 10 + i);
          const v: number = yield atomic_op(obj, true, 'bump', bump);
          seen.push(v);
        } else {
          yield* WRITE_ONCE(c, id * 10 + i);
          seen.push(yield* atomic(obj, true, 'bump', bump));
        }
        seen.push(yield* READ_ONCE(c));
      }
    }
    k.spawn('a', () => body(1), { cpu: 0 });
    k.spawn('b', () => body(2), { cpu: 1 });
    expect(k.run().status).toBe('done');
    return { trace, seen };
  }

  test.prop([fc.integer({ min: 1, max: 1_000_000 })], { numRuns: 30 })(
    'yielded directly, they give the same run as the primitives, event for event',
    (seed) => {
      const slow = race(seed, false);
      const fast = race(seed, true);
      expect(fast.seen).toEqual(slow.seen);
      expect(fast.trace).toEqual(slow.trace);
    },
  );
});

describe('done', () => {
  it('returns its value at once, without yielding', () => {
    const g = done(42);
    expect(g.next()).toEqual({ value: 42, done: true });
    expect(g.next()).toEqual({ value: 42, done: true });
  });

  it('works under yield* inside kernel code', () => {
    const k = new Kernel({ cpus: 1, trace: false }, seeded(1));
    let got = 0;
    k.spawn('t', function* () {
      got = yield* done(7);
      yield* done(undefined);
      yield* cpu(10);
    });
    expect(k.run().status).toBe('done');
    expect(got).toBe(7);
  });
});
