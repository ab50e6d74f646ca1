/**
 * First scenarios: `hello-sleep` (a timed sleep cut short by a wake-up) and `lost-update`
 * (two unsynchronised read-modify-write increments).
 */
import type { Scenario } from '../check/scenario.js';
import type { Cell } from '../kernel/cell.js';
import { cpu, type KernelCode, note, READ_ONCE, WRITE_ONCE } from '../kernel/ops.js';
import { schedule_timeout, set_current_state, TASK_INTERRUPTIBLE, wake_up_process } from '../kernel/sched.js';

/** Two tasks: one sleeps for 10 ms with schedule_timeout, the other wakes it after 3 ms. */
export const helloSleep: Scenario = {
  name: 'hello-sleep',
  title: 'a task sleeps with schedule_timeout(10ms); another wakes it early after 3ms of work',
  description:
    'The smallest tour of the machine: `sleeper` sets TASK_INTERRUPTIBLE and calls ' +
    'schedule_timeout(10 ms); `waker` burns 3 ms of CPU on the other CPU and calls ' +
    'wake_up_process(sleeper), so the sleeper returns with 7 ms left and its timer is cancelled.',
  minCpus: 2,
  config: { cpus: 2, timed: true },
  expect: 'clean',
  setup(k) {
    let left = -1;
    const sleeper = k.spawn(
      'sleeper',
      function* () {
        yield* note('sleeper: set_current_state(TASK_INTERRUPTIBLE); schedule_timeout(10ms)');
        yield* set_current_state(TASK_INTERRUPTIBLE);
        left = yield* schedule_timeout(10_000_000);
        yield* note(`sleeper: woken with ${left / 1e6} ms left`);
      },
      { cpu: 0 },
    );
    k.spawn(
      'waker',
      function* () {
        yield* note('waker: 3ms of work');
        yield* cpu(3_000_000);
        yield* note('waker: wake_up_process(sleeper)');
        yield* wake_up_process(sleeper);
      },
      { cpu: 1 },
    );
    return {
      final: () =>
        left === 7_000_000 ? undefined : `sleeper returned with ${left} ns left, expected 7000000`,
      state: () => ({ left }),
    };
  },
};

/** x = READ_ONCE(x) + 1, without a lock (module-level: no generator closure per run). */
function* increment(x: Cell): KernelCode<void> {
  const v = yield* READ_ONCE(x);
  yield* WRITE_ONCE(x, v + 1);
}

/** Two tasks each do x = READ_ONCE(x) + 1 without a lock: an update can be lost. */
export const lostUpdate: Scenario = {
  name: 'lost-update',
  title: 'two unlocked increments (READ_ONCE then WRITE_ONCE): one update is lost',
  description:
    'Each task reads x and writes back x+1. If both read before either writes, x ends at 1, ' +
    'not 2. One preemption between a read and its write is enough; the explorer finds it and ' +
    'shrinks the schedule to that single preemption.',
  minCpus: 2,
  config: { cpus: 2, timed: false, memoryModel: 'sc' },
  expect: 'invariant',
  setup(k) {
    const x = k.cell('x', 0);
    for (const name of ['inc0', 'inc1']) {
      k.spawn(name, () => increment(x), { cpu: name === 'inc0' ? 0 : 1, pinned: true });
    }
    return {
      final: () =>
        x.value === 2 ? undefined : `lost update: x = ${x.value} after two increments (expected 2)`,
      state: () => ({ x: x.value }),
    };
  },
};
