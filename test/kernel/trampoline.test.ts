/**
 * Trampolined calls (`yield f()`): the kernel runs the callee as a frame on the context's own
 * stack and resumes the caller with its result. Random call trees — with visible operations,
 * primitives that post-process their result, yields to other tasks, exceptions thrown and
 * caught across frames — give the same trace, results and log as the same code written with
 * `yield*`, step for step, on two CPUs under a seeded Chooser.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import type { Cell } from '../../src/kernel/cell.js';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { type KernelCode, OP, OpIter, READ_ONCE, test_bit, WRITE_ONCE } from '../../src/kernel/ops.js';
import { schedule, schedule_timeout, set_current_state, TASK_INTERRUPTIBLE } from '../../src/kernel/sched.js';
import type { TraceEvent } from '../../src/trace/events.js';

interface Frame {
  ops: number;
  kids: Frame[];
  throws: boolean;
  catches: boolean;
  yields: boolean;
  sleeps: number;
}

/** Call trees at most `depth` calls deep. */
function frameArb(depth: number): fc.Arbitrary<Frame> {
  return fc.record({
    ops: fc.integer({ min: 0, max: 2 }),
    kids: depth === 0 ? fc.constant([]) : fc.array(frameArb(depth - 1), { maxLength: 3 }),
    throws: fc.boolean(),
    catches: fc.boolean(),
    yields: fc.boolean(),
    sleeps: fc.integer({ min: 0, max: 3 }),
  });
}

class Boom extends Error {
  readonly sum: number;
  constructor(sum: number) {
    super(`boom ${sum}`);
    this.sum = sum;
  }
}

/** One frame of the tree, calling its children with `yield` (tramp) or `yield*`. */
function* frame(f: Frame, cell: Cell, tramp: boolean, log: string[], path: string): KernelCode<number> {
  let sum = 0;
  for (let i = 0; i < f.ops; i++) {
    const v: number = tramp ? yield READ_ONCE(cell) : yield* READ_ONCE(cell);
    const b: number = tramp ? yield test_bit(0, cell) : yield* test_bit(0, cell);
    sum += v + b;
    if (tramp) yield WRITE_ONCE(cell, (v + 1) % 7);
    else yield* WRITE_ONCE(cell, (v + 1) % 7);
  }
  if (f.yields) {
    if (tramp) yield schedule('');
    else yield* schedule('');
  }
  if (f.sleeps > 0) {
    // A timed sleep (the timer is a choice in untimed runs): its time left joins the sum.
    if (tramp) yield set_current_state(TASK_INTERRUPTIBLE);
    else yield* set_current_state(TASK_INTERRUPTIBLE);
    const left: number = tramp
      ? yield schedule_timeout(f.sleeps * 10)
      : yield* schedule_timeout(f.sleeps * 10);
    sum += left;
  }
  for (let i = 0; i < f.kids.length; i++) {
    const kid = f.kids[i]!;
    const at = `${path}.${i}`;
    if (f.catches) {
      try {
        sum += tramp ? yield frame(kid, cell, tramp, log, at) : yield* frame(kid, cell, tramp, log, at);
      } catch (e) {
        if (!(e instanceof Boom)) throw e;
        log.push(`${path} caught ${e.message}`);
        sum += e.sum;
      } finally {
        log.push(`${path} finally ${i}`);
      }
    } else {
      sum += tramp ? yield frame(kid, cell, tramp, log, at) : yield* frame(kid, cell, tramp, log, at);
    }
  }
  if (f.throws) throw new Boom(sum);
  return sum;
}

function runTree(trees: Frame[], tramp: boolean, seed: number) {
  const k = new Kernel({ cpus: 2, timed: false, trace: true }, seeded(seed));
  const events: string[] = [];
  k.events.on('trace', (e: TraceEvent) => events.push(JSON.stringify(e)));
  const cell = k.cell('x', 0);
  const log: string[] = [];
  const results: (number | string)[] = trees.map(() => Number.NaN);
  trees.forEach((t, i) => {
    k.spawn(`t${i}`, function* () {
      try {
        results[i] = tramp
          ? yield frame(t, cell, true, log, `t${i}`)
          : yield* frame(t, cell, false, log, `t${i}`);
      } catch (e) {
        results[i] = (e as Error).message;
      }
    });
  });
  const r = k.run({ maxSteps: 20_000 });
  return { status: r.status, steps: r.steps, choices: [...r.choices], events, log, results };
}

describe('trampolined calls', () => {
  test.prop([fc.array(frameArb(4), { minLength: 1, maxLength: 2 }), fc.integer({ min: 1, max: 1_000 })], {
    numRuns: 80,
  })('yield f() runs exactly as yield* f(): same trace, results, log and choices', (trees, seed) => {
    const nested = runTree(trees, false, seed);
    const tramp = runTree(trees, true, seed);
    expect(tramp.status).toBe('done');
    expect(tramp).toEqual(nested);
  });

  it('a call chain 10,000 frames deep runs and returns', () => {
    const k = new Kernel({ cpus: 1, timed: false });
    const cell = k.cell('x', 3);
    function* down(n: number): KernelCode<number> {
      if (n === 0) return yield READ_ONCE(cell);
      const below: number = yield down(n - 1);
      return below + 1;
    }
    let got = -1;
    k.spawn('deep', function* () {
      got = yield down(10_000);
    });
    expect(k.run().status).toBe('done');
    expect(got).toBe(10_003);
  });

  it("an exception from a primitive's ending reaches the frame that yielded it, both ways", () => {
    for (const tramp of [true, false]) {
      const k = new Kernel({ cpus: 1, timed: false });
      const cell = k.cell('x', 5);
      const seen: string[] = [];
      function* inner(): KernelCode<void> {
        const bad = new OpIter<number>({ code: OP.LOAD, cell, how: 'READ_ONCE' }, (v) => {
          throw new Error(`bad value ${v as number}`);
        });
        try {
          if (tramp) yield bad;
          else yield* bad;
        } catch (e) {
          seen.push(`inner caught ${(e as Error).message}`);
        }
      }
      k.spawn('t', function* () {
        if (tramp) yield inner();
        else yield* inner();
        seen.push('outer goes on');
      });
      expect(k.run().status).toBe('done');
      expect(seen).toEqual(['inner caught bad value 5', 'outer goes on']);
    }
  });

  it('kernel code that is an iterator but not a generator runs as a frame and as a task', () => {
    // The kernel resumes generator objects through the generators' own `next`; any other
    // iterator (here a hand-written one, and a primitive already started) through its own.
    const k = new Kernel({ cpus: 1, timed: false });
    const cell = k.cell('x', 3);
    /** Yields READ_ONCE(cell) twice (trampolined) and returns the sum: no generator involved. */
    class TwoLoads implements KernelCode<number> {
      private n = 0;
      private sum = 0;
      next(v?: unknown): IteratorResult<ReturnType<typeof READ_ONCE>, number> {
        if (this.n > 0) this.sum += v as number;
        if (this.n++ < 2) return { value: READ_ONCE(cell), done: false };
        return { value: this.sum, done: true };
      }
      return(v: number): IteratorResult<ReturnType<typeof READ_ONCE>, number> {
        return { value: v, done: true };
      }
      throw(e: unknown): IteratorResult<ReturnType<typeof READ_ONCE>, number> {
        throw e;
      }
      [Symbol.iterator](): this {
        return this;
      }
    }
    const got: number[] = [];
    k.spawn('frames', function* () {
      got.push(yield new TwoLoads());
      // A primitive already started cannot be taken: it runs as a frame, from where it was (its
      // operation went to whoever called next(); resumed, it returns what it is given).
      const started = READ_ONCE(cell);
      started.next();
      got.push(yield started);
      got.push(yield new TwoLoads());
    });
    const it = k.spawn('iterator-task', () => new TwoLoads());
    expect(k.run().status).toBe('done');
    expect(got).toEqual([6, undefined, 6]);
    expect(it.result).toBe(6);
  });

  it('an exception nobody catches stops the run with the task named, as with yield*', () => {
    for (const tramp of [true, false]) {
      const k = new Kernel({ cpus: 1, timed: false });
      const cell = k.cell('x', 0);
      function* bad(): KernelCode<void> {
        yield READ_ONCE(cell);
        throw new Error('bad state');
      }
      k.spawn('victim', function* () {
        if (tramp) yield bad();
        else yield* bad();
      });
      expect(() => k.run()).toThrow(/task 'victim' \(pid \d+\) threw at step \d+: bad state/);
    }
  });
});

/** A call tree whose frames are generators or hand-written iterators. */
interface Mixed {
  hand: boolean;
  loads: number;
  kids: Mixed[];
}

function mixedArb(depth: number): fc.Arbitrary<Mixed> {
  return fc.record({
    hand: fc.boolean(),
    loads: fc.integer({ min: 0, max: 2 }),
    kids: depth === 0 ? fc.constant([]) : fc.array(mixedArb(depth - 1), { maxLength: 3 }),
  });
}

/** What the frame of `m` returns when the cell holds `x`: 1 + its loads + its callees' results. */
function mixedValue(m: Mixed, x: number): number {
  return 1 + m.loads * x + m.kids.reduce((s, k) => s + mixedValue(k, x), 0);
}

/** The frame of `m`: its loads, then its callees, each called with `yield` (trampolined) or `yield*`. */
function mixedFrame(m: Mixed, cell: Cell, tramp: boolean): KernelCode<number> {
  const steps: (() => KernelCode<number>)[] = [];
  for (let i = 0; i < m.loads; i++) steps.push(() => READ_ONCE(cell));
  for (const kid of m.kids) steps.push(() => mixedFrame(kid, cell, tramp));
  if (!m.hand) {
    return (function* () {
      let sum = 1;
      for (const s of steps) sum += tramp ? ((yield s()) as number) : yield* s();
      return sum;
    })();
  }
  // A hand-written iterator: only trampolined calls can nest in it (it has no yield*).
  let i = 0;
  let sum = 1;
  const it: KernelCode<number> = {
    next(v?: unknown) {
      if (i > 0) sum += v as number;
      if (i < steps.length) return { value: steps[i++]!(), done: false } as IteratorResult<never, number>;
      return { value: sum, done: true };
    },
    return(v: number) {
      return { value: v, done: true };
    },
    throw(e: unknown): never {
      throw e;
    },
    [Symbol.iterator]() {
      return it;
    },
  };
  return it;
}

describe('trampolined calls through frames that are not generators', () => {
  test.prop([mixedArb(4), fc.boolean()])(
    'generator and hand-written frames nest in any order, each caller resumed with its callee’s result',
    (tree, handTask) => {
      const k = new Kernel({ cpus: 1, timed: false, trace: false });
      const cell = k.cell('x', 5);
      // The task's own code is the root frame: a generator, or (handTask) a hand-written one.
      const root: Mixed = { ...tree, hand: handTask };
      const t = k.spawn('mixed', () => mixedFrame(root, cell, true));
      expect(k.run().status).toBe('done');
      expect(t.result).toBe(mixedValue(root, 5));
    },
  );
});
