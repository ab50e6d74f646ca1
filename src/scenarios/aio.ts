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
 *
 * The timed scenarios of the asynchronous IO paths: `aio-raid0` (random 4 KiB raw reads on a
 * 4-disk RAID0, one synchronous reader vs AIO at queue depth 1, 8 and 32; `stats.iops`) and
 * `aio-pagecache` (cold and warm AIO reads of a file, O_DSYNC AIO writes), with `aio_pump`, the
 * user-space loop that keeps a given number of requests in flight.
 */

import {
  aio_complete,
  aio_ctx_direct,
  aio_req_direct,
  type CompleteWakeup,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
  type Kiocb,
  put64,
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
import { aio_stats, aio_update_stats } from '../aio/stats.js';
import { aio_init } from '../aio/syscalls.js';
import { register_aiotest, testPattern } from '../aio/testdev.js';
import type { Scenario } from '../check/scenario.js';
import { setup_disks } from '../devices/setup.js';
import { fs_mkfile, fs_read_ondisk, pattern } from '../devices/simplefs.js';
import { EAGAIN, ECANCELED } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { type KernelCode, note } from '../kernel/ops.js';
import { O_DSYNC, O_RDONLY, O_RDWR, type Process } from '../kernel/process.js';
import { Xoshiro128 } from '../kernel/random.js';
import { kernel } from '../kernel/sched.js';
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
    minCpus: 2,
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
    minCpus: 2,
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
  minCpus: 2,
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

// ---------------------------------------------------------------------------------------------
// The asynchronous IO paths, timed: raw reads on RAID0 at several queue depths, and the page cache.

/** What `aio_pump` gives: per-request results and latencies (submit → reaped), and the elapsed time. */
export interface PumpResult {
  readonly res: number[];
  readonly latNs: number[];
  readonly elapsedNs: number;
}

/** A request for `aio_pump`: its buffer is given by the slot it runs in (`slotBuf(slot)`). */
export interface PumpReq {
  readonly op: number;
  readonly fd: number;
  readonly len: number;
  readonly pos: number;
}

/**
 * User-space code: runs `reqs` through the context `ctx` keeping `depth` of them in flight —
 * submits `depth`, then for every batch of events reaped submits as many more. Each in-flight
 * request owns a slot (its iocb and its buffer `slotBuf(slot)`); `check(idx, slot)` runs when
 * request `idx` has been reaped, before its slot is reused. Returns results in request order.
 */
export function aio_pump(
  p: Process,
  ctx: number,
  reqs: readonly PumpReq[],
  depth: number,
  slotBuf: (slot: number) => number,
  check?: (idx: number, slot: number) => void,
): KernelCode<PumpResult> {
  return pump(new Pump(kernel(), p, ctx, reqs, depth, slotBuf, check));
}

/**
 * The loop of `aio_pump`: its state lives in `s`. The two syscalls are trampolined calls, so
 * their operations do not pass through this frame.
 */
function* pump(s: Pump): KernelCode<PumpResult> {
  for (;;) {
    const n = s.fill();
    // Trampolined calls: the syscalls' operations do not pass through this frame.
    if (n > 0) {
      const got: number = yield syscall('__submit_ios', s.ctx, n, s.arr);
      s.submitted(n, got);
    }
    if (s.done >= s.reqs.length) return s.result();
    const got: number = yield syscall('__io_getevents', s.ctx, s.evs, s.depth, 0);
    s.reaped(got);
  }
}

/** A zeroed iocb, copied over a slot's iocb before it is filled in. */
const ZERO_IOCB = new Uint8Array(64);

/** The state of one `aio_pump`: its iocbs, pointer array and events in user memory, the slots. */
class Pump {
  readonly k: Kernel;
  readonly ctx: number;
  readonly reqs: readonly PumpReq[];
  readonly depth: number;
  readonly slotBuf: (slot: number) => number;
  readonly check: ((idx: number, slot: number) => void) | undefined;
  /** User addresses: the iocbs, the pointer array, the events. */
  readonly mem: number;
  readonly arr: number;
  readonly evs: number;
  /** The iocbs, the pointer array and the events, written and read in place (no BigInt). */
  readonly u8: Uint8Array;
  readonly dv: DataView;
  readonly res: number[];
  readonly latNs: number[];
  readonly started: number[];
  /** Free slots, and the slot of each request submitted. */
  readonly free: number[] = [];
  readonly slotOf: number[] = [];
  next = 0;
  done = 0;
  readonly t0: number;
  constructor(
    k: Kernel,
    p: Process,
    ctx: number,
    reqs: readonly PumpReq[],
    depth: number,
    slotBuf: (slot: number) => number,
    check: ((idx: number, slot: number) => void) | undefined,
  ) {
    this.k = k;
    this.ctx = ctx;
    this.reqs = reqs;
    this.depth = depth;
    this.slotBuf = slotBuf;
    this.check = check;
    const bytes = depth * 64 + depth * 8 + depth * 32;
    this.mem = p.mm.mmap(bytes);
    this.arr = this.mem + depth * 64;
    this.evs = this.arr + depth * 8;
    this.u8 = p.mm.user_view(this.mem, bytes, true)!;
    this.dv = new DataView(this.u8.buffer, this.u8.byteOffset, bytes);
    this.res = new Array<number>(reqs.length).fill(Number.NaN);
    this.latNs = new Array<number>(reqs.length).fill(0);
    this.started = new Array<number>(reqs.length).fill(0);
    for (let slot = depth - 1; slot >= 0; slot--) this.free.push(slot);
    this.t0 = k.now;
  }

  private put64(at: number, v: number): void {
    put64(this.dv, at, v);
  }

  /** Fills an iocb for each next request a free slot allows, and the pointer array: how many. */
  fill(): number {
    const { free, reqs, dv, depth } = this;
    let n = 0;
    while (free.length > 0 && this.next < reqs.length) {
      const slot = free.pop()!;
      const next = this.next;
      const r = reqs[next]!;
      const at = slot * 64;
      this.u8.set(ZERO_IOCB, at);
      this.put64(at, next + 1); // aio_data
      dv.setUint16(at + 16, r.op, true);
      dv.setUint32(at + 20, r.fd, true);
      this.put64(at + 24, this.slotBuf(slot));
      this.put64(at + 32, r.len);
      this.put64(at + 40, r.pos);
      this.put64(depth * 64 + n * 8, this.mem + at);
      this.slotOf[next] = slot;
      this.started[next] = this.k.now;
      this.next++;
      n++;
    }
    return n;
  }

  /** `__submit_ios` of `n` iocbs returned `got`. */
  submitted(n: number, got: number): void {
    if (got !== n) throw new Error(`aio_pump: __submit_ios took ${got} of ${n}`);
  }

  /** `__io_getevents` returned `got`: records each event's result and frees its slot. */
  reaped(got: number): void {
    if (got <= 0) throw new Error(`aio_pump: __io_getevents returned ${got}`);
    const { dv, started, slotOf } = this;
    const evOff = this.depth * 72;
    for (let i = 0; i < got; i++) {
      const at = evOff + i * 32;
      const idx = dv.getUint32(at, true) - 1;
      this.res[idx] = dv.getUint32(at + 16, true) + dv.getInt32(at + 20, true) * 2 ** 32;
      this.latNs[idx] = this.k.now - started[idx]!;
      this.check?.(idx, slotOf[idx]!);
      this.free.push(slotOf[idx]!);
      this.done++;
    }
  }

  result(): PumpResult {
    return { res: this.res, latNs: this.latNs, elapsedNs: this.k.now - this.t0 };
  }
}

function mean(xs: readonly number[]): number {
  return xs.length === 0 ? 0 : xs.reduce((a, b) => a + b, 0) / xs.length;
}

const KiB = 1024;
const GB = 1e9;

/** Queue depths of `aio-raid0`. */
export const AIO_RAID0_DEPTHS = [1, 8, 32] as const;

/** `aio-raid0`: random 4 KiB raw reads on a 4-disk RAID0, synchronous vs AIO at depth 1, 8, 32. */
export function aioRaid0Scenario(reads = 400): Scenario {
  return {
    name: 'aio-raid0',
    title: 'random 4 KiB raw reads on a 4-disk RAID0: one sync thread vs AIO at queue depth 1, 8, 32',
    description:
      `A process reads ${reads} random 4 KiB blocks (aligned, over the first 160 GB) of /dev/rawN bound ` +
      'to a RAID0 of four 2001-era 7200 rpm disks (64 KiB chunks), four times, each time on a fresh ' +
      'array: with synchronous pread() calls (one IO at a time), then with AIO keeping 1, 8 and 32 ' +
      'requests in flight (each completion reaped by __io_getevents lets the next request go). The ' +
      'raw AIO path pins the user page, maps the block and submits the buffer head straight to the ' +
      'block layer without sleeping; the disk interrupt calls aio_complete. With many requests queued, ' +
      'all four disks work at once and each disk’s elevator (C-SCAN) shortens its seeks. ' +
      'stats.iops = { sync, qd1, qd8, qd32 } (IOs per simulated second), meanLatencyUs likewise, ' +
      'speedup = qd32 / sync.',
    config: { cpus: 2, timed: true, trace: false },
    expect: 'clean',
    setup(k) {
      aio_init(k);
      const names = ['sync', 'qd1', 'qd8', 'qd32'] as const;
      const sets = names.map((_, i) =>
        setup_disks(k, {
          disks: 4,
          model: 'hdd',
          prefix: ['sd', 'hd', 'xd', 'yd'][i]!,
          mdName: `md${i}`,
          raid0: { chunkBytes: 64 * KiB },
          raw: true,
          rawPath: `/dev/raw${i + 1}`,
        }),
      );
      const rng = new Xoshiro128(2001);
      const blocks = Math.floor((160 * GB) / (4 * KiB));
      const offsets = Array.from({ length: reads }, () => rng.below(blocks) * 4 * KiB);
      const iops: Record<string, number> = {};
      const latUs: Record<string, number> = {};
      let bad = '';
      // Every block read holds a pattern: the reads are checked.
      for (const set of sets) for (const off of offsets) set.top.poke(off, testPattern(off, 4 * KiB));
      const verify = (p: Process, at: number, off: number, what: string): void => {
        if (!Buffer.from(p.mm.copy_from_user(at, 4 * KiB)!).equals(testPattern(off, 4 * KiB)))
          bad = `${what}: the read at ${off} returned the wrong bytes`;
      };
      create_process(k, 'bench', function* (p) {
        const buf = p.mm.mmap(32 * 4 * KiB);
        const ctx = yield* syscall('open', '/dev/aio', O_RDWR);
        for (const [i, name] of names.entries()) {
          const fd = yield* syscall('open', sets[i]!.paths.raw!, O_RDONLY);
          let elapsed: number;
          let lat: number[];
          if (name === 'sync') {
            const t0 = k.now;
            lat = [];
            for (const off of offsets) {
              const t = k.now;
              const r = yield* syscall('pread', fd, buf, 4 * KiB, off);
              if (r !== 4 * KiB) bad = `sync pread returned ${r}`;
              verify(p, buf, off, name);
              lat.push(k.now - t);
            }
            elapsed = k.now - t0;
          } else {
            const depth = AIO_RAID0_DEPTHS[i - 1]!;
            const reqs = offsets.map((pos) => ({ op: IOCB_CMD_PREAD, fd, len: 4 * KiB, pos }));
            const slotBuf = (slot: number) => buf + slot * 4 * KiB;
            const r = yield* aio_pump(p, ctx, reqs, depth, slotBuf, (idx, slot) =>
              verify(p, slotBuf(slot), offsets[idx]!, name),
            );
            if (r.res.some((x) => x !== 4 * KiB))
              bad = `${name}: an AIO read returned ${r.res.find((x) => x !== 4 * KiB)}`;
            elapsed = r.elapsedNs;
            lat = r.latNs;
          }
          iops[name] = Math.round((reads / elapsed) * 1e9);
          latUs[name] = Math.round(mean(lat) / 1000);
          yield* syscall('close', fd);
        }
        yield* syscall('close', ctx);
      });
      return {
        final: () => (bad === '' ? undefined : bad),
        stats: () => {
          aio_update_stats(k);
          return {
            iops: { sync: iops.sync ?? 0, qd1: iops.qd1 ?? 0, qd8: iops.qd8 ?? 0, qd32: iops.qd32 ?? 0 },
            meanLatencyUs: latUs,
            speedup: iops.sync ? Math.round(((iops.qd32 ?? 0) / iops.sync) * 100) / 100 : 0,
            ...aio_stats(k),
          };
        },
      };
    },
  };
}

/** The catalogue's `aio-raid0` (400 reads per configuration). */
export const aioRaid0: Scenario = aioRaid0Scenario();

/** `aio-pagecache`: cold and warm AIO reads of a file, and O_DSYNC AIO writes. */
export const aioPagecache: Scenario = {
  name: 'aio-pagecache',
  title: 'AIO through the page cache: a 1 MiB file read cold then warm, and O_DSYNC AIO writes',
  description:
    'A process reads a 1 MiB file of the filesystem (one 7200 rpm disk) with 16 AIO reads of 64 KiB ' +
    'submitted together, twice. Cold, each request starts the reads of its missing pages at once ' +
    '(readpage) and its worktodo waits for each page in turn (wtd_wait_page), resumed on a keventd ' +
    'worker by the disk interrupt’s unlock; warm, every page is cached and the submitter copies ' +
    'and completes the requests itself, without a context switch. Then 64 O_DSYNC AIO writes of ' +
    '4 KiB overwrite the file, 8 in flight: each takes i_sem with wtd_down, writes its page through ' +
    'prepare_write/commit_write, writes it back and waits for it (wtd_wait_page), gives i_sem back ' +
    'and completes. stats: cold/warm elapsed ms, MB/s and mean latency per request; dsync: µs per ' +
    'write and mean latency; the submitter’s context switches during submission (0).',
  config: { cpus: 2, timed: true, trace: false },
  expect: 'clean',
  setup(k) {
    aio_init(k);
    const s = setup_disks(k, { disks: 1, model: 'hdd', fs: true });
    const size = 1024 * KiB;
    fs_mkfile(s.fs!, 'data', size);
    const want = pattern(size, 'data'.length);
    const figures: Record<string, Record<string, number>> = {};
    let bad = '';
    let submitSwitches = 0;
    create_process(k, 'app', function* (p, task) {
      const ctx = yield* syscall('open', '/dev/aio', O_RDWR);
      const fd = yield* syscall('open', '/mnt/data', O_RDONLY);
      const buf = p.mm.mmap(size);
      for (const pass of ['cold', 'warm']) {
        p.mm.copy_to_user(buf, new Uint8Array(size));
        const reqs = Array.from({ length: 16 }, (_, i) => ({
          op: IOCB_CMD_PREAD,
          fd,
          len: 64 * KiB,
          pos: i * 64 * KiB,
        }));
        const sw0 = task.switches;
        const r = yield* aio_pump(p, ctx, reqs, 16, (slot) => buf + slot * 64 * KiB);
        // All 16 went in the first submission; the reaping loop sleeps, the submission does not.
        if (pass === 'warm') submitSwitches = task.switches - sw0;
        if (r.res.some((x) => x !== 64 * KiB)) bad = `${pass}: a read returned ${r.res.join(',')}`;
        figures[pass] = {
          ms: r.elapsedNs / 1e6,
          MBps: Math.round((size / 1e6 / (r.elapsedNs / 1e9)) * 10) / 10,
          meanLatencyUs: Math.round(mean(r.latNs) / 1000),
        };
      }
      const got = p.mm.copy_from_user(buf, size)!;
      if (!Buffer.from(got).equals(want)) bad = 'the reads did not return the file’s bytes';
      yield* syscall('close', fd);
      const wfd = yield* syscall('open', '/mnt/data', O_RDWR | O_DSYNC);
      const wbuf = p.mm.mmap(8 * 4 * KiB);
      for (let slot = 0; slot < 8; slot++)
        p.mm.copy_to_user(wbuf + slot * 4 * KiB, testPattern(slot, 4 * KiB));
      const writes = Array.from({ length: 64 }, (_, i) => ({
        op: IOCB_CMD_PWRITE,
        fd: wfd,
        len: 4 * KiB,
        pos: i * 4 * KiB,
      }));
      const w0 = k.stats['writeback.pages'] ?? 0;
      const r = yield* aio_pump(p, ctx, writes, 8, (slot) => wbuf + slot * 4 * KiB);
      if (r.res.some((x) => x !== 4 * KiB)) bad = `dsync: a write returned ${r.res.join(',')}`;
      figures.dsync = {
        writes: 64,
        usPerWrite: Math.round(r.elapsedNs / 64 / 1000),
        meanLatencyUs: Math.round(mean(r.latNs) / 1000),
        pagesWritten: (k.stats['writeback.pages'] ?? 0) - w0,
      };
      yield* syscall('close', wfd);
      yield* syscall('close', ctx);
    });
    return {
      final: () => {
        if (bad !== '') return bad;
        const onDisk = fs_read_ondisk(s.fs!, 'data');
        for (let i = 0; i < 64; i++) {
          const blk = onDisk.subarray(i * 4 * KiB, (i + 1) * 4 * KiB);
          // Each write's bytes are one of the eight slot patterns.
          if (
            !Array.from({ length: 8 }, (_, sl) => testPattern(sl, 4 * KiB)).some((pt) =>
              Buffer.from(blk).equals(pt),
            )
          )
            return `block ${i} on the disk is not what an O_DSYNC write put there`;
        }
        return undefined;
      },
      stats: () => {
        aio_update_stats(k);
        return { ...figures, submitSwitches, ...aio_stats(k) };
      },
    };
  },
};
