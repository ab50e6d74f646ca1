/**
 * Signals (issue 2): a pending signal wakes a TASK_INTERRUPTIBLE sleeper but not an
 * uninterruptible one, stops an interruptible sleep before it starts, and makes
 * `down_interruptible` give up with -EINTR.
 */
import { describe, expect, it } from 'vitest';
import { EINTR } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { cpu } from '../../src/kernel/ops.js';
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
} from '../../src/kernel/sched.js';
import { down_interruptible, sema_init, up } from '../../src/waitqueue/semaphore.js';

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
    k.spawn(
      'killer',
      function* () {
        yield* cpu(2_000);
        yield* send_sig(sleeper);
      },
      { cpu: 1 },
    );
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
    k.spawn(
      'killer',
      function* () {
        yield* cpu(2_000);
        yield* send_sig(sleeper);
      },
      { cpu: 1 },
    );
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
    k.spawn(
      'killer',
      function* () {
        yield* cpu(5_000);
        yield* send_sig(waiter);
      },
      { cpu: 1 },
    );
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
