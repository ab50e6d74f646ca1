/**
 * Unit tests of the wait-queue API (src/waitqueue/waitqueue.ts) and semaphores
 * (src/waitqueue/semaphore.ts): every function, each on a small deterministic kernel (one CPU,
 * untimed, so the run has no choices), plus a property test of semaphores under random
 * schedules on two CPUs.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { seeded } from '../../src/kernel/chooser.js';
import { EINTR } from '../../src/kernel/errno.js';
import { Kernel, type KernelConfig } from '../../src/kernel/kernel.js';
import { atomic, cpu, type KernelCode, READ_ONCE, WRITE_ONCE } from '../../src/kernel/ops.js';
import {
  in_interrupt,
  schedule,
  send_sig,
  set_current_state,
  TASK_INTERRUPTIBLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
  wake_up_process,
} from '../../src/kernel/sched.js';
import {
  spin_lock,
  spin_lock_irqsave,
  spin_unlock,
  spin_unlock_irqrestore,
} from '../../src/kernel/spinlock.js';
import type { Task } from '../../src/kernel/task.js';
import type { TraceEvent } from '../../src/trace/events.js';
import {
  down,
  down_interruptible,
  down_trylock,
  type Semaphore,
  sema_init,
  up,
} from '../../src/waitqueue/semaphore.js';
import {
  __add_wait_queue,
  __wake_up,
  __wake_up_common,
  add_wait_queue,
  add_wait_queue_cond,
  add_wait_queue_exclusive,
  autoremove_wake_function,
  DECLARE_WAITQUEUE,
  DEFINE_WAIT,
  default_wake_function,
  finish_wait,
  init_waitqueue_entry,
  init_waitqueue_func_entry,
  init_waitqueue_head,
  interruptible_sleep_on,
  prepare_to_wait,
  prepare_to_wait_exclusive,
  remove_wait_queue,
  sleep_on,
  sleep_on_timeout,
  WaitQueueEntry,
  type WaitQueueHead,
  WQ_FLAG_EXCLUSIVE,
  wait_event,
  wait_event_interruptible,
  wait_event_timeout,
  waitqueue_active,
  wake_up,
  wake_up_all,
  wake_up_interruptible,
  wake_up_interruptible_all,
  wake_up_interruptible_nr,
  wake_up_nr,
  wq_has_sleeper,
} from '../../src/waitqueue/waitqueue.js';

/** A one-CPU untimed kernel without tracing: runs are deterministic (no choices). */
function kernel(config: Partial<KernelConfig> = {}): Kernel {
  return new Kernel({ cpus: 1, timed: false, trace: false, ...config }, seeded(1));
}

const names = (q: WaitQueueHead): string[] => q.list.map((e) => e.name);

/** A task that sleeps on `q` through prepare_to_wait[_exclusive] and then leaves it. */
function sleeper(
  k: Kernel,
  q: WaitQueueHead,
  name: string,
  opts: { exclusive?: boolean; state?: number } = {},
): Task {
  return k.spawn(
    name,
    function* () {
      const w = DEFINE_WAIT(name);
      const state = opts.state ?? TASK_UNINTERRUPTIBLE;
      if (opts.exclusive === true) yield* prepare_to_wait_exclusive(q, w, state);
      else yield* prepare_to_wait(q, w, state);
      yield* schedule(`wq:${q.name}`);
      yield* finish_wait(q, w);
    },
    { daemon: true },
  );
}

const awake = (ts: readonly Task[]): string[] => ts.filter((t) => !t.sleeping).map((t) => t.name);

describe('initialisation', () => {
  it('init_waitqueue_head makes an empty queue with its own lock and lockless flag', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    expect(q.name).toBe('q');
    expect(q.list).toEqual([]);
    expect(q.lock.name).toBe('q.lock');
    expect(q.lock.lockClass).toBe('q.lock');
    expect(q.lock.owner).toBeNull();
    expect(q.active.value).toBe(0);
    expect(init_waitqueue_head(k, 'r', 'shared-class').lock.lockClass).toBe('shared-class');
  });

  it('init_waitqueue_entry makes a task entry and init_waitqueue_func_entry a threadless one', () => {
    const k = kernel();
    const t = k.spawn('t', function* () {});
    function* f(): KernelCode<number> {
      return 1;
    }
    const e = new WaitQueueEntry('e');
    init_waitqueue_func_entry(e, f);
    e.flags = WQ_FLAG_EXCLUSIVE;
    expect(init_waitqueue_entry(e, t)).toBe(e);
    expect(e).toMatchObject({ flags: 0, private: t, func: null });
    e.flags = WQ_FLAG_EXCLUSIVE;
    expect(init_waitqueue_func_entry(e, f)).toBe(e);
    expect(e).toMatchObject({ flags: 0, private: null, func: f });
    expect(DECLARE_WAITQUEUE('d', t)).toMatchObject({
      name: 'd',
      flags: 0,
      private: t,
      func: null,
      on: null,
    });
  });

  it('DEFINE_WAIT makes an entry for the current task that removes itself when woken', () => {
    const k = kernel();
    let e: WaitQueueEntry | null = null;
    const t = k.spawn('t', function* () {
      e = DEFINE_WAIT();
    });
    k.run();
    expect(e).not.toBeNull();
    expect(e!).toMatchObject({ name: 'wait:t', private: t, func: autoremove_wake_function, flags: 0 });
  });
});

describe('add_wait_queue, add_wait_queue_exclusive, remove_wait_queue, waitqueue_active', () => {
  it('adds non-exclusive entries at the head and exclusive ones at the tail', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const seen: boolean[] = [];
    const t = k.spawn('t', function* (task) {
      const [a, b, x, y] = ['a', 'b', 'x', 'y'].map((n) => DECLARE_WAITQUEUE(n, task)) as [
        WaitQueueEntry,
        WaitQueueEntry,
        WaitQueueEntry,
        WaitQueueEntry,
      ];
      seen.push(yield* waitqueue_active(q));
      yield* add_wait_queue_exclusive(q, x);
      seen.push(yield* waitqueue_active(q));
      yield* add_wait_queue(q, a);
      yield* add_wait_queue_exclusive(q, y);
      b.flags = WQ_FLAG_EXCLUSIVE; // add_wait_queue clears it
      yield* add_wait_queue(q, b);
      expect(names(q)).toEqual(['b', 'a', 'x', 'y']);
      expect(q.list.map((e) => e.flags & WQ_FLAG_EXCLUSIVE)).toEqual([0, 0, 1, 1]);
      expect(q.list.every((e) => e.on === q)).toBe(true);
      yield* remove_wait_queue(q, a);
      yield* remove_wait_queue(q, x);
      expect(names(q)).toEqual(['b', 'y']);
      expect(a.on).toBeNull();
      seen.push(yield* waitqueue_active(q));
      yield* remove_wait_queue(q, b);
      yield* remove_wait_queue(q, y);
      seen.push(yield* waitqueue_active(q));
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(t.exited).toBe(true);
    expect(seen).toEqual([false, true, true, false]);
    expect(q.active.value).toBe(0);
    expect(q.lock.owner).toBeNull();
  });

  it('refuses to queue an entry twice, to remove one that is not queued, or to touch the list unlocked', () => {
    const run = (body: (q: WaitQueueHead, e: WaitQueueEntry) => KernelCode<void>): string => {
      const k = kernel();
      const q = init_waitqueue_head(k, 'q');
      try {
        // A task runs up to its first visible operation as it is spawned: both may throw.
        k.spawn('t', function* (t) {
          yield* body(q, DECLARE_WAITQUEUE('e', t));
        });
        k.run();
      } catch (err) {
        return (err as Error).message;
      }
      return 'no error';
    };
    expect(
      run(function* (q, e) {
        yield* add_wait_queue(q, e);
        yield* add_wait_queue_exclusive(q, e);
      }),
    ).toMatch(/already on wait queue 'q'/);
    expect(
      run(function* (q, e) {
        yield* remove_wait_queue(q, e);
      }),
    ).toMatch(/is not on wait queue 'q'/);
    expect(
      run(function* (q, e) {
        yield* __add_wait_queue(q, e);
      }),
    ).toMatch(/without holding q\.lock/);
    expect(
      run(function* (q) {
        yield* __wake_up_common(q, TASK_UNINTERRUPTIBLE, 1);
      }),
    ).toMatch(/without holding q\.lock/);
  });

  it('wq_has_sleeper issues a full barrier before its lockless read; waitqueue_active does not', () => {
    const k = new Kernel({ cpus: 1, timed: false, trace: true, memoryModel: 'tso' }, seeded(1));
    const events: TraceEvent[] = [];
    k.events.on('trace', (e) => events.push(e));
    const q = init_waitqueue_head(k, 'q');
    const res: boolean[] = [];
    k.spawn('t', function* (t) {
      res.push(yield* waitqueue_active(q));
      const fencesBefore = events.filter((e) => e.kind === 'mem.fence').length;
      res.push(yield* wq_has_sleeper(q));
      const fences = events.filter((e) => e.kind === 'mem.fence').slice(fencesBefore);
      expect(fences.map((e) => (e as { op?: string }).op)).toEqual(['smp_mb']);
      yield* add_wait_queue(q, DECLARE_WAITQUEUE('e', t));
      res.push(yield* wq_has_sleeper(q));
    });
    expect(k.run().status).toBe('done');
    expect(res).toEqual([false, false, true]);
  });
});

describe('add_wait_queue_cond', () => {
  function condRun(stillMustWait: boolean, exclusive: boolean) {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    let raced = -1;
    let listDuringCond: string[] = [];
    k.spawn('t', function* (t) {
      yield* add_wait_queue(q, DECLARE_WAITQUEUE('other', t));
      const e = DECLARE_WAITQUEUE('e', t);
      raced = yield* add_wait_queue_cond(
        q,
        e,
        function* () {
          listDuringCond = names(q);
          return stillMustWait;
        },
        exclusive,
      );
    });
    expect(k.run().status).toBe('done');
    return { q, raced, listDuringCond };
  }

  it('returns 0 and leaves the entry queued when the condition still holds', () => {
    const r = condRun(true, false);
    expect(r.raced).toBe(0);
    expect(names(r.q)).toEqual(['e', 'other']);
    expect(r.q.list[0]!.flags).toBe(0);
  });

  it('returns 1 ("raced") and takes the entry off again when the condition no longer holds', () => {
    const r = condRun(false, false);
    expect(r.raced).toBe(1);
    expect(r.listDuringCond).toEqual(['e', 'other']); // it was queued when cond was tested
    expect(names(r.q)).toEqual(['other']);
  });

  it('the exclusive variant queues at the tail with WQ_FLAG_EXCLUSIVE', () => {
    const r = condRun(true, true);
    expect(r.raced).toBe(0);
    expect(names(r.q)).toEqual(['other', 'e']);
    expect(r.q.list[1]!.flags).toBe(WQ_FLAG_EXCLUSIVE);
    const raced = condRun(false, true);
    expect(raced.raced).toBe(1);
    expect(raced.listDuringCond).toEqual(['other', 'e']);
    expect(names(raced.q)).toEqual(['other']);
  });
});

describe('wake_up family', () => {
  function sleepers(spec: readonly [string, boolean, number][]) {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const ts = spec.map(([n, exclusive, state]) => sleeper(k, q, n, { exclusive, state }));
    return { k, q, ts };
  }
  const U = TASK_UNINTERRUPTIBLE;
  const I = TASK_INTERRUPTIBLE;

  it('wake_up wakes every non-exclusive waiter and one exclusive one; wake_up_nr(2) two more; wake_up_all the rest', () => {
    const { k, q, ts } = sleepers([
      ['n1', false, U],
      ['x1', true, U],
      ['x2', true, U],
      ['n2', false, U],
      ['x3', true, U],
      ['x4', true, U],
    ]);
    const seen: string[][] = [];
    const counts: number[] = [];
    k.spawn('waker', function* () {
      expect(names(q)).toEqual(['n2', 'n1', 'x1', 'x2', 'x3', 'x4']);
      counts.push(yield* wake_up(q));
      seen.push(awake(ts));
      counts.push(yield* wake_up_nr(q, 2));
      seen.push(awake(ts));
      counts.push(yield* wake_up_all(q));
      seen.push(awake(ts));
    });
    expect(k.run().status).toBe('done');
    expect(seen).toEqual([
      ['n1', 'x1', 'n2'],
      ['n1', 'x1', 'x2', 'n2', 'x3'],
      ['n1', 'x1', 'x2', 'n2', 'x3', 'x4'],
    ]);
    expect(counts).toEqual([3, 2, 1]);
  });

  it('wake_up_interruptible* wake only TASK_INTERRUPTIBLE sleepers', () => {
    const { k, q, ts } = sleepers([
      ['u1', false, U],
      ['i1', false, I],
      ['ux', true, U],
      ['ix1', true, I],
      ['ix2', true, I],
      ['ix3', true, I],
    ]);
    const seen: string[][] = [];
    k.spawn('waker', function* () {
      yield* wake_up_interruptible(q);
      seen.push(awake(ts));
      yield* wake_up_interruptible_nr(q, 1);
      seen.push(awake(ts));
      yield* wake_up_interruptible_all(q);
      seen.push(awake(ts));
      yield* wake_up(q);
      seen.push(awake(ts));
    });
    expect(k.run().status).toBe('done');
    // ux is exclusive and uninterruptible: an interruptible wake-up skips it without using a slot.
    expect(seen).toEqual([
      ['i1', 'ix1'],
      ['i1', 'ix1', 'ix2'],
      ['i1', 'ix1', 'ix2', 'ix3'],
      ['u1', 'i1', 'ux', 'ix1', 'ix2', 'ix3'],
    ]);
  });

  it('__wake_up takes the lock, walks with the given mode and nr_exclusive, and returns how many woke', () => {
    const { k, q, ts } = sleepers([
      ['x1', true, U],
      ['x2', true, U],
      ['x3', true, U],
    ]);
    let n = -1;
    let heldDuringFunc = false;
    const f = init_waitqueue_func_entry(new WaitQueueEntry('f'), function* probe() {
      heldDuringFunc = q.lock.owner !== null && q.lock.owner.name === 'waker';
      return 0;
    });
    k.spawn('waker', function* () {
      yield* add_wait_queue(q, f);
      n = yield* __wake_up(q, TASK_UNINTERRUPTIBLE, 2);
    });
    expect(k.run().status).toBe('done');
    expect(awake(ts)).toEqual(['x1', 'x2']);
    expect(n).toBe(3); // the func (2.4-aio: always counts) and two tasks
    expect(heldDuringFunc).toBe(true);
    expect(q.lock.owner).toBeNull();
  });

  it('an exclusive task entry whose task is already running does not use up the wake-up (both semantics)', () => {
    for (const wakeSemantics of ['2.4-aio', 'modern'] as const) {
      const k = kernel({ wakeSemantics });
      const q = init_waitqueue_head(k, 'q');
      const x = sleeper(k, q, 'x', { exclusive: true });
      k.spawn('waker', function* (t) {
        // The waker's own exclusive entries (DEFINE_WAIT style and plain), at the head of the
        // exclusive part: it is running, so the walk goes on to x.
        const self = DEFINE_WAIT('self');
        const plain = DECLARE_WAITQUEUE('plain', t);
        yield* spin_lock_irqsave(q.lock);
        self.flags = WQ_FLAG_EXCLUSIVE;
        plain.flags = WQ_FLAG_EXCLUSIVE;
        q.list.unshift(self, plain);
        self.on = q;
        plain.on = q;
        yield* spin_unlock_irqrestore(q.lock);
        yield* wake_up(q);
        expect(names(q)).toEqual(['self', 'plain']); // x removed itself (autoremove); the others stay
        yield* remove_wait_queue(q, self);
        yield* remove_wait_queue(q, plain);
      });
      expect(k.run().status, wakeSemantics).toBe('done');
      expect(x.sleeping, wakeSemantics).toBe(false);
    }
  });
});

describe('default_wake_function and autoremove_wake_function', () => {
  it('default_wake_function wakes a sleeping task (1) and not a running one (0)', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const s = sleeper(k, q, 's');
    const res: number[] = [];
    k.spawn('waker', function* (t) {
      const e = DECLARE_WAITQUEUE('e', s);
      res.push(yield* default_wake_function(e, TASK_INTERRUPTIBLE)); // s is UNINTERRUPTIBLE
      res.push(yield* default_wake_function(e, TASK_UNINTERRUPTIBLE));
      res.push(yield* default_wake_function(DECLARE_WAITQUEUE('me', t), TASK_UNINTERRUPTIBLE));
    });
    expect(k.run().status).toBe('done');
    expect(res).toEqual([0, 1, 0]);
    expect(s.sleeping).toBe(false);
  });

  it('autoremove_wake_function takes the entry off only when it woke the task', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const s = sleeper(k, q, 's', { state: TASK_UNINTERRUPTIBLE });
    const res: [number, string[]][] = [];
    k.spawn('waker', function* () {
      const e = q.list[0]!;
      yield* spin_lock_irqsave(q.lock);
      res.push([yield* autoremove_wake_function(e, TASK_INTERRUPTIBLE), names(q)]);
      res.push([yield* autoremove_wake_function(e, TASK_UNINTERRUPTIBLE), names(q)]);
      yield* spin_unlock_irqrestore(q.lock);
    });
    expect(k.run().status).toBe('done');
    expect(res).toEqual([
      [0, ['s']],
      [1, []],
    ]);
    expect(s.sleeping).toBe(false);
  });
});

describe('prepare_to_wait, prepare_to_wait_exclusive, finish_wait', () => {
  it('queues once, sets the state with a barrier, and finish_wait undoes both', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const snaps: [string[], number, number][] = [];
    k.spawn('t', function* (t) {
      const w = DEFINE_WAIT('w');
      yield* prepare_to_wait(q, w, TASK_INTERRUPTIBLE);
      snaps.push([names(q), t.state.value, w.flags]);
      yield* prepare_to_wait(q, w, TASK_UNINTERRUPTIBLE); // already queued: only the state changes
      snaps.push([names(q), t.state.value, w.flags]);
      yield* finish_wait(q, w);
      snaps.push([names(q), t.state.value, w.flags]);
      const x = DEFINE_WAIT('x');
      yield* add_wait_queue(q, DEFINE_WAIT('n'));
      yield* prepare_to_wait_exclusive(q, x, TASK_UNINTERRUPTIBLE);
      snaps.push([names(q), t.state.value, x.flags]);
      yield* finish_wait(q, x);
      yield* finish_wait(q, x); // not queued any more: harmless
      snaps.push([names(q), t.state.value, x.flags]);
    });
    expect(k.run().status).toBe('done');
    expect(snaps).toEqual([
      [['w'], TASK_INTERRUPTIBLE, 0],
      [['w'], TASK_UNINTERRUPTIBLE, 0],
      [[], TASK_RUNNING, 0],
      [['n', 'x'], TASK_UNINTERRUPTIBLE, WQ_FLAG_EXCLUSIVE],
      [['n'], TASK_RUNNING, WQ_FLAG_EXCLUSIVE],
    ]);
  });
});

describe('wait_event family', () => {
  it('wait_event returns at once when the condition holds, else sleeps until woken with it true', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const cond = k.cell('cond', 0);
    const log: string[] = [];
    k.spawn('waiter', function* () {
      yield* wait_event(q, function* () {
        return (yield* READ_ONCE(cond)) !== 0;
      });
      log.push(`woke, queue ${JSON.stringify(names(q))}`);
      yield* wait_event(q, function* () {
        return true;
      });
      log.push('no wait');
    });
    k.spawn('waker', function* () {
      log.push(`waker sees ${JSON.stringify(names(q))}`);
      yield* wake_up(q); // condition still false: the waiter goes back to sleep
      yield* WRITE_ONCE(cond, 1);
      yield* wake_up(q);
      log.push('waker done');
    });
    expect(k.run().status).toBe('done');
    expect(log).toEqual(['waker sees ["wait:waiter"]', 'waker done', 'woke, queue []', 'no wait']);
  });

  it('wait_event_interruptible returns 0 when the condition holds and -EINTR on a signal', () => {
    for (const signal of [false, true]) {
      const k = kernel();
      const q = init_waitqueue_head(k, 'q');
      const cond = k.cell('cond', 0);
      let ret = 99;
      const waiter = k.spawn('waiter', function* () {
        ret = yield* wait_event_interruptible(q, function* () {
          return (yield* READ_ONCE(cond)) !== 0;
        });
      });
      k.spawn('other', function* () {
        if (signal) yield* send_sig(waiter);
        else {
          yield* WRITE_ONCE(cond, 1);
          yield* wake_up_interruptible(q);
        }
      });
      expect(k.run().status).toBe('done');
      expect(ret).toBe(signal ? -EINTR : 0);
      expect(q.list).toEqual([]);
      expect(waiter.state.value).not.toBe(TASK_INTERRUPTIBLE);
    }
  });

  it('wait_event_timeout returns 0 when the time runs out with the condition false', () => {
    const k = kernel({ timed: true });
    const q = init_waitqueue_head(k, 'q');
    let ret = -1;
    k.spawn('waiter', function* () {
      ret = yield* wait_event_timeout(
        q,
        function* () {
          return false;
        },
        1000,
      );
    });
    expect(k.run().status).toBe('done');
    expect(ret).toBe(0);
    expect(k.now).toBe(1000);
    expect(q.list).toEqual([]);
  });

  it('wait_event_timeout returns the time left (> 0) when the condition came true in time', () => {
    const k = kernel({ timed: true });
    const q = init_waitqueue_head(k, 'q');
    const cond = k.cell('cond', 0);
    const rets: number[] = [];
    k.spawn('waiter', function* () {
      const c = function* () {
        return (yield* READ_ONCE(cond)) !== 0;
      };
      rets.push(yield* wait_event_timeout(q, c, 1000));
      rets.push(yield* wait_event_timeout(q, c, 500)); // already true: the whole timeout
      rets.push(yield* wait_event_timeout(q, c, 0)); // already true, no time: still > 0
    });
    k.spawn('waker', function* () {
      yield* cpu(300);
      yield* WRITE_ONCE(cond, 1);
      yield* wake_up(q);
    });
    expect(k.run().status).toBe('done');
    expect(rets).toEqual([700, 500, 1]);
  });

  it('wait_event_timeout in an untimed run: a wake-up with the condition true still reports time left', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const cond = k.cell('cond', 0);
    let ret = -1;
    k.spawn('waiter', function* () {
      ret = yield* wait_event_timeout(
        q,
        function* () {
          return (yield* READ_ONCE(cond)) !== 0;
        },
        1_000_000,
      );
    });
    k.spawn('waker', function* () {
      yield* WRITE_ONCE(cond, 1);
      yield* wake_up(q);
    });
    expect(k.run().status).toBe('done');
    expect(ret).toBeGreaterThan(0);
  });
});

describe('sleep_on family', () => {
  it('sleep_on sleeps until a wake_up and leaves the queue', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const log: string[] = [];
    k.spawn('waiter', function* () {
      yield* sleep_on(q);
      log.push(`woke ${JSON.stringify(names(q))}`);
    });
    k.spawn('waker', function* () {
      log.push(`queued ${JSON.stringify(names(q))}`);
      yield* wake_up(q);
    });
    expect(k.run().status).toBe('done');
    expect(log).toEqual(['queued ["sleep_on:waiter"]', 'woke []']);
  });

  it('interruptible_sleep_on returns on a signal; sleep_on ignores signals (and hangs without a wake-up)', () => {
    const run = (fn: (q: WaitQueueHead) => KernelCode<void>) => {
      const k = kernel();
      const q = init_waitqueue_head(k, 'q');
      const w = k.spawn('waiter', function* () {
        yield* fn(q);
      });
      k.spawn('signaller', function* () {
        yield* send_sig(w);
      });
      return { r: k.run(), q };
    };
    const a = run(interruptible_sleep_on);
    expect(a.r.status).toBe('done');
    expect(a.q.list).toEqual([]);
    const b = run(sleep_on);
    expect(b.r.status).toBe('hang');
    expect(b.r.violations[0]!.message).toMatch(/waiter .* sleeps in TASK_UNINTERRUPTIBLE on wq:q/);
  });

  it('sleep_on_timeout returns 0 when nobody wakes it', () => {
    const k = kernel({ timed: true });
    const q = init_waitqueue_head(k, 'q');
    let left = -1;
    k.spawn('waiter', function* () {
      left = yield* sleep_on_timeout(q, 250);
    });
    expect(k.run().status).toBe('done');
    expect(left).toBe(0);
    expect(k.now).toBe(250);
  });

  it('interruptible_sleep_on is woken by wake_up_interruptible', () => {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const w = k.spawn('waiter', function* () {
      yield* interruptible_sleep_on(q);
    });
    k.spawn('waker', function* () {
      yield* wake_up_interruptible(q);
    });
    expect(k.run().status).toBe('done');
    expect(w.exited).toBe(true);
  });
});

describe('func entries: interrupt context, sleeping and the lock validator', () => {
  interface FuncWorld {
    readonly q: WaitQueueHead;
    readonly dev: ReturnType<Kernel['spinlock']>;
    readonly task: Task;
  }
  /** Task t queues a func entry on q and wakes q itself, or from an interrupt handler. */
  function funcRun(func: (w: FuncWorld) => KernelCode<number | undefined>, fromIrq: boolean) {
    const k = kernel();
    const q = init_waitqueue_head(k, 'q');
    const dev = k.spinlock('dev.lock');
    let task: Task | null = null;
    const fe = init_waitqueue_func_entry(new WaitQueueEntry('fe'), function* f() {
      return yield* func({ q, dev, task: task! });
    });
    task = k.spawn('t', function* () {
      yield* add_wait_queue(q, fe);
      if (fromIrq) {
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        k.raise_irq('dev', function* () {
          yield* wake_up(q);
        });
        yield* schedule('irq');
      } else {
        yield* wake_up(q);
      }
    });
    return { k, r: k.run({ maxSteps: 1000 }) };
  }

  it('a func runs in the waker context: in interrupt context when woken from an IRQ, without false lock reports', () => {
    let inIrq: boolean | null = null;
    let woke = -1;
    const { r } = funcRun(function* ({ task }) {
      inIrq = in_interrupt();
      woke = yield* wake_up_process(task); // a threadless receiver completing the task's wait
      return 1;
    }, true);
    expect(r.status).toBe('done');
    expect(inIrq).toBe(true);
    expect(woke).toBe(1);
    // The queue lock is taken with spin_lock_irqsave in both contexts: IRQ-safe, no report.
    expect(r.violations).toEqual([]);
  });

  it('a func that sleeps in interrupt context is a bug', () => {
    const { r } = funcRun(function* () {
      yield* schedule('nothing');
      return 1;
    }, true);
    expect(r.status).toBe('violation');
    expect(r.violations.map((v) => v.kind)).toEqual(['bug']);
    expect(r.violations[0]!.message).toMatch(/scheduling while atomic: irq:dev .* interrupt context/);
  });

  it('a func that sleeps in process context sleeps with the queue spinlock held', () => {
    const { r } = funcRun(function* () {
      yield* schedule('nothing');
      return 1;
    }, false);
    expect(r.violations.map((v) => v.kind)).toEqual(['lock-validator']);
    expect(r.violations[0]!.message).toMatch(/sleeping with a spinlock held: t .* holding 'q\.lock'/);
  });

  it('a func that takes the queue lock again is reported as recursion (and really self-deadlocks)', () => {
    const { r } = funcRun(function* ({ q }) {
      yield* spin_lock(q.lock);
      yield* spin_unlock(q.lock);
      return 1;
    }, false);
    expect(r.status).toBe('hang');
    expect(r.violations.map((v) => v.kind)).toEqual(['lock-validator', 'hang']);
    expect(r.violations[0]!.message).toMatch(/recursive locking: t takes 'q\.lock'/);
  });

  it('the lock validator sees the queue lock held while a func runs', () => {
    const { r, k } = funcRun(function* ({ dev }) {
      yield* spin_lock(dev);
      yield* spin_unlock(dev);
      return 1;
    }, false);
    expect(r.status).toBe('done');
    expect(r.violations).toEqual([]);
    expect(k.lockdep.graph()).toContainEqual(['q.lock', 'dev.lock']);
  });
});

describe('semaphores', () => {
  it('sema_init refuses a negative or fractional count', () => {
    const k = kernel();
    expect(() => sema_init(k, 's', -1)).toThrow(/non-negative integer/);
    expect(() => sema_init(k, 's', 1.5)).toThrow(/non-negative integer/);
    expect(sema_init(k, 's', 2)).toMatchObject({ name: 's', count: 2 });
  });

  it('down takes an available count without sleeping; down_trylock returns 0 when it took it, 1 when not', () => {
    const k = kernel();
    const sem = sema_init(k, 's', 2);
    const res: (number | string)[] = [];
    k.spawn('t', function* () {
      yield* down(sem);
      res.push(sem.count);
      res.push(yield* down_trylock(sem));
      res.push(sem.count);
      res.push(yield* down_trylock(sem));
      res.push(sem.count);
      yield* up(sem);
      yield* up(sem);
      res.push(sem.count);
    });
    expect(k.run().status).toBe('done');
    expect(res).toEqual([1, 0, 0, 1, 0, 2]);
    expect(sem.wait.list).toEqual([]);
  });

  it('sleepers wait as exclusive entries and up() wakes them one at a time, first come first served', () => {
    const k = kernel();
    const sem = sema_init(k, 's', 0);
    const order: string[] = [];
    const queued: string[][] = [];
    for (const n of ['a', 'b', 'c']) {
      k.spawn(n, function* () {
        yield* down(sem);
        order.push(n);
      });
    }
    k.spawn('upper', function* () {
      queued.push(names(sem.wait));
      expect(sem.wait.list.every((e) => (e.flags & WQ_FLAG_EXCLUSIVE) !== 0)).toBe(true);
      yield* up(sem);
      queued.push([
        'woken:',
        ...k.tasks.filter((t) => t.name.length === 1 && !t.sleeping).map((t) => t.name),
      ]);
      // a is woken but has not run yet: it is still queued and running, so the next up()
      // goes past it (no slot used) to b, and the third to c.
      yield* up(sem);
      yield* up(sem);
    });
    expect(k.run().status).toBe('done');
    expect(queued).toEqual([
      ['down:a', 'down:b', 'down:c'],
      ['woken:', 'a'],
    ]);
    expect(order).toEqual(['a', 'b', 'c']);
    expect(sem.count).toBe(0);
    expect(sem.wait.list).toEqual([]);
  });

  it('down_interruptible returns -EINTR on a signal without taking the count, 0 when it gets it', () => {
    const k = kernel();
    const sem = sema_init(k, 's', 0);
    const rets: Record<string, number> = {};
    const victim = k.spawn('victim', function* () {
      rets.victim = yield* down_interruptible(sem);
    });
    k.spawn('patient', function* () {
      rets.patient = yield* down_interruptible(sem);
    });
    k.spawn('other', function* () {
      yield* send_sig(victim);
      yield* up(sem);
    });
    expect(k.run().status).toBe('done');
    expect(rets).toEqual({ victim: -EINTR, patient: 0 });
    expect(sem.count).toBe(0);
    expect(sem.wait.list).toEqual([]);
  });

  /** Three tasks on two CPUs each take and release a semaphore of count `n` twice. */
  function semRun(seed: number, n: number, model: 'sc' | 'tso') {
    const k = new Kernel({ cpus: 2, timed: false, trace: false, memoryModel: model }, seeded(seed));
    const sem: Semaphore = sema_init(k, 's', n);
    const obj = k.newObjectId();
    let inside = 0;
    let maxInside = 0;
    let minCount = sem.count;
    let sleptInDown = false;
    k.stepChecks.push(() => {
      minCount = Math.min(minCount, sem.count);
      if (k.tasks.some((t) => t.sleeping && t.waitingOn.startsWith('sem:s'))) sleptInDown = true;
      return sem.count < 0 ? `count ${sem.count}` : undefined;
    });
    for (const name of ['a', 'b', 'c']) {
      k.spawn(name, function* () {
        for (let i = 0; i < 2; i++) {
          if ((yield* down_trylock(sem)) !== 0) yield* down(sem);
          yield* atomic(obj, true, 'enter', () => {
            inside++;
            maxInside = Math.max(maxInside, inside);
          });
          yield* atomic(obj, true, 'leave', () => {
            inside--;
          });
          yield* up(sem);
        }
      });
    }
    const r = k.run({ maxSteps: 20_000 });
    return { r, sem, maxInside, minCount, sleptInDown };
  }

  test.prop([fc.integer({ min: 1, max: 2 ** 31 - 1 }), fc.integer({ min: 1, max: 2 }), fc.boolean()], {
    numRuns: 150,
  })('count never goes negative, at most `count` holders, and every task finishes', (seed, n, tso) => {
    const { r, sem, maxInside, minCount } = semRun(seed, n, tso ? 'tso' : 'sc');
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('done');
    expect(minCount).toBeGreaterThanOrEqual(0);
    expect(maxInside).toBeLessThanOrEqual(n);
    expect(sem.count).toBe(n);
    expect(sem.wait.list).toEqual([]);
  });

  it('the property is not vacuous: in many schedules tasks do sleep in down() and get woken by up()', () => {
    let withSleepers = 0;
    for (let seed = 1; seed <= 40; seed++) {
      const { r, sleptInDown } = semRun(seed, 1, 'tso');
      expect(r.status).toBe('done');
      if (sleptInDown) withSleepers++;
    }
    expect(withSleepers).toBeGreaterThan(5);
  });
});
