/**
 * Acceptance tests of the kernel core's step loop (issue 2): determinism of runs and of their
 * replay, completeness of the interleavings the Chooser can reach, timed behaviour (sleeps,
 * timer cancellation, interrupts cutting into CPU costs), and the violations the loop reports
 * (sleeping in interrupt context, exiting with a spinlock held, hangs with their reasons).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import type { Scenario } from '../../src/check/scenario.js';
import type { Cell } from '../../src/kernel/cell.js';
import { fromArray, replay } from '../../src/kernel/chooser.js';
import { counter, Kernel } from '../../src/kernel/kernel.js';
import { MEMORY_MODELS } from '../../src/kernel/memory.js';
import { atomic, cpu, READ_ONCE, WRITE_ONCE } from '../../src/kernel/ops.js';
import {
  schedule,
  schedule_timeout,
  set_current_state,
  TASK_INTERRUPTIBLE,
  TASK_UNINTERRUPTIBLE,
  wake_up_process,
} from '../../src/kernel/sched.js';
import { spin_lock, spin_unlock } from '../../src/kernel/spinlock.js';
import type { Task } from '../../src/kernel/task.js';
import { helloSleep } from '../../src/scenarios/basic.js';
import type { TraceEvent } from '../../src/trace/events.js';

// ---------------------------------------------------------------------------------------------
// Random task systems

type SysOp =
  | { readonly op: 'cpu'; readonly ns: number }
  | { readonly op: 'sleep'; readonly ns: number }
  | { readonly op: 'wake'; readonly task: number }
  | { readonly op: 'load'; readonly cell: number }
  | { readonly op: 'store'; readonly cell: number; readonly value: number };

const sysOp: fc.Arbitrary<SysOp> = fc.oneof(
  fc.record({ op: fc.constant('cpu' as const), ns: fc.integer({ min: 0, max: 5000 }) }),
  fc.record({ op: fc.constant('sleep' as const), ns: fc.integer({ min: 0, max: 5000 }) }),
  fc.record({ op: fc.constant('wake' as const), task: fc.nat({ max: 3 }) }),
  fc.record({ op: fc.constant('load' as const), cell: fc.nat({ max: 2 }) }),
  fc.record({ op: fc.constant('store' as const), cell: fc.nat({ max: 2 }), value: fc.nat({ max: 9 }) }),
);

const taskSystem = fc.record({
  cpus: fc.integer({ min: 1, max: 3 }),
  timed: fc.boolean(),
  memoryModel: fc.constantFrom(...MEMORY_MODELS),
  seed: fc.nat(),
  tasks: fc.array(fc.array(sysOp, { maxLength: 6 }), { minLength: 2, maxLength: 4 }),
});

function systemScenario(progs: readonly (readonly SysOp[])[]): Scenario {
  return {
    name: 'random-system',
    title: 'random task system',
    description: 'tasks doing costs, sleeps, wake-ups, loads and stores',
    setup(k) {
      const cells: Cell[] = [k.cell('c0'), k.cell('c1'), k.cell('c2')];
      const tasks: Task[] = [];
      const start = k.newObjectId();
      progs.forEach((prog, i) => {
        tasks.push(
          k.spawn(`t${i}`, function* () {
            // A first visible step: spawn() runs a task up to it, before the later tasks exist.
            yield* atomic(start, false, 'start', () => 0);
            for (const o of prog) {
              switch (o.op) {
                case 'cpu':
                  yield* cpu(o.ns);
                  break;
                case 'sleep':
                  yield* set_current_state(TASK_INTERRUPTIBLE);
                  yield* schedule_timeout(o.ns);
                  break;
                case 'wake':
                  yield* wake_up_process(tasks[o.task % tasks.length]!);
                  break;
                case 'load':
                  yield* READ_ONCE(cells[o.cell]!);
                  break;
                case 'store':
                  yield* WRITE_ONCE(cells[o.cell]!, o.value);
                  break;
              }
            }
          }),
        );
      });
      return { state: () => ({ c0: cells[0]!.value, c1: cells[1]!.value, c2: cells[2]!.value }) };
    },
  };
}

describe('determinism', () => {
  test.prop([taskSystem], { numRuns: 80 })(
    'the same seed gives byte-identical traces, and replaying the choices gives it again',
    ({ cpus, timed, memoryModel, seed, tasks }) => {
      const s = systemScenario(tasks);
      const config = { cpus, timed, memoryModel, trace: true };
      const a = runScenario(s, { seed, config, maxSteps: 5000 });
      const b = runScenario(s, { seed, config, maxSteps: 5000 });
      expect(a.status).toBe('done');
      const ta = JSON.stringify(a.events);
      expect(a.events.length).toBeGreaterThan(0);
      expect(JSON.stringify(b.events)).toBe(ta);
      expect(b.choices).toEqual(a.choices);
      expect(b.simTimeNs).toBe(a.simTimeNs);

      const chooser = replay(a.choices);
      const c = runScenario(s, { chooser, config, maxSteps: 5000 });
      expect(JSON.stringify(c.events)).toBe(ta);
      expect(c.choices).toEqual(a.choices);
      expect(chooser.overrun).toBe(false);
      expect(chooser.mismatch).toBe(-1);
      expect(chooser.used).toBe(a.choices.length);
    },
  );
});

// ---------------------------------------------------------------------------------------------
// Completeness of interleavings

describe('completeness of interleavings', () => {
  it('two CPUs running three visible steps each reach exactly the C(6,3) = 20 interleavings', () => {
    const run = (ints: readonly number[]) => {
      const k = new Kernel({ cpus: 2, memoryModel: 'sc', timed: false, trace: true }, fromArray(ints));
      const order: string[] = [];
      k.events.on('trace', (e: TraceEvent) => {
        if (e.kind === 'mem.load') order.push(e.cell);
      });
      const cells = ['a0', 'a1', 'a2', 'b0', 'b1', 'b2'].map((n) => k.cell(n));
      for (const [i, name] of ['A', 'B'].entries()) {
        k.spawn(
          name,
          function* () {
            for (let j = 0; j < 3; j++) yield* READ_ONCE(cells[3 * i + j]!);
          },
          { cpu: i, pinned: true },
        );
      }
      const r = k.run();
      expect(r.status).toBe('done');
      return { order, choices: r.choices.length };
    };
    // At most 5 of the 6 steps are choices (the last one is forced).
    const needed = 5;
    const seen = new Set<string>();
    for (let bits = 0; bits < 1 << needed; bits++) {
      const ints = Array.from({ length: needed }, (_, i) => (bits >> i) & 1);
      const { order, choices } = run(ints);
      expect(choices).toBeLessThanOrEqual(needed);
      expect(order).toHaveLength(6);
      // Program order within each task holds in every interleaving.
      expect(order.filter((c) => c.startsWith('a'))).toEqual(['a0', 'a1', 'a2']);
      expect(order.filter((c) => c.startsWith('b'))).toEqual(['b0', 'b1', 'b2']);
      seen.add(order.join(' '));
    }
    expect(seen.size).toBe(20);
  });
});

// ---------------------------------------------------------------------------------------------
// Timed behaviour

describe('timed runs', () => {
  it('schedule_timeout returns 0 when it times out, at exactly its expiry', () => {
    const k = new Kernel({ cpus: 1, timed: true });
    let left = -1;
    let at = -1;
    k.spawn('sleeper', function* () {
      yield* set_current_state(TASK_INTERRUPTIBLE);
      left = yield* schedule_timeout(10_000);
      at = k.now;
    });
    expect(k.run().status).toBe('done');
    expect(left).toBe(0);
    expect(at).toBe(10_000);
  });

  it('schedule_timeout returns the time left after an early wake-up, and the wake-up cancels its timer', () => {
    const k = new Kernel({ cpus: 2, timed: true });
    const left: number[] = [];
    const at: number[] = [];
    const sleeper = k.spawn(
      'sleeper',
      function* () {
        yield* set_current_state(TASK_INTERRUPTIBLE);
        left.push(yield* schedule_timeout(10_000));
        at.push(k.now);
        // If the first timer were still armed it would cut this sleep short at t = 10 us.
        yield* set_current_state(TASK_INTERRUPTIBLE);
        left.push(yield* schedule_timeout(100_000));
        at.push(k.now);
      },
      { cpu: 0 },
    );
    k.spawn(
      'waker',
      function* () {
        yield* cpu(4_000);
        yield* wake_up_process(sleeper);
      },
      { cpu: 1 },
    );
    const r = k.run();
    expect(r.status).toBe('done');
    expect(left).toEqual([6_000, 0]);
    expect(at).toEqual([4_000, 104_000]);
    expect(r.simTimeNs).toBe(104_000);
  });

  it('an interrupt cuts into a CPU cost at its time; the cost resumes after the handler', () => {
    const k = new Kernel({ cpus: 1, timed: true });
    let handlerStart = -1;
    let handlerEnd = -1;
    let taskEnd = -1;
    k.spawn('worker', function* () {
      yield* cpu(10_000);
      taskEnd = k.now;
    });
    k.after(3_000, 'device', () =>
      k.raise_irq(
        'dev',
        function* () {
          handlerStart = k.now;
          yield* cpu(2_000);
          handlerEnd = k.now;
        },
        0,
      ),
    );
    const r = k.run();
    expect(r.status).toBe('done');
    expect(handlerStart).toBe(3_000);
    expect(handlerEnd).toBe(5_000);
    expect(taskEnd).toBe(12_000);
    expect(r.simTimeNs).toBe(12_000);
  });

  it('hello-sleep ends at 3 ms with 7 ms left', () => {
    const r = runScenario(helloSleep, { seed: 1 });
    expect(r.status).toBe('done');
    expect(r.violations).toEqual([]);
    expect(r.simTimeNs).toBe(3_000_000);
    expect(r.state.left).toBe(7_000_000);
  });
});

// ---------------------------------------------------------------------------------------------
// Violations and hang reports

describe('violations', () => {
  it('sleeping in interrupt context is a bug violation that stops the run', () => {
    const k = new Kernel({ cpus: 1, timed: true });
    k.spawn('worker', function* () {
      yield* cpu(10_000);
    });
    k.after(1_000, 'device', () =>
      k.raise_irq('dev', function* () {
        yield* schedule('something');
      }),
    );
    const r = k.run();
    expect(r.status).toBe('violation');
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]!.kind).toBe('bug');
    expect(r.violations[0]!.message).toMatch(/scheduling while atomic: irq:dev on CPU0/);
  });

  it('a task exiting with a spinlock held is reported', () => {
    const k = new Kernel({ cpus: 1, timed: false });
    const l = k.spinlock('mylock');
    k.spawn('leaker', function* () {
      yield* spin_lock(l);
    });
    const r = k.run();
    const v = r.violations.filter((x) => x.kind === 'lock-validator');
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toMatch(/leaker ended holding 'mylock'/);
  });

  it('a hang report names the sleeping task, its state, what it waits on and since which step', () => {
    const k = new Kernel({ cpus: 2, timed: false });
    let sleepStep = -1;
    k.events.on('trace', (e: TraceEvent) => {
      if (e.kind === 'sched.sleep') sleepStep = e.step;
    });
    const x = k.cell('x');
    k.spawn('waiter', function* () {
      yield* READ_ONCE(x);
      yield* set_current_state(TASK_UNINTERRUPTIBLE);
      yield* schedule('the-event');
    });
    const r = k.run();
    expect(r.status).toBe('hang');
    expect(sleepStep).toBeGreaterThan(0);
    const v = r.violations.find((x) => x.kind === 'hang');
    expect(v).toBeDefined();
    expect(v!.message).toContain(
      `waiter (pid 1) sleeps in TASK_UNINTERRUPTIBLE on the-event since step ${sleepStep}`,
    );
  });

  it('a CPU spinning on a lock held by a sleeping task is reported as a hang naming the holder', () => {
    const k = new Kernel({ cpus: 2, timed: true });
    const l = k.spinlock('l');
    k.spawn(
      'holder',
      function* () {
        yield* spin_lock(l);
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        yield* schedule('forever');
      },
      { cpu: 0, pinned: true },
    );
    k.spawn(
      'spinner',
      function* () {
        yield* cpu(1_000);
        yield* spin_lock(l);
      },
      { cpu: 1, pinned: true },
    );
    const r = k.run();
    expect(r.status).toBe('hang');
    const hang = r.violations.find((v) => v.kind === 'hang')!;
    expect(hang.message).toMatch(/spinner \(pid 2\) spins on CPU1 for 'l', held by holder since step \d+/);
    expect(hang.message).toMatch(/holder \(pid 1\) sleeps in TASK_UNINTERRUPTIBLE on forever .*holding 'l'/);
    // Sleeping with the spinlock held is reported by the lock validator too.
    expect(
      r.violations.some(
        (v) => v.kind === 'lock-validator' && /sleeping with a spinlock held/.test(v.message),
      ),
    ).toBe(true);
    void spin_unlock;
  });
});

describe('timed events', () => {
  it('an event label ends with its number when one is given, as an untimed choice shows it', () => {
    // The label is built only when read: `after(delay, label, fn, background, id)`.
    const seen: string[] = [];
    const chooser = {
      // Takes the timer whenever it is offered.
      choose(
        _n: number,
        _why: string,
        point?: { actions: readonly { kind: string; label: string }[] },
      ): number {
        const actions = point?.actions ?? [];
        const i = actions.findIndex((a) => a.kind === 'timer');
        if (i >= 0) seen.push(actions[i]!.label);
        return Math.max(i, 0);
      },
    };
    const k = new Kernel({ cpus: 1, timed: false, trace: false }, chooser);
    const c = k.cell('c');
    let fired = 0;
    k.spawn('reader', function* () {
      while (fired < 2) yield* READ_ONCE(c);
    });
    k.after(5, 'sda req', () => fired++, false, 7);
    k.after(6, 'plain', () => fired++);
    k.run();
    expect(fired).toBe(2);
    expect(seen).toEqual(['event sda req 7', 'event plain']);
  });
});

describe('stats', () => {
  type StatOp =
    | { k: 'count'; name: number; n: number; handle: boolean; kern: number }
    | { k: 'set'; name: number; v: number; kern: number }
    | { k: 'read'; kern: number };
  const kern = fc.nat(1);
  const statOp: fc.Arbitrary<StatOp> = fc.oneof(
    fc.record({
      k: fc.constant('count' as const),
      name: fc.nat(2),
      n: fc.integer({ min: -3, max: 5 }),
      handle: fc.boolean(),
      kern,
    }),
    fc.record({ k: fc.constant('set' as const), name: fc.nat(2), v: fc.integer({ min: 0, max: 9 }), kern }),
    fc.record({ k: fc.constant('read' as const), kern }),
  );
  const names = ['a', 'b', 'c'];
  // Hot-path counters, shared by every kernel (each keeps its own counter per kernel).
  const handles = names.map((n) => counter(n));

  test.prop([fc.array(statOp, { maxLength: 40 }), fc.boolean()])(
    'count, counter handles, setStat and direct writes to stats add up in order, as on a plain record',
    (ops, direct) => {
      // `count` keeps its amounts aside until `stats` is read: whatever the interleaving of
      // counts (by name or through a handle, on two kernels), gauges (setStat, or a write through
      // `stats`) and reads, the figures are those a plain record per kernel would hold.
      const ks = [new Kernel({ cpus: 1 }), new Kernel({ cpus: 1 })];
      const models: Record<string, number>[] = [{}, {}];
      for (const op of ops) {
        const k = ks[op.kern]!;
        const model = models[op.kern]!;
        if (op.k === 'count') {
          const name = names[op.name]!;
          if (op.handle) k.add(handles[op.name]!(k), op.n);
          else k.count(name, op.n);
          model[name] = (model[name] ?? 0) + op.n;
        } else if (op.k === 'set') {
          const name = names[op.name]!;
          if (direct) k.stats[name] = op.v;
          else k.setStat(name, op.v);
          model[name] = op.v;
        } else {
          expect({ ...k.stats }).toEqual(model);
          expect(Object.keys(k.stats)).toEqual(Object.keys(model));
        }
      }
      for (let i = 0; i < ks.length; i++) {
        const k = ks[i]!;
        const model = models[i]!;
        expect({ ...k.stats }).toEqual(model);
        // Names keep the order of their first use (the run's JSON prints them in that order).
        expect(Object.keys(k.stats)).toEqual(Object.keys(model));
        expect(k.snapshotStats()).toEqual(model);
      }
    },
  );

  test.prop([fc.array(fc.integer({ min: -5, max: 5 }), { maxLength: 20 })])(
    'a gauge reads its state whenever stats is read; it takes its place when made and can be replaced',
    (changes) => {
      const k = new Kernel({ cpus: 1 });
      k.count('before');
      const state = { v: 3 };
      k.gauge('g', () => state.v);
      k.count('after');
      expect(Object.keys(k.stats)).toEqual(['before', 'g', 'after']);
      for (const d of changes) {
        state.v += d;
        expect(k.stats.g).toBe(state.v);
        expect(k.snapshotStats().g).toBe(state.v);
      }
      k.gauge('g', () => -state.v);
      expect(k.stats.g).toBe(-state.v);
      expect(Object.keys(k.stats)).toEqual(['before', 'g', 'after']);
    },
  );
});
