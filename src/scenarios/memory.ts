/**
 * Memory-model scenarios: store buffering (SB) and message passing (MP), with and without
 * barriers. Each flags the relaxed outcome as an invariant violation, so `explore` reports
 * whether the model allows it.
 *
 *     SB:  CPU0                 CPU1              MP:  CPU0                 CPU1
 *          WRITE_ONCE(x, 1);    WRITE_ONCE(y, 1);      WRITE_ONCE(x, 1);    r0 = READ_ONCE(y);
 *          [smp_mb();]          [smp_mb();]            [smp_wmb();]         [smp_rmb();]
 *          r0 = READ_ONCE(y);   r1 = READ_ONCE(x);     WRITE_ONCE(y, 1);    r1 = READ_ONCE(x);
 *     relaxed: r0 == 0 && r1 == 0                 relaxed: r0 == 1 && r1 == 0
 */
import type { Scenario } from '../check/scenario.js';
import type { Cell } from '../kernel/cell.js';
import type { MemoryModel } from '../kernel/memory.js';
import { type KernelCode, READ_ONCE, smp_mb, smp_rmb, smp_wmb, WRITE_ONCE } from '../kernel/ops.js';

// Task bodies are module-level generator functions with parameters: a generator closure made
// afresh in every setup costs about a microsecond on its first run, and exploration runs setup
// once per execution.

/** SB's CPU i: store to `mine`, [smp_mb], load `other` into r[i]. */
function* storeThenLoad(mine: Cell, other: Cell, mb: boolean, r: number[], i: number): KernelCode<void> {
  yield* WRITE_ONCE(mine, 1);
  if (mb) yield* smp_mb();
  r[i] = yield* READ_ONCE(other);
}

/** MP's writer: data, [smp_wmb], flag. */
function* writer(x: Cell, y: Cell, wmb: boolean): KernelCode<void> {
  yield* WRITE_ONCE(x, 1);
  if (wmb) yield* smp_wmb();
  yield* WRITE_ONCE(y, 1);
}

/** MP's reader: flag into r[0], [smp_rmb], data into r[1]. */
function* reader(x: Cell, y: Cell, rmb: boolean, r: number[]): KernelCode<void> {
  r[0] = yield* READ_ONCE(y);
  if (rmb) yield* smp_rmb();
  r[1] = yield* READ_ONCE(x);
}

function sb(
  name: string,
  title: string,
  mb0: boolean,
  mb1: boolean,
  model: MemoryModel,
  expect: 'clean' | 'invariant',
  demoSeed = 1,
): Scenario {
  return {
    name,
    demoSeed,
    title,
    description:
      'Store buffering: each CPU stores to its own variable, then loads the other one. Under ' +
      'TSO both stores can still sit in the store buffers when the loads run, so both loads ' +
      'return 0 — unless smp_mb() drains the buffer between the store and the load on BOTH sides.',
    minCpus: 2,
    config: { cpus: 2, timed: false, memoryModel: model },
    expect,
    setup(k) {
      const x = k.cell('x');
      const y = k.cell('y');
      const r = [-1, -1];
      k.spawn('P0', () => storeThenLoad(x, y, mb0, r, 0), { cpu: 0, pinned: true });
      k.spawn('P1', () => storeThenLoad(y, x, mb1, r, 1), { cpu: 1, pinned: true });
      return {
        final: () => (r[0] === 0 && r[1] === 0 ? 'store buffering observed: r0 == 0 && r1 == 0' : undefined),
        state: () => ({ r0: r[0]!, r1: r[1]! }),
      };
    },
  };
}

function mp(
  name: string,
  title: string,
  wmb: boolean,
  rmb: boolean,
  model: MemoryModel,
  expect: 'clean' | 'invariant',
  demoSeed = 1,
): Scenario {
  return {
    name,
    demoSeed,
    title,
    description:
      'Message passing: CPU0 writes the data x then the flag y; CPU1 reads the flag then the ' +
      'data. Seeing the flag without the data needs stores to drain out of order (PSO: fixed by ' +
      'smp_wmb) or a stale read of x (invq: fixed by smp_rmb as well).',
    minCpus: 2,
    config: { cpus: 2, timed: false, memoryModel: model },
    expect,
    setup(k) {
      const x = k.cell('x');
      const y = k.cell('y');
      const r = [-1, -1];
      k.spawn('P0', () => writer(x, y, wmb), { cpu: 0, pinned: true });
      k.spawn('P1', () => reader(x, y, rmb, r), { cpu: 1, pinned: true });
      const r0 = (): number => r[0]!;
      const r1 = (): number => r[1]!;
      return {
        final: () =>
          r0() === 1 && r1() === 0
            ? 'message passing broken: saw the flag (r0 == 1) but not the data (r1 == 0)'
            : undefined,
        state: () => ({ r0: r0(), r1: r1() }),
      };
    },
  };
}

export const sbScenario: Scenario = sb(
  'sb',
  'store buffering, no barriers (tso: r0 == r1 == 0 is reachable)',
  false,
  false,
  'tso',
  'invariant',
  4,
);
export const sbMb: Scenario = sb(
  'sb-mb',
  'store buffering with smp_mb() on both CPUs (never r0 == r1 == 0)',
  true,
  true,
  'tso',
  'clean',
);
export const sbMbOne: Scenario = sb(
  'sb-mb-one',
  'store buffering with smp_mb() on CPU0 only (still reachable)',
  true,
  false,
  'tso',
  'invariant',
  62,
);
export const mpScenario: Scenario = mp(
  'mp',
  'message passing, no barriers (reachable under pso and invq)',
  false,
  false,
  'pso',
  'invariant',
  21,
);
export const mpWmbRmb: Scenario = mp(
  'mp-wmb-rmb',
  'message passing with smp_wmb() + smp_rmb() (never, in any model)',
  true,
  true,
  'invq',
  'clean',
);
export const mpWmb: Scenario = mp(
  'mp-wmb',
  'message passing with smp_wmb() only (reachable under invq alone)',
  true,
  false,
  'invq',
  'invariant',
  29,
);
