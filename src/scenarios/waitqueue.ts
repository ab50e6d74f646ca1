/**
 * Wait-queue scenarios: the `waitqueue_active()` lost wake-up and its fixes, 2.4's racy
 * `sleep_on`, who an exclusive wake-up wakes, and a func callback that inverts lock order.
 *
 *     CPU0 - waker                          CPU1 - waiter
 *     WRITE_ONCE(cond, 1);                  prepare_to_wait(&wq, &wait, TASK_UNINTERRUPTIBLE);
 *     [fix: smp_mb();]                        // adds wait, set_current_state: smp_mb()
 *     if (waitqueue_active(&wq))            if (!READ_ONCE(cond))
 *             wake_up(&wq);                         schedule();
 *                                           finish_wait(&wq, &wait);
 *
 * The lost wake-up needs the waker's store to `cond` to wait in its store buffer while it
 * reads an empty queue (store→load reordering): TSO allows it, SC does not, and `smp_wmb()`
 * (which orders stores against stores) does not forbid it.
 */
import type { Scenario } from '../check/scenario.js';
import type { MemoryModel } from '../kernel/memory.js';
import { atomic, note, READ_ONCE, smp_mb, smp_wmb, WRITE_ONCE } from '../kernel/ops.js';
import { schedule, TASK_UNINTERRUPTIBLE } from '../kernel/sched.js';
import { spin_lock, spin_unlock } from '../kernel/spinlock.js';
import type { Task } from '../kernel/task.js';
import {
  add_wait_queue,
  add_wait_queue_exclusive,
  DEFINE_WAIT,
  finish_wait,
  init_waitqueue_func_entry,
  init_waitqueue_head,
  prepare_to_wait,
  prepare_to_wait_exclusive,
  sleep_on,
  WaitQueueEntry,
  waitqueue_active,
  wake_up,
  wake_up_all,
  wake_up_nr,
  wq_has_sleeper,
} from '../waitqueue/waitqueue.js';

type WakerCheck = 'active' | 'mb' | 'has-sleeper' | 'wmb';

function wqRace(
  name: string,
  title: string,
  check: WakerCheck,
  model: MemoryModel,
  expect: 'clean' | 'hang',
  extra: string,
): Scenario {
  return {
    name,
    title,
    description:
      'A waker sets `cond` and wakes the wait queue only if `waitqueue_active()` says someone ' +
      'waits; a waiter queues itself with prepare_to_wait() (whose set_current_state() has a ' +
      `full barrier), re-checks cond, and sleeps. ${extra}`,
    minCpus: 2,
    config: { cpus: 2, timed: false, memoryModel: model },
    expect,
    demoSeed: 90,
    setup(k) {
      const cond = k.cell('cond', 0);
      const wq = init_waitqueue_head(k, 'wq');
      let woke = false;
      k.spawn(
        'waker',
        function* () {
          yield* note('waker: cond = 1');
          yield* WRITE_ONCE(cond, 1);
          let active: boolean;
          if (check === 'mb') {
            yield* note('waker: smp_mb()');
            yield* smp_mb();
            active = yield* waitqueue_active(wq);
          } else if (check === 'wmb') {
            yield* note('waker: smp_wmb()');
            yield* smp_wmb();
            active = yield* waitqueue_active(wq);
          } else if (check === 'has-sleeper') {
            active = yield* wq_has_sleeper(wq);
          } else {
            active = yield* waitqueue_active(wq);
          }
          yield* note(
            `waker: ${check === 'has-sleeper' ? 'wq_has_sleeper' : 'waitqueue_active'}(wq) = ${active}`,
          );
          if (active) yield* wake_up(wq);
        },
        { cpu: 0, pinned: true },
      );
      k.spawn(
        'waiter',
        function* () {
          const wait = DEFINE_WAIT('wait');
          for (;;) {
            yield* prepare_to_wait(wq, wait, TASK_UNINTERRUPTIBLE);
            const c = yield* READ_ONCE(cond);
            yield* note(`waiter: cond = ${c}`);
            if (c !== 0) break;
            yield* schedule('wq:wq');
          }
          yield* finish_wait(wq, wait);
          woke = true;
        },
        { cpu: 1, pinned: true },
      );
      return { state: () => ({ woke }) };
    },
  };
}

export const wqActiveRace: Scenario = wqRace(
  'wq-active-race',
  'waker: cond = 1; if (waitqueue_active(wq)) wake_up(wq) — a lost wake-up under tso',
  'active',
  'tso',
  'hang',
  "Under TSO the store of cond can still sit in the waker's store buffer when it reads the " +
    'queue as empty; the waiter then reads cond == 0 from memory and sleeps forever.',
);
export const wqActiveMb: Scenario = wqRace(
  'wq-active-mb',
  'the same with smp_mb() before waitqueue_active() — no lost wake-up',
  'mb',
  'tso',
  'clean',
  'smp_mb() drains the store buffer: either the waiter sees cond == 1, or the waker sees it queued.',
);
export const wqHasSleeper: Scenario = wqRace(
  'wq-has-sleeper',
  'the same fixed with wq_has_sleeper() (smp_mb + waitqueue_active)',
  'has-sleeper',
  'tso',
  'clean',
  'wq_has_sleeper() is the barrier and the check in one helper.',
);
export const wqActiveWmb: Scenario = wqRace(
  'wq-active-wmb',
  'the tempting wrong fix: smp_wmb() before waitqueue_active() — still hangs under tso',
  'wmb',
  'tso',
  'hang',
  'smp_wmb() orders stores against later stores; the race is a store followed by a load, which it does not order.',
);
export const wqActiveSc: Scenario = wqRace(
  'wq-active-sc',
  'the racy waitqueue_active() code under sequential consistency — no hang',
  'active',
  'sc',
  'clean',
  'Under SC every store is visible before the next instruction, so the waiter queues itself (and ' +
    "its barrier) before reading cond: if it reads 0, the waker's store comes later, and the " +
    "waker's read of the queue comes later still and sees the waiter.",
);

/** 2.4's check-then-sleep_on: a lost wake-up even under sequential consistency. */
export const sleepOnRace: Scenario = {
  name: 'sleep-on-race',
  title: "2.4's if (!cond) sleep_on(&wq): a lost wake-up even under sc",
  description:
    'The waiter tests cond and then calls sleep_on(); the waker sets cond and calls wake_up(). ' +
    'If the wake-up runs between the test and the queueing inside sleep_on(), nobody is on the ' +
    'queue to wake and the waiter sleeps forever. No memory model is needed: this is why ' +
    'sleep_on() was removed in favour of prepare_to_wait()/wait_event().',
  minCpus: 2,
  config: { cpus: 2, timed: false, memoryModel: 'sc' },
  expect: 'hang',
  demoSeed: 2,
  setup(k) {
    const cond = k.cell('cond', 0);
    const wq = init_waitqueue_head(k, 'wq');
    k.spawn(
      'waker',
      function* () {
        yield* WRITE_ONCE(cond, 1);
        yield* wake_up(wq);
      },
      { cpu: 0, pinned: true },
    );
    k.spawn(
      'waiter',
      function* () {
        const c = yield* READ_ONCE(cond);
        yield* note(`waiter: cond = ${c}`);
        if (c === 0) yield* sleep_on(wq);
      },
      { cpu: 1, pinned: true },
    );
    return {};
  },
};

/** Who wakes: exclusive vs non-exclusive waiters under wake_up, wake_up_nr and wake_up_all. */
export const wqExclusive: Scenario = {
  name: 'wq-exclusive',
  title: 'exclusive and non-exclusive waiters: who wake_up, wake_up_nr(2) and wake_up_all wake',
  description:
    'Two non-exclusive waiters (n1, n2, queued at the head) and four exclusive ones (x1..x4, at ' +
    'the tail) sleep on one queue. wake_up() wakes every non-exclusive waiter and one exclusive ' +
    'one (x1); wake_up_nr(2) then wakes x2 and x3; wake_up_all() wakes x4. Each wake-up is ' +
    "checked against the kernel's rule.",
  config: { cpus: 1, timed: false },
  expect: 'clean',
  setup(k) {
    const wq = init_waitqueue_head(k, 'wq');
    const names = ['n1', 'n2', 'x1', 'x2', 'x3', 'x4'];
    const tasks: Task[] = [];
    const log: string[] = [];
    for (const name of names) {
      tasks.push(
        k.spawn(name, function* () {
          const wait = DEFINE_WAIT(`wait:${name}`);
          if (name.startsWith('x')) yield* prepare_to_wait_exclusive(wq, wait, TASK_UNINTERRUPTIBLE);
          else yield* prepare_to_wait(wq, wait, TASK_UNINTERRUPTIBLE);
          yield* schedule('wq:wq');
          yield* finish_wait(wq, wait);
        }),
      );
    }
    const runnable = (): string =>
      tasks
        .filter((t) => !t.sleeping && !t.exited)
        .map((t) => t.name)
        .join(',');
    const obj = k.newObjectId();
    k.spawn('waker', function* () {
      yield* wake_up(wq);
      log.push(yield* atomic(obj, false, 'who woke', runnable));
      yield* wake_up_nr(wq, 2);
      log.push(yield* atomic(obj, false, 'who woke', runnable));
      yield* wake_up_all(wq);
      log.push(yield* atomic(obj, false, 'who woke', runnable));
      yield* note(
        `woken after wake_up: ${log[0]}; after wake_up_nr(2): ${log[1]}; after wake_up_all: ${log[2]}`,
      );
    });
    const expected = ['n1,n2,x1', 'n1,n2,x1,x2,x3', 'n1,n2,x1,x2,x3,x4'];
    return {
      final: () =>
        log.join('|') === expected.join('|')
          ? undefined
          : `woken sets ${JSON.stringify(log)}, expected ${JSON.stringify(expected)}`,
      state: () => ({ log: log.join('|') }),
    };
  },
};

/**
 * A func callback that takes a lock its waker's caller holds in the other order: the lock
 * validator reports the inversion even in runs that do not deadlock.
 */
export const wqFuncLockInversion: Scenario = {
  name: 'wq-func-lock-inversion',
  title: "a wait-queue func takes dev->lock, which a task holds while it takes the queue's lock",
  description:
    'A func entry on `wq` takes `dev.lock` when called. Task `adder` takes dev.lock and then ' +
    'add_wait_queue(&wq) (dev.lock → wq.lock); task `waker` calls wake_up(&wq), which holds ' +
    'wq.lock while the func takes dev.lock (wq.lock → dev.lock). The lock validator reports ' +
    'the AB-BA inversion; in some interleavings the two CPUs really deadlock.',
  minCpus: 2,
  config: { cpus: 2, timed: false },
  expect: 'lock-validator',
  setup(k) {
    const wq = init_waitqueue_head(k, 'wq');
    const dev = k.spinlock('dev.lock');
    const fe = new WaitQueueEntry('func');
    let calls = 0;
    init_waitqueue_func_entry(fe, function* takeDevLock() {
      yield* spin_lock(dev);
      calls++;
      yield* spin_unlock(dev);
      return 1;
    });
    k.spawn(
      'adder',
      function* () {
        const other = new WaitQueueEntry('other');
        init_waitqueue_func_entry(other, function* nop() {
          return 0;
        });
        yield* spin_lock(dev);
        yield* add_wait_queue(wq, other);
        yield* spin_unlock(dev);
      },
      { cpu: 0, pinned: true },
    );
    k.spawn(
      'waker',
      function* () {
        yield* add_wait_queue_exclusive(wq, fe);
        yield* wake_up(wq);
      },
      { cpu: 1, pinned: true },
    );
    return { state: () => ({ calls }) };
  },
};
