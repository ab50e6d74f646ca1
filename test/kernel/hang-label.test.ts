import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import type { Scenario } from '../../src/check/scenario.js';
import { schedule, set_current_state, TASK_UNINTERRUPTIBLE } from '../../src/kernel/sched.js';
import { spin_lock, spin_unlock } from '../../src/kernel/spinlock.js';

// A hang report names the lock a task is stuck in front of, whether or not a strategy ever
// asked for the pending operation's label.
function sleeperHoldingLock(timed: boolean, memoryModel: 'sc' | 'tso'): Scenario {
  return {
    name: 'sleep-holding-lock',
    title: 'a task sleeps holding a spinlock another CPU wants',
    description: 'A takes dev.lock and sleeps forever; B spins for it',
    config: { cpus: 2, timed, memoryModel },
    setup(k) {
      const l = k.spinlock('dev.lock');
      k.spawn(
        'A',
        function* () {
          yield* spin_lock(l);
          yield* set_current_state(TASK_UNINTERRUPTIBLE);
          yield* schedule('forever');
          yield* spin_unlock(l);
        },
        { cpu: 0 },
      );
      k.spawn(
        'B',
        function* () {
          yield* spin_lock(l);
          yield* spin_unlock(l);
        },
        { cpu: 1 },
      );
      return {};
    },
  };
}

describe('the hang report', () => {
  for (const timed of [true, false])
    for (const mm of ['sc', 'tso'] as const)
      it(`names the lock a spinning task waits for (${timed ? 'timed' : 'untimed'}, ${mm})`, () => {
        const r = runScenario(sleeperHoldingLock(timed, mm), { seed: 1 });
        const hang = r.violations.find((v) => v.kind === 'hang');
        expect(hang?.message).toMatch(/B \(pid 2\) spins on CPU1 for 'dev\.lock', held by A since step \d+/);
        expect(hang?.message).not.toContain("''");
      });
});
