/**
 * The task list (src/kernel/tasklist.ts): `Kernel.tasks` holds the tasks that have not exited,
 * in pid order, whatever order they exit in; `taskNames()` names every task ever spawned, also
 * those spawned by tasks, as the run's report and trace metadata need.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { cpu } from '../../src/kernel/ops.js';
import { schedule_timeout, set_current_state, TASK_UNINTERRUPTIBLE } from '../../src/kernel/sched.js';
import type { Task } from '../../src/kernel/task.js';

/** A task to spawn: its name, how long it lives, and the tasks it spawns before it exits. */
interface Spec {
  readonly name: string;
  readonly sleepNs: number;
  readonly children: readonly Spec[];
}

/** Specs nested at most `depth` levels deep. */
function spec(depth: number): fc.Arbitrary<Spec> {
  return fc.record({
    name: fc.constantFrom('a', 'b', 'c'),
    sleepNs: fc.integer({ min: 0, max: 50 }),
    children: depth === 0 ? fc.constant([]) : fc.array(spec(depth - 1), { maxLength: 3 }),
  });
}

describe('task list', () => {
  test.prop(
    [
      fc.array(spec(2), { minLength: 1, maxLength: 6 }),
      fc.integer({ min: 1, max: 3 }),
      fc.nat(),
      fc.integer({ min: 1, max: 60 }),
    ],
    {
      numRuns: 150,
    },
  )('lists the live tasks in pid order and names every task', (roots, cpus, seed, every) => {
    const k = new Kernel({ cpus, timed: true, trace: false, lockdep: false }, seeded(seed));
    const spawned: Task[] = [];
    const start = (s: Spec): void => {
      spawned.push(k.spawn(s.name, () => body(s)));
    };
    function* body(s: Spec): KernelCode<void> {
      yield* cpu(1);
      for (const c of s.children) start(c);
      if (s.sleepNs > 0) {
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        yield* schedule_timeout(s.sleepNs);
      }
    }
    for (const r of roots) start(r);
    // Read every `every` steps: in between, exited tasks pile up unread as they do in a run.
    let step = 0;
    k.stepChecks.push(() => {
      if (++step % every !== 0) return undefined;
      const live = spawned.filter((t) => !t.exited);
      const listed = k.tasks;
      if (listed.length !== live.length || listed.some((t, i) => t !== live[i]))
        return `tasks [${listed.map((t) => t.id)}], live [${live.map((t) => t.id)}]`;
      return undefined;
    });
    const r = k.run();
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('done');
    expect(k.tasks).toEqual([]);
    expect(k.taskNames()).toEqual(spawned.map((t) => ({ pid: t.id, name: t.name })));
  });
});
