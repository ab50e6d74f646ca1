/**
 * Signals (issue 2): a pending signal wakes a TASK_INTERRUPTIBLE sleeper but not an
 * uninterruptible one, stops an interruptible sleep before it starts, and makes
 * `down_interruptible` give up with -EINTR.
 *
 * Reused iterators: each context re-arms its own finished iterator of the hot primitives
 * (set_current_state, schedule, wake_up_process, schedule_timeout); iterators created ahead of
 * use, and driven in any order, still do what each call asked.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { EINTR } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { cpu, type KernelCode } from '../../src/kernel/ops.js';
import {
  current,
  MAX_SCHEDULE_TIMEOUT,
  schedule,
  schedule_timeout,
  send_sig,
  set_current_state,
  signal_pending,
  TASK_INTERRUPTIBLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  wake_up_process,
} from '../../src/kernel/sched.js';
import type { Task } from '../../src/kernel/task.js';
import { down_interruptible, sema_init, up } from '../../src/waitqueue/semaphore.js';

/** A task on CPU 1 that sends `victim` a signal after `ns` of CPU time. */
function spawnKiller(k: Kernel, victim: Task, ns: number): void {
  k.spawn(
    'killer',
    function* () {
      yield* cpu(ns);
      yield* send_sig(victim);
    },
    { cpu: 1 },
  );
}

describe('signals', () => {
  it('send_sig wakes a TASK_INTERRUPTIBLE sleeper, which sees the signal pending', () => {
    const k = new Kernel({ cpus: 2, timed: true });
    let pending = false;
    let left = -1;
    let at = -1;
    const sleeper = k.spawn(
      'sleeper',
      function* () {
        yield* set_current_state(TASK_INTERRUPTIBLE);
        left = yield* schedule_timeout(50_000);
        at = k.now;
        pending = signal_pending(current());
      },
      { cpu: 0 },
    );
    spawnKiller(k, sleeper, 2_000);
    const r = k.run();
    expect(r.status).toBe('done');
    expect(pending).toBe(true);
    expect(at).toBe(2_000);
    expect(left).toBe(48_000);
    expect(sleeper.state.value).not.toBe(TASK_INTERRUPTIBLE);
  });

  it('an interruptible sleep with a signal already pending does not sleep', () => {
    const k = new Kernel({ cpus: 1, timed: true });
    let slept = false;
    k.events.on('trace', (e) => {
      if (e.kind === 'sched.sleep') slept = true;
    });
    let ret = -1;
    k.spawn('t', function* () {
      current().sigpending = true;
      yield* set_current_state(TASK_INTERRUPTIBLE);
      ret = yield* schedule_timeout(MAX_SCHEDULE_TIMEOUT);
      expect(current().state.value).toBe(TASK_RUNNING);
    });
    expect(k.run().status).toBe('done');
    expect(slept).toBe(false);
    expect(ret).toBe(MAX_SCHEDULE_TIMEOUT);
  });

  it('send_sig does not wake a TASK_UNINTERRUPTIBLE sleeper (the run hangs)', () => {
    const k = new Kernel({ cpus: 2, timed: true });
    const sleeper = k.spawn(
      'sleeper',
      function* () {
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        yield* schedule('disk');
      },
      { cpu: 0 },
    );
    spawnKiller(k, sleeper, 2_000);
    const r = k.run();
    expect(r.status).toBe('hang');
    expect(sleeper.sigpending).toBe(true);
    expect(r.violations[0]!.message).toMatch(/sleeper \(pid 1\) sleeps in TASK_UNINTERRUPTIBLE on disk/);
  });

  it('down_interruptible returns -EINTR when a signal arrives while it waits', () => {
    const k = new Kernel({ cpus: 2, timed: true });
    const sem = sema_init(k, 'sem', 0);
    let ret = 1;
    let at = -1;
    const waiter = k.spawn(
      'waiter',
      function* () {
        ret = yield* down_interruptible(sem);
        at = k.now;
      },
      { cpu: 0 },
    );
    spawnKiller(k, waiter, 5_000);
    const r = k.run();
    expect(r.status).toBe('done');
    expect(ret).toBe(-EINTR);
    expect(ret).toBe(-4);
    expect(at).toBe(5_000);
    expect(sem.count).toBe(0);
    expect(sem.holders).toEqual([]);
  });

  it('down_interruptible returns 0 when up() comes first', () => {
    const k = new Kernel({ cpus: 2, timed: true });
    const sem = sema_init(k, 'sem', 0);
    let ret = 1;
    k.spawn(
      'waiter',
      function* () {
        ret = yield* down_interruptible(sem);
      },
      { cpu: 0 },
    );
    k.spawn(
      'upper',
      function* () {
        yield* cpu(5_000);
        yield* up(sem);
      },
      { cpu: 1 },
    );
    expect(k.run().status).toBe('done');
    expect(ret).toBe(0);
    expect(sem.count).toBe(0);
    expect(sem.holders).toEqual(['waiter']);
  });
});

describe('reused iterators of the hot primitives', () => {
  test.prop(
    [
      fc.array(fc.array(fc.integer({ min: 0, max: 2 }), { minLength: 1, maxLength: 4 }), {
        minLength: 1,
        maxLength: 5,
      }),
      fc.array(fc.nat(), { minLength: 4, maxLength: 4 }),
    ],
    { numRuns: 60 },
  )('wake_up_process iterators made ahead of use wake their own targets, in any order', (batches, rot) => {
    // One CPU: a woken sleeper runs only when the waker yields, so each batch's outcome is known.
    const k = new Kernel({ cpus: 1, timed: false });
    const sleepers: Task[] = [];
    const woken = [0, 0, 0];
    for (let i = 0; i < 3; i++) {
      sleepers.push(
        k.spawn(
          `s${i}`,
          function* () {
            for (;;) {
              yield* set_current_state(TASK_INTERRUPTIBLE);
              yield* schedule(`s${i}`);
              woken[i]!++;
            }
          },
          { daemon: true },
        ),
      );
    }
    const got: number[] = [];
    const want: number[] = [];
    k.spawn('waker', function* () {
      for (const batch of batches) {
        // Let every sleeper go back to sleep, so that each batch starts from all asleep.
        for (let r = 0; r < 8; r++) yield* schedule('');
        const its: [number, KernelCode<number>][] = batch.map((t) => [t, wake_up_process(sleepers[t]!)]);
        const shift = rot[got.length % rot.length]! % its.length;
        const order = [...its.slice(shift), ...its.slice(0, shift)];
        const seen = new Set<number>();
        for (const [t, it] of order) {
          got.push(yield* it);
          want.push(seen.has(t) ? 0 : 1);
          seen.add(t);
        }
      }
      for (let r = 0; r < 8; r++) yield* schedule('');
    });
    const r = k.run({ maxSteps: 100_000 });
    expect(r.status).toBe('done');
    expect(got).toEqual(want);
    expect(woken.reduce((a, b) => a + b, 0)).toBe(want.reduce((a, b) => a + b, 0));
  });

  test.prop([fc.array(fc.integer({ min: 1, max: 5_000 }), { minLength: 1, maxLength: 6 })], { numRuns: 40 })(
    'schedule_timeout iterators made ahead of use each sleep their own time',
    (sleeps) => {
      const k = new Kernel({ cpus: 1, timed: true });
      const slept: number[] = [];
      k.spawn('t', function* () {
        const its = sleeps.map((ns) => schedule_timeout(ns));
        for (const it of its) {
          const t0 = k.now;
          yield* set_current_state(TASK_UNINTERRUPTIBLE);
          const left = yield* it;
          expect(left).toBe(0);
          slept.push(k.now - t0);
        }
        // And the re-armed one, after them.
        const t0 = k.now;
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        yield* schedule_timeout(7);
        slept.push(k.now - t0);
      });
      expect(k.run().status).toBe('done');
      expect(slept).toEqual([...sleeps, 7]);
    },
  );

  it('a timer cancelled by an early wake-up is not re-armed while it is still on the heap', () => {
    const k = new Kernel({ cpus: 2, timed: true });
    const log: [number, number][] = [];
    const a = k.spawn(
      'a',
      function* () {
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        log.push([yield* schedule_timeout(1_000), k.now]); // woken at 100: 900 left
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        log.push([yield* schedule_timeout(2_000), k.now]); // the stale 1000 event must not end it
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        log.push([yield* schedule_timeout(50), k.now]); // the fired timer, armed again
      },
      { cpu: 0 },
    );
    k.spawn(
      'b',
      function* () {
        yield* cpu(100);
        yield* wake_up_process(a);
      },
      { cpu: 1 },
    );
    expect(k.run().status).toBe('done');
    expect(log).toEqual([
      [900, 100],
      [0, 2_100],
      [0, 2_150],
    ]);
  });

  it('a primitive iterator is its own result, and a finished one is re-armed for the next call', () => {
    const k = new Kernel({ cpus: 1, timed: false });
    const seen: unknown[] = [];
    k.spawn('t', function* () {
      const a = set_current_state(TASK_RUNNING);
      const b = set_current_state(TASK_RUNNING);
      seen.push(a === b); // a is not finished yet: b is a new one
      yield* a;
      yield* b;
      seen.push(set_current_state(TASK_RUNNING) === b); // b (the cached one) is finished: re-armed
      const r1 = a.next();
      seen.push(r1.done, r1.value === undefined);
    });
    expect(k.run().status).toBe('done');
    expect(seen).toEqual([false, true, true, true]);
  });
});
