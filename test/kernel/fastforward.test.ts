import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import type { Scenario } from '../../src/check/scenario.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { cpu, local_irq_disable, local_irq_enable, READ_ONCE, WRITE_ONCE } from '../../src/kernel/ops.js';
import {
  schedule_timeout,
  set_current_state,
  TASK_INTERRUPTIBLE,
  wake_up_process,
} from '../../src/kernel/sched.js';
import { spin_lock, spin_unlock } from '../../src/kernel/spinlock.js';
import type { Task } from '../../src/kernel/task.js';
import { findScenario } from '../../src/scenarios/index.js';
import { down, sema_init, up } from '../../src/waitqueue/semaphore.js';

// Fast-forward runs forced moves inside the kernel instead of going round the step loop. It
// must be invisible: the same steps, the same trace, the same final state.

type Act =
  | { k: 'cost'; ns: number }
  | { k: 'load'; c: number }
  | { k: 'store'; c: number; v: number }
  | { k: 'lock' }
  | { k: 'sleep'; ns: number }
  | { k: 'wake'; t: number }
  | { k: 'sem' }
  | { k: 'irq'; cpu: number; ns: number }
  | { k: 'timer-irq'; cpu: number; after: number; ns: number };

const act: fc.Arbitrary<Act> = fc.oneof(
  fc.record({
    k: fc.constant('cost' as const),
    ns: fc.oneof(fc.constantFrom(100, 200, 1000), fc.integer({ min: 0, max: 5000 })),
  }),
  fc.record({ k: fc.constant('load' as const), c: fc.nat(2) }),
  fc.record({ k: fc.constant('store' as const), c: fc.nat(2), v: fc.nat(9) }),
  fc.record({ k: fc.constant('lock' as const) }),
  fc.record({ k: fc.constant('sleep' as const), ns: fc.integer({ min: 1, max: 8000 }) }),
  fc.record({ k: fc.constant('wake' as const), t: fc.nat(3) }),
  fc.record({ k: fc.constant('sem' as const) }),
  // Interrupts, often of zero length, raised with interrupts off (taken at the next cost
  // boundary) or from a timer that may come due exactly where a cost ends.
  fc.record({ k: fc.constant('irq' as const), cpu: fc.nat(2), ns: fc.constantFrom(0, 0, 50, 300) }),
  fc.record({
    k: fc.constant('timer-irq' as const),
    cpu: fc.nat(2),
    after: fc.constantFrom(0, 100, 200, 1000, 5000),
    ns: fc.constantFrom(0, 0, 100),
  }),
);

function* handler(ns: number): KernelCode<void> {
  if (ns > 0) yield* cpu(ns);
}

function scenarioOf(cpus: number, programs: Act[][]): Scenario {
  return {
    name: 'ff',
    title: 'fast-forward check',
    description: 'random timed task system',
    config: { cpus, timed: true, memoryModel: 'sc' },
    setup(k) {
      const cells = [k.cell('c0'), k.cell('c1'), k.cell('c2')];
      const lock = k.spinlock('l');
      const sem = sema_init(k, 's', 1);
      const tasks: Task[] = [];
      const seen: number[] = [];
      programs.forEach((prog, i) => {
        tasks.push(
          k.spawn(`t${i}`, function* (): KernelCode<void> {
            for (const a of prog) {
              switch (a.k) {
                case 'cost':
                  yield* cpu(a.ns);
                  break;
                case 'load':
                  seen.push(yield* READ_ONCE(cells[a.c]!));
                  break;
                case 'store':
                  yield* WRITE_ONCE(cells[a.c]!, a.v);
                  break;
                case 'lock':
                  yield* spin_lock(lock);
                  yield* cpu(100);
                  yield* spin_unlock(lock);
                  break;
                case 'sleep':
                  yield* set_current_state(TASK_INTERRUPTIBLE);
                  yield* schedule_timeout(a.ns);
                  break;
                case 'wake': {
                  const t = tasks[a.t % tasks.length];
                  if (t !== undefined) yield* wake_up_process(t);
                  break;
                }
                case 'sem':
                  yield* down(sem);
                  yield* cpu(200);
                  yield* up(sem);
                  break;
                case 'irq':
                  yield* local_irq_disable();
                  k.raise_irq('dev', () => handler(a.ns), a.cpu % cpus);
                  yield* local_irq_enable();
                  break;
                case 'timer-irq':
                  k.after(a.after, 'timer', () => k.raise_irq('timer', () => handler(a.ns), a.cpu % cpus));
                  break;
              }
            }
          }),
        );
      });
      return { state: () => ({ seen: seen.join(','), c: cells.map((c) => c.value).join(',') }) };
    },
  };
}

function both(s: Scenario, seed: number, limits: { maxSteps?: number; until?: number } = {}) {
  const run = (fastForward: boolean) => {
    const r = runScenario(s, {
      seed,
      config: { fastForward, trace: true },
      keepTrace: true,
      maxSteps: limits.maxSteps ?? 20_000,
      ...(limits.until === undefined ? {} : { until: limits.until }),
    });
    return {
      status: r.status,
      steps: r.steps,
      t: r.simTimeNs,
      state: r.state,
      trace: r.events.map((e) => JSON.stringify(e)),
    };
  };
  return { on: run(true), off: run(false) };
}

describe('fast-forward', () => {
  test.prop(
    [
      fc.integer({ min: 1, max: 3 }),
      fc.array(fc.array(act, { maxLength: 8 }), { minLength: 1, maxLength: 4 }),
      fc.nat(1000),
    ],
    {
      numRuns: 80,
      examples: [
        // A task woken onto an idle CPU runs to its end while the step loop collects actions;
        // the run must end there, not wait out an interrupt handler's cost on another CPU.
        [
          2,
          [
            [
              { k: 'cost', ns: 201 },
              { k: 'timer-irq', cpu: 1, after: 1000, ns: 100 },
            ],
            [
              { k: 'sem' },
              { k: 'irq', cpu: 0, ns: 300 },
              { k: 'sem' },
              { k: 'sleep', ns: 1102 },
              { k: 'store', c: 0, v: 0 },
            ],
            [],
          ],
          0,
        ],
        // A task woken while its CPU runs an interrupt handler is queued there; an idle CPU
        // steals it at once, so the waker's next operations are no forced moves.
        [3, [[{ k: 'sem' }], [{ k: 'timer-irq', cpu: 1, after: 200, ns: 100 }, { k: 'sem' }]], 0],
      ],
    },
  )('gives the same steps, trace and state as the step loop', (cpus, programs, seed) => {
    const { on, off } = both(scenarioOf(cpus, programs), seed);
    expect(on.status).toBe(off.status);
    expect(on.steps).toBe(off.steps);
    expect(on.t).toBe(off.t);
    expect(on.state).toEqual(off.state);
    expect(on.trace).toEqual(off.trace);
  });

  test.prop(
    [
      fc.integer({ min: 1, max: 3 }),
      fc.array(fc.array(act, { minLength: 1, maxLength: 8 }), { minLength: 1, maxLength: 4 }),
      fc.nat(1000),
      fc.integer({ min: 1, max: 30 }),
      fc.integer({ min: 0, max: 20_000 }),
    ],
    { numRuns: 80 },
  )(
    'stops at the same step and time under a step budget or a time limit',
    (cpus, programs, seed, maxSteps, until) => {
      // A cost the fast path skips over must not carry the clock past `until`, nor run past the budget.
      const { on, off } = both(scenarioOf(cpus, programs), seed, { maxSteps, until });
      expect(on.status).toBe(off.status);
      expect(on.steps).toBe(off.steps);
      expect(on.t).toBe(off.t);
      expect(on.state).toEqual(off.state);
      expect(on.trace).toEqual(off.trace);
    },
  );

  it('matches on the catalogue scenarios that run timed under sc', () => {
    for (const name of ['hello-sleep', 'wtd-vs-threads', 'aio-ring-full', 'pagecache-read', 'odsync-write']) {
      const s = findScenario(name)!;
      const { on, off } = both(s, 1);
      expect(on.trace.length, name).toBeGreaterThan(0);
      expect(on.steps, name).toBe(off.steps);
      expect(on.trace, name).toEqual(off.trace);
    }
  });
});
