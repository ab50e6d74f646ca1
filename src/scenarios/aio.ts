/**
 * AIO scenarios on `/dev/aio` and the small `/dev/aiotest` device (reads that complete from
 * an interrupt): the completion/wake-up race, reaping from the mapped ring with and without
 * `smp_rmb`, cancellation against completion, and a full ring.
 *
 *     CPU0 - aio_complete() (irq)          CPU1 - __io_getevents()
 *     spin_lock_irqsave(&ctx->lock)        add_wait_queue_exclusive(&ctx->wait, &wait)
 *     event = ...; smp_wmb();              set_current_state(TASK_INTERRUPTIBLE)  // mb
 *     ring->tail = tail; smp_wmb();        if (aio_read_evt(ctx))   // reads head/tail
 *     spin_unlock_irqrestore(&ctx->lock)           break;
 *     [fix: smp_mb();]                     schedule();
 *     if (waitqueue_active(&ctx->wait))
 *             wake_up(&ctx->wait);
 *
 * Without the fix, CPU0's stores of the tail (and of the unlock) can sit in its store buffer
 * while it reads the wait queue as empty; CPU1 then reads the old tail and sleeps forever.
 */

import {
  aio_complete,
  aio_ctx_direct,
  aio_req_direct,
  type CompleteWakeup,
  type Kiocb,
} from '../aio/kioctx.js';
import {
  aio_ring_reap,
  io_iocb_array,
  io_prep_pread,
  iocb_key,
  read_event,
  timespec,
  user_ring,
} from '../aio/libaio.js';
import { aio_init } from '../aio/syscalls.js';
import { register_aiotest } from '../aio/testdev.js';
import type { Scenario } from '../check/scenario.js';
import { EAGAIN, ECANCELED } from '../kernel/errno.js';
import { type KernelCode, note } from '../kernel/ops.js';
import { O_RDONLY, O_RDWR, type Process } from '../kernel/process.js';
import { create_process, syscall } from '../kernel/syscalls.js';

interface Setup {
  ctx: number;
  ring: number;
  dev: number;
  iocbs: number[];
  arr: number;
  evs: number;
  timeout: number;
}

/** Opens everything a scenario process needs (as syscalls of the process). */
function* open_all(p: Process, n: number): KernelCode<Setup> {
  const ctx = yield* syscall('open', '/dev/aio', O_RDWR);
  const ring = yield* syscall('mmap', 4096, 3, ctx);
  const dev = yield* syscall('open', '/dev/aiotest', O_RDONLY);
  const mem = p.mm.mmap(64 * 1024);
  const iocbs: number[] = [];
  for (let i = 0; i < n; i++) {
    const iocb = mem + i * 64;
    io_prep_pread(p, iocb, dev, mem + 8192 + i * 512, 512, i * 512, 100 + i);
    iocbs.push(iocb);
  }
  const arr = mem + 4096;
  io_iocb_array(p, arr, iocbs);
  return { ctx, ring, dev, iocbs, arr, evs: mem + 32768, timeout: mem + 40960 };
}

function wakeupScenario(
  name: string,
  how: CompleteWakeup,
  expect: 'clean' | 'hang',
  title: string,
): Scenario {
  return {
    name,
    title,
    description:
      'One process submits a read to /dev/aiotest and waits in __io_getevents(); the read ' +
      'completes from an interrupt on the other CPU, in aio_complete(), which publishes the event ' +
      `and then wakes ctx->wait ${how === 'waitqueue_active' ? 'only if waitqueue_active() sees a waiter — with no barrier, as the 2.4 code shipped' : 'after an smp_mb(), so the check cannot miss a waiter that missed the event'}.`,
    config: { cpus: 2, timed: false, memoryModel: 'tso', irqAffinity: 0 },
    expect,
    demoSeed: how === 'waitqueue_active' ? 54 : 1,
    setup(k) {
      aio_init(k, { ringNr: 1, completeWakeup: how });
      register_aiotest(k, 1000);
      let got = -1;
      let res = 0;
      create_process(
        k,
        'app',
        function* (p) {
          const s = yield* open_all(p, 1);
          yield* syscall('__submit_ios', s.ctx, 1, s.arr);
          yield* note('app: __io_getevents(ctx, events, 1, NULL)');
          got = yield* syscall('__io_getevents', s.ctx, s.evs, 1, 0);
          if (got === 1) res = read_event(p, s.evs, 0).res;
        },
        { cpu: 1, pinned: true },
      );
      return {
        final: () =>
          got === 1 && res === 512
            ? undefined
            : `__io_getevents returned ${got} (event res ${res}), expected 1 event of 512 bytes`,
        state: () => ({ got, res }),
      };
    },
  };
}

export const aioCompleteWakeup: Scenario = wakeupScenario(
  'aio-complete-wakeup',
  'waitqueue_active',
  'hang',
  'aio_complete wakes __io_getevents through a lockless waitqueue_active() — a lost wake-up under tso',
);
export const aioCompleteWakeupMb: Scenario = wakeupScenario(
  'aio-complete-wakeup-mb',
  'mb+waitqueue_active',
  'clean',
  'the same with smp_mb() before waitqueue_active() — no lost wake-up',
);

function reapScenario(name: string, rmb: boolean, expect: 'clean' | 'invariant', title: string): Scenario {
  return {
    name,
    title,
    description:
      'A read is in flight on a context whose ring the process has mapped. A kernel thread on ' +
      "CPU0 completes it with aio_complete(), which publishes the event with the 2.4 code's " +
      'smp_wmb() between the event and the tail; the process on CPU1 reaps straight from the ' +
      `mapped ring: it reads tail and, if it moved, the event${rmb ? ', after smp_rmb()' : ' (no smp_rmb())'}. ` +
      'Under the invq model a CPU may still hold stale copies of the event words when it sees the ' +
      'new tail, unless smp_rmb() processes its invalidate queue first. The run starts with the ' +
      'request already submitted, so exploration covers exactly the publication and the reaping.',
    config: { cpus: 2, timed: false, memoryModel: 'invq' },
    expect,
    demoSeed: 4,
    setup(k) {
      let seen: { data: number; res: number } | null = null;
      let req: Kiocb | null = null;
      create_process(
        k,
        'reaper',
        function* (p) {
          const ctx = aio_ctx_direct(k, p, 1);
          req = aio_req_direct(ctx, 0x10000, 100, 512);
          const ring = user_ring(p, ctx.mapAddr);
          for (let i = 0; i < 2 && seen === null; i++) {
            const evs = yield* aio_ring_reap(ring, 1, rmb);
            if (evs.length > 0) {
              seen = { data: evs[0]!.data, res: evs[0]!.res };
              yield* note(`reaper: event data=${seen.data} res=${seen.res}`);
            }
          }
        },
        { cpu: 1, pinned: true },
      );
      k.spawn(
        'completer',
        function* () {
          yield* aio_complete(req!, 512);
        },
        { cpu: 0, pinned: true },
      );
      return {
        invariants: {
          'event contents': () => {
            const e = seen as { data: number; res: number } | null;
            return e === null || (e.data === 100 && e.res === 512)
              ? undefined
              : `stale event: the reaper saw the new tail but event data=${e.data} res=${e.res} (expected data=100 res=512)`;
          },
        },
        state: () => ({ seen: seen === null ? 'none' : `${(seen as { data: number }).data}` }),
      };
    },
  };
}

export const aioRingReap: Scenario = reapScenario(
  'aio-ring-reap',
  false,
  'invariant',
  'reaping the mapped ring without smp_rmb() after reading tail — stale event contents under invq',
);
export const aioRingReapRmb: Scenario = reapScenario(
  'aio-ring-reap-rmb',
  true,
  'clean',
  'the same with smp_rmb() after reading tail — never stale',
);

/** Cancellation against completion: every request ends in exactly one event. */
export const aioCancelRace: Scenario = {
  name: 'aio-cancel-race',
  title: '__io_cancel racing with the completion interrupt: exactly one event either way',
  description:
    'A process submits a read to /dev/aiotest and immediately cancels it while the completion ' +
    'interrupt may already be running. Either the cancel wins (it returns 0 and the single event ' +
    'says -ECANCELED) or the completion wins (cancel returns -EAGAIN and the event carries the 512 ' +
    'bytes); never both, never neither.',
  config: { cpus: 2, timed: false, memoryModel: 'sc', irqAffinity: 0 },
  expect: 'clean',
  setup(k) {
    aio_init(k, { ringNr: 2 });
    register_aiotest(k, 1000);
    let cancel = 1;
    let events = -1;
    let res = 0;
    let more = -1;
    create_process(
      k,
      'app',
      function* (p) {
        const s = yield* open_all(p, 1);
        yield* syscall('__submit_ios', s.ctx, 1, s.arr);
        cancel = yield* syscall('__io_cancel', s.ctx, iocb_key(p, s.iocbs[0]!), s.iocbs[0]!);
        events = yield* syscall('__io_getevents', s.ctx, s.evs, 2, 0);
        if (events >= 1) res = read_event(p, s.evs, 0).res;
        // Poll once more: no second event may ever appear.
        timespec(p, s.timeout, 0);
        more = yield* syscall('__io_getevents', s.ctx, s.evs, 2, s.timeout);
      },
      { cpu: 1, pinned: true },
    );
    return {
      final: () => {
        if (events !== 1 || more !== 0) return `expected exactly one event, got ${events} then ${more} more`;
        if (cancel === 0 && res !== -ECANCELED) return `cancel succeeded but the event says ${res}`;
        if (cancel === -EAGAIN && res !== 512) return `cancel lost the race but the event says ${res}`;
        if (cancel !== 0 && cancel !== -EAGAIN) return `__io_cancel returned ${cancel}`;
        return undefined;
      },
      state: () => ({ cancel, res }),
    };
  },
};

/** More submissions than ring slots: -EAGAIN at submission, nothing lost. */
export const aioRingFull: Scenario = {
  name: 'aio-ring-full',
  title: 'six reads into a four-slot ring: four accepted, -EAGAIN, then the rest after reaping',
  description:
    'Every accepted request owns a slot of the completion ring, so the ring can never overflow: ' +
    'with four slots, __submit_ios of six iocbs accepts four; submitting again fails with -EAGAIN ' +
    'until events are reaped; then the remaining two go in. All six events arrive, one per request.',
  config: { cpus: 2, timed: true, memoryModel: 'sc' },
  expect: 'clean',
  setup(k) {
    aio_init(k, { ringNr: 4 });
    register_aiotest(k, 50_000);
    const log: number[] = [];
    const datas: number[] = [];
    create_process(k, 'app', function* (p) {
      const s = yield* open_all(p, 6);
      log.push(yield* syscall('__submit_ios', s.ctx, 6, s.arr));
      log.push(yield* syscall('__submit_ios', s.ctx, 2, s.arr + 4 * 8));
      const reap = function* (until: number): KernelCode<void> {
        while (datas.length < until) {
          const n = yield* syscall('__io_getevents', s.ctx, s.evs, 4, 0);
          for (let i = 0; i < n; i++) datas.push(read_event(p, s.evs, i).data);
        }
      };
      yield* reap(4);
      log.push(datas.length);
      log.push(yield* syscall('__submit_ios', s.ctx, 2, s.arr + 4 * 8));
      yield* reap(6);
      const got = datas.length;
      log.push(got);
    });
    return {
      final: () => {
        const want = [4, -EAGAIN];
        if (log[0] !== want[0] || log[1] !== want[1] || log[2] !== 4 || log[3] !== 2 || log[4] !== 6) {
          return `submission results ${JSON.stringify(log)}, expected [4, ${-EAGAIN}, 4, 2, 6]`;
        }
        const sorted = datas.slice().sort((a, b) => a - b);
        return JSON.stringify(sorted) === JSON.stringify([100, 101, 102, 103, 104, 105])
          ? undefined
          : `events carried data ${JSON.stringify(sorted)}, expected 100..105 once each`;
      },
      state: () => ({ log: log.join(',') }),
    };
  },
};
