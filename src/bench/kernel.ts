/**
 * Benchmark group `kernel`: the `des` group's three models as kernel tasks on 2 CPUs of the
 * simulated kernel (timed, tracing off, lock validator off).
 *
 * One model time unit is `UNIT_NS` = 1 ms of simulated time. The kernel's clock counts whole
 * nanoseconds; at 1 unit = 1 µs, rounding Exp(1) sleeps to whole ns made most wake-ups tie with
 * another (1000 sleepers wake about once per ns), ties the float-time reference model never has
 * and that the kernel would hand to the Chooser as races. At 1 ms they are rare, and the model is
 * the same model.
 *
 * - `timeouts`: 1000 tasks, each `set_current_state(TASK_INTERRUPTIBLE)` +
 *   `schedule_timeout(Exp(mean 1 unit))` until time 2000 units (about 2M timeouts).
 * - `resource`: M/M/4 with a semaphore of count 4 as the resource: Poisson arrivals at rate 3.2
 *   per unit, Exp(1 unit) service, 500,000 customers, each a task that `down()`s, holds for its
 *   service time (`schedule_timeout`), and `up()`s. Also `meanWait` in units (Erlang C: 0.7455).
 * - `pingpong`: two tasks handing control to each other 1,000,000 times with
 *   `wake_up_process` + `schedule()`. Also `nsPerHandoff`.
 *
 * The tasks call the primitives through the trampoline (`yield f()`, see `KernelCode`), the
 * form for hot paths; `yield* f()` gives the same steps and trace, a little slower.
 */

import { seeded } from '../kernel/chooser.js';
import { Kernel } from '../kernel/kernel.js';
import type { KernelCode } from '../kernel/ops.js';
import { Xoshiro128 } from '../kernel/random.js';
import {
  schedule,
  schedule_timeout,
  set_current_state,
  TASK_INTERRUPTIBLE,
  TASK_UNINTERRUPTIBLE,
  wake_up_process,
} from '../kernel/sched.js';
import type { Task } from '../kernel/task.js';
import { down, type Semaphore, sema_init, up } from '../waitqueue/semaphore.js';
import { erlangCWait } from './des.js';
import type { BenchGroup, BenchModelResult, BenchOptions } from './types.js';
import { measure, result } from './types.js';

/** One model time unit, in simulated ns (1 ms). */
const UNIT_NS = 1_000_000;

const CONFIG = { cpus: 2, timed: true, trace: false, lockdep: false, memoryModel: 'sc' as const };

interface TimeoutsState {
  readonly rng: Xoshiro128;
  readonly until: number;
  count: number;
}

function* sleeper(k: Kernel, st: TimeoutsState): KernelCode<void> {
  const rng = st.rng;
  while (k.now < st.until) {
    yield set_current_state(TASK_INTERRUPTIBLE);
    yield schedule_timeout(Math.max(1, Math.round(rng.exp(UNIT_NS))));
    st.count++;
  }
}

function buildTimeouts(n: number, until: number): { k: Kernel; st: TimeoutsState } {
  const k = new Kernel(CONFIG, seeded(1));
  const st: TimeoutsState = { rng: new Xoshiro128(7), until, count: 0 };
  for (let i = 0; i < n; i++) k.spawn(`t${i}`, () => sleeper(k, st));
  return { k, st };
}

export interface MmcState {
  readonly rng: Xoshiro128;
  readonly sem: Semaphore;
  served: number;
  waitSum: number;
}

function* customer(k: Kernel, st: MmcState): KernelCode<void> {
  const arrived = k.now;
  yield down(st.sem);
  st.waitSum += k.now - arrived;
  yield set_current_state(TASK_UNINTERRUPTIBLE);
  yield schedule_timeout(Math.max(1, Math.round(st.rng.exp(UNIT_NS))));
  yield up(st.sem);
  st.served++;
}

function* source(k: Kernel, st: MmcState, customers: number): KernelCode<void> {
  for (let i = 0; i < customers; i++) {
    yield set_current_state(TASK_UNINTERRUPTIBLE);
    yield schedule_timeout(Math.max(1, Math.round(st.rng.exp(UNIT_NS / 3.2))));
    k.spawn('c', () => customer(k, st));
  }
}

/** The `resource` model with `customers` customers, built and not yet run (`cpus`: default 2). */
export function buildMmc(customers: number, cpus = CONFIG.cpus): { k: Kernel; st: MmcState } {
  const k = new Kernel({ ...CONFIG, cpus }, seeded(1));
  const st: MmcState = { rng: new Xoshiro128(11), sem: sema_init(k, 'server', 4), served: 0, waitSum: 0 };
  k.spawn('source', () => source(k, st, customers));
  return { k, st };
}

interface PingState {
  readonly rounds: number;
  handoffs: number;
  peer: Task[];
}

function* player(st: PingState, me: number): KernelCode<void> {
  // Trampolined calls (`yield f()`): each primitive's operation goes straight to the kernel.
  while (st.handoffs < st.rounds) {
    yield set_current_state(TASK_INTERRUPTIBLE);
    st.handoffs++;
    yield wake_up_process(st.peer[1 - me]!);
    if (st.handoffs >= st.rounds) break;
    yield schedule('pingpong');
  }
}

function buildPing(rounds: number): { k: Kernel; st: PingState } {
  // One CPU: every hand-off is a context switch.
  const k = new Kernel({ ...CONFIG, cpus: 1 }, seeded(1));
  const st: PingState = { rounds, handoffs: 0, peer: [] };
  st.peer.push(k.spawn('ping', () => player(st, 0)));
  st.peer.push(k.spawn('pong', () => player(st, 1)));
  return { k, st };
}

function timeouts(o: BenchOptions): BenchModelResult {
  const until = (o.quick ? 200 : 2000) * UNIT_NS;
  const m = measure(
    () => buildTimeouts(1000, until),
    (w) => {
      w.k.run({ until: until + 10 * UNIT_NS });
    },
  );
  return result(m, m.workload.st.count, 'timeout', { steps: m.workload.k.steps });
}

function resource(o: BenchOptions): BenchModelResult {
  const n = o.quick ? 50_000 : 500_000;
  const m = measure(
    () => buildMmc(n),
    (w) => {
      w.k.run();
    },
  );
  const st = m.workload.st;
  return result(m, st.served, 'customer', {
    meanWait: st.waitSum / Math.max(1, st.served) / UNIT_NS,
    erlangC: erlangCWait(3.2, 1, 4),
  });
}

function pingpong(o: BenchOptions): BenchModelResult {
  const rounds = o.quick ? 100_000 : 1_000_000;
  const m = measure(
    () => buildPing(rounds),
    (w) => {
      w.k.run();
    },
  );
  const n = m.workload.st.handoffs;
  return result(m, n, 'handoff', { nsPerHandoff: (m.runSec * 1e9) / Math.max(1, n) });
}

/** The `kernel` group. */
export const kernelGroup: BenchGroup = {
  name: 'kernel',
  models: { timeouts, resource, pingpong },
};
