/**
 * `/dev/aio` and the four syscalls, as user space sees them: the ring header and events in the
 * mapped bytes, `read()` of whole events, what `close()` and process exit do to requests in
 * flight, NOOP and the keventd fallback for files without AIO methods, and the semantics of
 * `__io_getevents` (block, poll, forever, timeout, signal), `__io_wait`, `__io_cancel`,
 * `aio_key` and `__submit_ios`'s count; plus reaping straight from the mapped ring.
 */
import { describe, expect, it } from 'vitest';
import {
  AIO_RING_MAGIC,
  ctxOfFile,
  IOCB_CMD_FDSYNC,
  IOCB_CMD_FSYNC,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
  type Kioctx,
} from '../../src/aio/kioctx.js';
import {
  aio_ring_reap,
  io_iocb_array,
  io_prep,
  io_prep_fdsync,
  io_prep_fsync,
  io_prep_noop,
  io_prep_pread,
  io_prep_pwrite,
  iocb_key,
  read_event,
  timespec,
  user_ring,
} from '../../src/aio/libaio.js';
import { aio_limits } from '../../src/aio/limits.js';
import { type AioMethods, aio_init } from '../../src/aio/syscalls.js';
import { register_aiotest, testPattern } from '../../src/aio/testdev.js';
import { setup_disks } from '../../src/devices/setup.js';
import { fs_mkfile } from '../../src/devices/simplefs.js';
import { EAGAIN, ECANCELED, EFAULT, EINTR, EINVAL, ETIME } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import {
  File,
  type FileOperations,
  O_CREAT,
  O_DIRECT,
  O_RDONLY,
  O_RDWR,
  type Process,
} from '../../src/kernel/process.js';
import {
  current,
  kernel,
  schedule_timeout,
  set_current_state,
  TASK_UNINTERRUPTIBLE,
} from '../../src/kernel/sched.js';
import { create_process, register_path, syscall, syscalls } from '../../src/kernel/syscalls.js';
import { aio_batch, aio_user } from './helpers.js';

/** What a slow synchronous device recorded. */
interface SlowLog {
  /** [op, task name, start ns, end ns] */
  calls: [string, string, number, number][];
  written: Uint8Array[];
}

/** A file with synchronous methods only; each call sleeps `ns` (uninterruptibly) first. */
function slowOps(log: SlowLog, ns: number): FileOperations {
  const nap = function* (): KernelCode<void> {
    if (ns === 0) return;
    yield* set_current_state(TASK_UNINTERRUPTIBLE);
    yield* schedule_timeout(ns, 'slow device');
  };
  const rec = function* (op: string, body: () => number): KernelCode<number> {
    const k = kernel();
    const t0 = k.now;
    yield* nap();
    const r = body();
    log.calls.push([op, current().name, t0, k.now]);
    return r;
  };
  return {
    name: 'slow',
    read: (_f, p, buf, count, ppos) =>
      rec('read', () => {
        p.mm.copy_to_user(buf, testPattern(ppos.pos, count));
        ppos.pos += count;
        return count;
      }),
    write: (_f, p, buf, count, ppos) =>
      rec('write', () => {
        log.written.push(p.mm.copy_from_user(buf, count)!);
        ppos.pos += count;
        return count;
      }),
    fsync: (_f, datasync) => rec(datasync ? 'fdatasync' : 'fsync', () => 0),
  };
}

interface Opts {
  readonly ringNr?: number;
  readonly latencyNs?: number;
  readonly slowNs?: number;
}

/** A fresh timed kernel with /dev/aio, /dev/aiotest and /dev/slow, running `body` as a process. */
function world(
  body: (p: Process, k: Kernel) => KernelCode<void>,
  o: Opts = {},
): {
  k: Kernel;
  p: Process;
  status: string;
  log: SlowLog;
  violations: readonly { kind: string; message: string }[];
} {
  const k = new Kernel({ cpus: 2, timed: true, trace: false });
  if (o.ringNr === undefined) aio_init(k);
  else aio_init(k, { ringNr: o.ringNr });
  register_aiotest(k, o.latencyNs ?? 1000);
  const log: SlowLog = { calls: [], written: [] };
  const ops = slowOps(log, o.slowNs ?? 0);
  register_path(k, '/dev/slow', function* (_p, path, flags) {
    return new File(ops, flags, path);
  });
  const p = create_process(k, 'app', (pp) => body(pp, k));
  const r = k.run();
  return { k, p, status: r.status, log, violations: r.violations };
}

function clean(w: ReturnType<typeof world>): void {
  expect(w.violations).toEqual([]);
  expect(w.status).toBe('done');
}

/** The header and the events of a ring, decoded from bytes. */
function header(b: Uint8Array) {
  const dv = new DataView(b.buffer, b.byteOffset, 32);
  return {
    id: dv.getUint32(0, true),
    nr: dv.getUint32(4, true),
    head: dv.getUint32(8, true),
    tail: dv.getUint32(12, true),
    magic: dv.getUint32(16, true),
    compat_features: dv.getUint32(20, true),
    incompat_features: dv.getUint32(24, true),
    header_length: dv.getUint32(28, true),
  };
}
function eventAt(b: Uint8Array, i: number) {
  const dv = new DataView(b.buffer, b.byteOffset + 32 + i * 32, 32);
  return {
    data: Number(dv.getBigUint64(0, true)),
    obj: Number(dv.getBigUint64(8, true)),
    res: Number(dv.getBigInt64(16, true)),
    res2: Number(dv.getBigInt64(24, true)),
  };
}

/** Opens a context, maps its ring, opens /dev/aiotest and lays out `n` reads (data 100 + i). */
function* setup(p: Process, n: number, dev = '/dev/aiotest') {
  const fd = yield* syscall('open', '/dev/aio', O_RDWR);
  const ring = yield* syscall('mmap', 4096, 3, fd);
  const dfd = yield* syscall('open', dev, dev === '/dev/slow' ? O_RDWR : O_RDONLY);
  const mem = p.mm.mmap(64 * 1024);
  const iocbs: number[] = [];
  for (let i = 0; i < n; i++) {
    io_prep_pread(p, mem + i * 64, dfd, mem + 16384 + i * 512, 512, i * 512, 100 + i);
    iocbs.push(mem + i * 64);
  }
  const arr = mem + 4096;
  io_iocb_array(p, arr, iocbs);
  return {
    fd,
    ring,
    dfd,
    mem,
    iocbs,
    arr,
    evs: mem + 8192,
    ts: mem + 12288,
    ctx: ctxOfFile(p.fget(fd))!,
  };
}

function* nap(ns: number): KernelCode<void> {
  yield* syscall('nanosleep', ns);
}

describe('the ring: size, header, events in the mapped bytes', () => {
  it('default: 128 request slots, a ring of 129 events; the header as the 2.4 ABI lays it out', () => {
    let h: ReturnType<typeof header> | null = null;
    let again = 0;
    let ring = 0;
    let id = 0;
    let len = 0;
    let nr = 0;
    const w = world(function* (p, k) {
      const s = yield* setup(p, 0);
      ring = s.ring;
      id = s.ctx.id;
      nr = aio_limits(k).aioNr;
      h = header(p.mm.copy_from_user(s.ring, 32)!);
      len = p.mm.find(s.ring, 1)!.len;
      again = yield* syscall('mmap', 4096, 3, s.fd);
      expect(s.ctx.maxReqs).toBe(128);
    });
    clean(w);
    expect(h).toEqual({
      id,
      nr: 129,
      head: 0,
      tail: 0,
      magic: AIO_RING_MAGIC,
      compat_features: 1,
      incompat_features: 0,
      header_length: 32,
    });
    expect(AIO_RING_MAGIC).toBe(0xa10a10a1);
    expect(id).toBe(1);
    expect(nr).toBe(128);
    expect(len).toBeGreaterThanOrEqual(32 + 129 * 32);
    expect(again).toBe(ring); // mapping twice gives the same ring
  });

  it('aio_init(k, { ringNr }) sets the size of contexts opened afterwards; earlier ones keep theirs', () => {
    const got: number[] = [];
    const w = world(
      function* (p, k) {
        const a = yield* setup(p, 0);
        aio_init(k, { ringNr: 8 });
        const b = yield* setup(p, 0);
        got.push(header(p.mm.copy_from_user(a.ring, 32)!).nr, header(p.mm.copy_from_user(b.ring, 32)!).nr);
        got.push(aio_limits(k).aioNr, b.ctx.id);
      },
      { ringNr: 4 },
    );
    clean(w);
    expect(got).toEqual([5, 9, 12, 2]);
  });

  it('completed events appear in the mapped bytes (data, obj, res, res2) and tail moves; reaping moves head', () => {
    const got: unknown[] = [];
    const w = world(
      function* (p) {
        const s = yield* setup(p, 2);
        expect(yield* syscall('__submit_ios', s.fd, 2, s.arr)).toBe(2);
        yield* nap(5000);
        const b = p.mm.copy_from_user(s.ring, 32 + 3 * 32)!;
        got.push(header(b).tail, header(b).head, eventAt(b, 0), eventAt(b, 1));
        got.push(p.mm.copy_from_user(s.mem + 16384, 512)!.every((x, i) => x === (i & 0xff)));
        expect(yield* syscall('__io_getevents', s.fd, s.evs, 8, 0)).toBe(2);
        got.push(header(p.mm.copy_from_user(s.ring, 32)!).head);
        got.push(s.iocbs);
      },
      { ringNr: 2 },
    );
    clean(w);
    const iocbs = got[6] as number[];
    expect(got.slice(0, 6)).toEqual([
      2,
      0,
      { data: 100, obj: iocbs[0], res: 512, res2: 0 },
      { data: 101, obj: iocbs[1], res: 512, res2: 0 },
      true,
      2,
    ]);
  });

  it('libaio reaps straight from the mapped ring (tail, smp_rmb, copy, head); the freed slots take new requests', () => {
    const got: number[] = [];
    const w = world(
      function* (p) {
        const s = yield* setup(p, 3);
        got.push(yield* syscall('__submit_ios', s.fd, 3, s.arr)); // ring of 2: 2 accepted
        yield* nap(5000);
        got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr + 16)); // full of unreaped events
        const ring = user_ring(p, s.ring);
        const evs = yield* aio_ring_reap(ring, 8);
        got.push(evs.length, ...evs.map((e) => e.data));
        got.push(header(p.mm.copy_from_user(s.ring, 32)!).head);
        got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr + 16));
        got.push(yield* syscall('__io_getevents', s.fd, s.evs, 8, 0), read_event(p, s.evs, 0).data);
      },
      { ringNr: 2 },
    );
    clean(w);
    expect(got).toEqual([2, -EAGAIN, 2, 100, 101, 2, 1, 1, 102]);
  });
});

describe('read(ctx_fd)', () => {
  it('returns whole io_events: floor(count / 32) at most, blocking until there is one', () => {
    const got: number[] = [];
    const w = world(function* (p, k) {
      const s = yield* setup(p, 3);
      got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr));
      const t0 = k.now;
      got.push(yield* syscall('read', s.fd, s.evs, 100)); // blocks for the first
      got.push(k.now - t0 >= 1000 ? 1 : 0, read_event(p, s.evs, 0).data);
      io_iocb_array(p, s.arr, s.iocbs.slice(1));
      got.push(yield* syscall('__submit_ios', s.fd, 2, s.arr));
      yield* nap(5000);
      got.push(yield* syscall('read', s.fd, s.evs, 40)); // room for one
      got.push(yield* syscall('read', s.fd, s.evs + 32, 100));
      got.push(read_event(p, s.evs, 0).data, read_event(p, s.evs, 1).data);
      got.push(yield* syscall('read', s.fd, s.evs, 31));
    });
    clean(w);
    expect(got).toEqual([1, 32, 1, 100, 2, 32, 32, 101, 102, -EINVAL]);
  });
});

describe('close(ctx_fd) and process exit', () => {
  it('close cancels queued requests (events say -ECANCELED), waits for running ones, unmaps the ring, gives aio-nr back', () => {
    let ctx: Kioctx | null = null;
    let ring = 0;
    const got: number[] = [];
    let closedAt = 0;
    const w = world(
      function* (p, k) {
        // Slot 0: a fallback read on /dev/slow (running in a keventd worker for 50 µs).
        const s = yield* setup(p, 1, '/dev/slow');
        ctx = s.ctx;
        ring = s.ring;
        expect(yield* syscall('__submit_ios', s.fd, 1, s.arr)).toBe(1);
        // Slots 1, 2: reads of /dev/aiotest that complete after 1 ms: still queued at close.
        const t = yield* syscall('open', '/dev/aiotest', O_RDONLY);
        io_prep_pread(p, s.mem + 64, t, s.mem + 20480, 512, 0, 201);
        io_prep_pread(p, s.mem + 128, t, s.mem + 21504, 512, 0, 202);
        io_iocb_array(p, s.arr, [s.mem + 64, s.mem + 128]);
        expect(yield* syscall('__submit_ios', s.fd, 2, s.arr)).toBe(2);
        yield* nap(1000);
        got.push(s.ctx.reqs.filter((r) => r.state === 'running').length);
        got.push(s.ctx.reqs.filter((r) => r.state === 'queued').length);
        got.push(aio_limits(k).aioNr);
        got.push(yield* syscall('close', s.fd));
        closedAt = k.now;
        got.push(aio_limits(k).aioNr, aio_limits(k).contexts.length, aio_limits(k).reqsActive);
        got.push(p.mm.copy_from_user(ring, 32) === null ? 1 : 0);
        // The unmapped ring now faults for the syscalls too.
        got.push(yield* syscall('pwrite', s.dfd, ring, 32, 0));
      },
      { ringNr: 4, latencyNs: 1_000_000, slowNs: 50_000 },
    );
    clean(w);
    expect(got).toEqual([1, 2, 4, 0, 0, 0, 0, 1, -EFAULT]);
    // close returned after the running read finished.
    expect(w.log.calls).toHaveLength(1);
    expect(closedAt).toBeGreaterThanOrEqual(w.log.calls[0]![3]);
    // Three events went to the ring: the two cancelled reads and the finished one.
    const c = ctx as unknown as Kioctx;
    expect(c.published).toBe(3);
    const evs = [0, 1, 2].map((i) => eventAt(c.ringBytes, i));
    expect(
      evs
        .filter((e) => e.res === -ECANCELED)
        .map((e) => e.data)
        .sort(),
    ).toEqual([201, 202]);
    expect(evs.filter((e) => e.data === 100).map((e) => e.res)).toEqual([512]);
    expect(w.k.stats['aio.cancelled']).toBe(2);
    expect(w.p.mm.regions.some((r) => r.what === 'aio-ring')).toBe(false);
  });

  it('process exit does the same: cancel, wait, unmap, account', () => {
    let ctx: Kioctx | null = null;
    const w = world(
      function* (p) {
        const s = yield* setup(p, 1, '/dev/slow');
        ctx = s.ctx;
        expect(yield* syscall('__submit_ios', s.fd, 1, s.arr)).toBe(1);
        const t = yield* syscall('open', '/dev/aiotest', O_RDONLY);
        io_prep_pread(p, s.mem + 64, t, s.mem + 20480, 512, 0, 201);
        io_iocb_array(p, s.arr, [s.mem + 64]);
        expect(yield* syscall('__submit_ios', s.fd, 1, s.arr)).toBe(1);
        yield* nap(1000);
        // exit without closing anything
      },
      { ringNr: 4, latencyNs: 1_000_000, slowNs: 50_000 },
    );
    clean(w);
    const c = ctx as unknown as Kioctx;
    expect(c.dead).toBe(true);
    expect(c.reqsActive).toBe(0);
    expect(aio_limits(w.k).aioNr).toBe(0);
    expect(aio_limits(w.k).contexts).toHaveLength(0);
    expect(w.p.mm.regions.some((r) => r.what === 'aio-ring')).toBe(false);
    expect(w.log.calls.map((x) => x[0])).toEqual(['read']);
    expect(w.k.now).toBeGreaterThanOrEqual(w.log.calls[0]![3]);
    const evs = [0, 1].map((i) => eventAt(c.ringBytes, i));
    expect(evs.map((e) => [e.data, e.res]).sort()).toEqual([
      [100, 512],
      [201, -ECANCELED],
    ]);
  });
});

describe('opcodes and the fallback path', () => {
  it('NOOP completes at once with res 0', () => {
    const got: unknown[] = [];
    const w = world(function* (p) {
      const s = yield* setup(p, 0);
      io_prep_noop(p, s.mem, s.dfd, 77);
      io_iocb_array(p, s.arr, [s.mem]);
      got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr));
      timespec(p, s.ts, 0);
      got.push(yield* syscall('__io_getevents', s.fd, s.evs, 4, s.ts));
      got.push(read_event(p, s.evs, 0), s.mem);
    });
    clean(w);
    expect(got[0]).toBe(1);
    expect(got[1]).toBe(1);
    expect(got[2]).toEqual({ data: 77, obj: got[3], res: 0, res2: 0 });
  });

  it('a file without AIO methods: PREAD, PWRITE, FSYNC and FDSYNC run its sync methods on a keventd worker', () => {
    const got: unknown[] = [];
    const w = world(function* (p) {
      const s = yield* setup(p, 1, '/dev/slow');
      const m = s.mem;
      p.mm.copy_to_user(m + 30000, new Uint8Array([9, 8, 7, 6]));
      io_prep_pwrite(p, m + 64, s.dfd, m + 30000, 4, 0, 2);
      io_prep_fsync(p, m + 128, s.dfd, 3);
      io_prep_fdsync(p, m + 192, s.dfd, 4);
      io_iocb_array(p, s.arr, [m, m + 64, m + 128, m + 192]);
      got.push(yield* syscall('__submit_ios', s.fd, 4, s.arr));
      const res = new Map<number, number>();
      while (res.size < 4) {
        const n = yield* syscall('__io_getevents', s.fd, s.evs, 4, 0);
        for (let i = 0; i < n; i++) {
          const e = read_event(p, s.evs, i);
          res.set(e.data, e.res);
        }
      }
      got.push(
        [...res.entries()].sort((a, b) => a[0] - b[0]),
        p.mm.copy_from_user(m + 16384, 512)!.every((x, i) => x === (i & 0xff)),
      );
    });
    clean(w);
    expect(got).toEqual([
      4,
      [
        [2, 4],
        [3, 0],
        [4, 0],
        [100, 512],
      ],
      true,
    ]);
    expect(w.log.calls.map((c) => c[0]).sort()).toEqual(['fdatasync', 'fsync', 'read', 'write']);
    expect(w.log.calls.every((c) => c[1].startsWith('keventd'))).toBe(true);
    expect([...w.log.written[0]!]).toEqual([9, 8, 7, 6]);
    expect(IOCB_CMD_FSYNC).toBe(2);
    expect(IOCB_CMD_FDSYNC).toBe(3);
  });

  it('no file the simulator provides reaches the fallback: the page-cache files run their own AIO methods', () => {
    // The fallback runs a synchronous method on a keventd worker, where a sleep on a page lock
    // held by a queued worktodo would never end. Only files without the AIO method reach it;
    // every file the simulator registers (disks, md0, raw, filesystem files, /dev/aiotest) is
    // opened here and sent every opcode: none may be served by the fallback (its routines are
    // labelled 'aio <op>' on keventd). /dev/slow, a file with sync methods only, is the control.
    const k = new Kernel({ cpus: 2, timed: true, trace: true });
    aio_init(k);
    register_aiotest(k, 1000);
    const disks = setup_disks(k, {
      disks: 2,
      model: 'ram',
      diskBytes: 4 << 20,
      raid0: true,
      fs: { blocks: 64, maxInodes: 4 },
      raw: true,
    });
    fs_mkfile(disks.fs!, 'f', 8192);
    const log: SlowLog = { calls: [], written: [] };
    register_path(k, '/dev/slow', function* (_p, path, flags) {
      return new File(slowOps(log, 0), flags, path);
    });
    const fallbacks: string[] = [];
    let opening = '';
    k.events.on('trace', (ev) => {
      if (ev.kind === 'tq.queue' && ev.what.startsWith('aio ')) fallbacks.push(`${opening}: ${ev.what}`);
    });
    const paths = [...syscalls(k).paths.keys()].filter((x) => x !== '/dev/aio').concat('/mnt/f');
    const unserved: string[] = [];
    const results: Record<string, (number | undefined)[]> = {};
    create_process(k, 'app', function* (p) {
      const u = yield* aio_user(p, 8);
      const buf = p.mm.mmap(8192);
      for (const path of paths)
        for (const flags of [O_RDWR | O_CREAT, O_RDWR | O_DIRECT]) {
          const fd = yield* syscall('open', path, flags);
          if (fd < 0) throw new Error(`open ${path}: ${fd}`);
          const f = p.fget(fd)!;
          const m = f.f_op as FileOperations & AioMethods;
          // io_submit's dispatch: the fallback is taken when the sync method is there and the AIO one is not.
          if (m.aio_read === undefined && m.read !== undefined) unserved.push(`${path}: read`);
          if (m.aio_write === undefined && m.write !== undefined) unserved.push(`${path}: write`);
          if (m.aio_fsync === undefined && m.fsync !== undefined) unserved.push(`${path}: fsync`);
          opening = path;
          const pos = path.startsWith('/mnt/') ? 0 : 1 << 20;
          const r = yield* aio_batch(
            u,
            [IOCB_CMD_PREAD, IOCB_CMD_PWRITE, IOCB_CMD_FSYNC, IOCB_CMD_FDSYNC].map((op) => ({
              op,
              fd,
              buf,
              len: 4096,
              pos,
            })),
          );
          results[`${path} ${flags & O_DIRECT ? 'direct' : 'buffered'}`] = r.res;
          yield* syscall('close', fd);
        }
    });
    const r = k.run();
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('done');
    expect(paths).toEqual(
      expect.arrayContaining(['/dev/sda', '/dev/sdb', '/dev/md0', '/dev/raw1', '/dev/aiotest', '/mnt/f']),
    );
    // The control did go through the fallback (read, write, fsync, fdatasync, twice).
    expect(fallbacks.filter((x) => x.startsWith('/dev/slow:'))).toHaveLength(8);
    expect(unserved.filter((x) => !x.startsWith('/dev/slow:'))).toEqual([]);
    expect(fallbacks.filter((x) => !x.startsWith('/dev/slow:'))).toEqual([]);
    // Every request got its event: the page-cache and direct paths served them (aiotest has no
    // write or fsync at all: -EINVAL at submission, so the batch stops after its read).
    expect(results['/mnt/f buffered']).toEqual([4096, 4096, 0, 0]);
    expect(results['/dev/raw1 direct']).toEqual([4096, 4096, 0, 0]);
    expect(results['/dev/md0 buffered']).toEqual([4096, 4096, 0, 0]);
    expect(results['/dev/aiotest buffered']).toEqual([4096, undefined, undefined, undefined]);
  });
});

describe('__io_getevents', () => {
  it('blocks until at least one event, then takes what is there up to nr', () => {
    const got: number[] = [];
    const w = world(function* (p, k) {
      const s = yield* setup(p, 3);
      got.push(yield* syscall('__submit_ios', s.fd, 3, s.arr));
      const t0 = k.now;
      got.push(yield* syscall('__io_getevents', s.fd, s.evs, 2, 0));
      got.push(k.now - t0 >= 1000 ? 1 : 0);
      yield* nap(5000);
      got.push(yield* syscall('__io_getevents', s.fd, s.evs, 2, 0));
    });
    clean(w);
    // The first call wakes at the first completion; it may already find a second one.
    expect(got[0]).toBe(3);
    expect(got[1]! + got[3]!).toBe(3);
    expect(got[1]).toBeGreaterThanOrEqual(1);
    expect(got[2]).toBe(1);
  });

  it('{0,0} polls: 0 at once when nothing is there', () => {
    const got: number[] = [];
    const w = world(function* (p, k) {
      const s = yield* setup(p, 1);
      got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr));
      timespec(p, s.ts, 0);
      const t0 = k.now;
      got.push(yield* syscall('__io_getevents', s.fd, s.evs, 1, s.ts));
      got.push(k.now - t0 < 1000 ? 1 : 0);
      got.push(yield* syscall('__io_getevents', s.fd, s.evs, 1, 0));
    });
    clean(w);
    expect(got).toEqual([1, 0, 1, 1]);
  });

  it('a timeout returns 0 once the time has passed', () => {
    const got: number[] = [];
    const w = world(
      function* (p, k) {
        const s = yield* setup(p, 1);
        got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr));
        timespec(p, s.ts, 20_000);
        const t0 = k.now;
        got.push(yield* syscall('__io_getevents', s.fd, s.evs, 1, s.ts));
        got.push(k.now - t0 >= 20_000 ? 1 : 0);
        timespec(p, s.ts, 1_000_000_000); // 1 s: the event comes first
        got.push(yield* syscall('__io_getevents', s.fd, s.evs, 1, s.ts));
      },
      { latencyNs: 100_000 },
    );
    clean(w);
    expect(got).toEqual([1, 0, 1, 1]);
  });

  it('NULL timeout waits forever: with nothing to come, the run hangs in __io_getevents', () => {
    const w = world(function* (p) {
      const s = yield* setup(p, 0);
      yield* syscall('__io_getevents', s.fd, s.evs, 1, 0);
    });
    expect(w.status).toBe('hang');
    expect(w.violations[0]?.kind).toBe('hang');
    expect(w.violations[0]?.message).toMatch(
      /app \(pid \d+\) sleeps in TASK_INTERRUPTIBLE on aio ctx1 events/,
    );
  });

  it('a signal (kill from another process) → -EINTR', () => {
    let got = 0;
    let when = 0;
    const k = new Kernel({ cpus: 2, timed: true, trace: false });
    aio_init(k, { ringNr: 2 });
    const app = create_process(k, 'app', function* (p) {
      const fd = yield* syscall('open', '/dev/aio', O_RDWR);
      const evs = p.mm.mmap(4096);
      got = yield* syscall('__io_getevents', fd, evs, 1, 0);
      when = k.now;
    });
    create_process(k, 'killer', function* () {
      yield* syscall('nanosleep', 7000);
      yield* syscall('kill', app.pid);
    });
    const r = k.run();
    expect(r.violations).toEqual([]);
    expect(got).toBe(-EINTR);
    expect(when).toBeGreaterThanOrEqual(7000);
  });
});

describe('__io_wait', () => {
  it('0 when the request completes (its event stays in the ring); 0 if it had already completed', () => {
    const got: number[] = [];
    const w = world(function* (p, k) {
      const s = yield* setup(p, 2);
      got.push(yield* syscall('__submit_ios', s.fd, 2, s.arr));
      const [a, b] = s.iocbs as [number, number];
      const t0 = k.now;
      got.push(yield* syscall('__io_wait', s.fd, iocb_key(p, a), a, 0));
      got.push(k.now - t0 >= 1000 ? 1 : 0);
      yield* nap(5000);
      got.push(yield* syscall('__io_wait', s.fd, iocb_key(p, b), b, 0));
      timespec(p, s.ts, 0);
      got.push(yield* syscall('__io_getevents', s.fd, s.evs, 4, s.ts));
    });
    clean(w);
    expect(got).toEqual([2, 0, 1, 0, 2]);
  });

  it('-ETIME when the timeout passes first; -EINVAL for a wrong key', () => {
    const got: number[] = [];
    const w = world(
      function* (p) {
        const s = yield* setup(p, 1);
        got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr));
        const a = s.iocbs[0]!;
        timespec(p, s.ts, 10_000);
        got.push(yield* syscall('__io_wait', s.fd, iocb_key(p, a), a, s.ts));
        got.push(yield* syscall('__io_wait', s.fd, iocb_key(p, a), a + 64, s.ts));
        got.push(yield* syscall('__io_wait', s.fd, iocb_key(p, a), a, 0)); // now without a timeout
      },
      { latencyNs: 100_000 },
    );
    clean(w);
    expect(got).toEqual([1, -ETIME, -EINVAL, 0]);
  });
});

describe('__io_cancel', () => {
  it('0, then the request’s event (data, obj) says -ECANCELED; its slot is free again', () => {
    const got: unknown[] = [];
    const w = world(
      function* (p) {
        const s = yield* setup(p, 1);
        got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr));
        const a = s.iocbs[0]!;
        got.push(yield* syscall('__io_cancel', s.fd, iocb_key(p, a), a));
        got.push(s.ctx.reqsActive, s.ctx.reqs[0]!.state);
        got.push(yield* syscall('__io_getevents', s.fd, s.evs, 4, 0));
        got.push(read_event(p, s.evs, 0), a);
        // A second cancel of the same request: nothing to cancel.
        got.push(yield* syscall('__io_cancel', s.fd, iocb_key(p, a), a));
        timespec(p, s.ts, 0);
        got.push(yield* syscall('__io_getevents', s.fd, s.evs, 4, s.ts));
      },
      { latencyNs: 1_000_000 },
    );
    clean(w);
    expect(got.slice(0, 5)).toEqual([1, 0, 0, 'free', 1]);
    expect(got[5]).toEqual({ data: 100, obj: got[6], res: -ECANCELED, res2: 0 });
    expect(got.slice(7)).toEqual([-EAGAIN, 0]);
    expect(w.k.now).toBeLessThan(1_000_000); // the cancelled timer never fired
  });

  it('-EAGAIN for a running request (it completes normally) and for a completed one', () => {
    const got: number[] = [];
    const w = world(
      function* (p) {
        const s = yield* setup(p, 1, '/dev/slow');
        got.push(yield* syscall('__submit_ios', s.fd, 1, s.arr));
        yield* nap(1000);
        const a = s.iocbs[0]!;
        got.push(yield* syscall('__io_cancel', s.fd, iocb_key(p, a), a));
        got.push(yield* syscall('__io_getevents', s.fd, s.evs, 4, 0), read_event(p, s.evs, 0).res);
        got.push(yield* syscall('__io_cancel', s.fd, iocb_key(p, a), a));
      },
      { slowNs: 20_000 },
    );
    clean(w);
    expect(got).toEqual([1, -EAGAIN, 1, 512, -EAGAIN]);
  });
});

describe('__submit_ios and aio_key', () => {
  it('writes each request’s slot number into its iocb’s aio_key; events name the iocb in obj', () => {
    const got: unknown[] = [];
    const w = world(
      function* (p) {
        const s = yield* setup(p, 3);
        got.push(s.iocbs.map((a) => iocb_key(p, a)));
        got.push(yield* syscall('__submit_ios', s.fd, 3, s.arr));
        got.push(s.iocbs.map((a) => iocb_key(p, a)));
        const byObj = new Map<number, number>();
        while (byObj.size < 3) {
          const n = yield* syscall('__io_getevents', s.fd, s.evs, 4, 0);
          for (let i = 0; i < n; i++) {
            const e = read_event(p, s.evs, i);
            byObj.set(e.obj, e.data);
          }
        }
        got.push(s.iocbs.map((a) => byObj.get(a)));
      },
      { ringNr: 4 },
    );
    clean(w);
    expect(got[0]).toEqual([0, 0, 0]);
    expect(got[1]).toBe(3);
    const keys = got[2] as number[];
    expect(new Set(keys).size).toBe(3);
    expect(keys.every((x) => x >= 0 && x < 4)).toBe(true);
    expect(got[3]).toEqual([100, 101, 102]);
  });

  it('returns the count accepted; an error only when the first iocb fails', () => {
    const got: number[] = [];
    const w = world(
      function* (p) {
        const s = yield* setup(p, 3);
        got.push(yield* syscall('__submit_ios', s.fd, 3, s.arr)); // ring of 2
        yield* nap(5000);
        got.push(yield* syscall('__io_getevents', s.fd, s.evs, 4, 0));
        // [good, bad opcode, good]: 1.
        io_prep(p, s.mem + 64, 9, s.dfd, s.mem + 16384, 512, 0, 1);
        io_iocb_array(p, s.arr, s.iocbs);
        got.push(yield* syscall('__submit_ios', s.fd, 3, s.arr));
        // [bad, good]: the errno.
        io_iocb_array(p, s.arr, [s.mem + 64, s.mem]);
        got.push(yield* syscall('__submit_ios', s.fd, 2, s.arr));
        got.push(s.ctx.reqsActive);
      },
      { ringNr: 2 },
    );
    clean(w);
    expect(got).toEqual([2, 2, 1, -EINVAL, 1]);
  });
});

describe('per-context ring size', () => {
  it('/dev/aio/<n> opens a context with n request slots; bad sizes are refused', async () => {
    const { Kernel } = await import('../../src/kernel/kernel.js');
    const { create_process, syscall } = await import('../../src/kernel/syscalls.js');
    const { aio_init } = await import('../../src/aio/syscalls.js');
    const { aio_limits } = await import('../../src/aio/limits.js');
    const { O_RDWR } = await import('../../src/kernel/process.js');
    const k = new Kernel({ cpus: 1, trace: false });
    aio_init(k);
    const got: number[] = [];
    let slots = -1;
    let defaultSlots = -1;
    create_process(k, 'app', function* () {
      const fd = yield* syscall('open', '/dev/aio/32', O_RDWR);
      got.push(fd);
      slots = aio_limits(k).contexts.at(-1)!.maxReqs;
      got.push(yield* syscall('open', '/dev/aio/0', O_RDWR));
      got.push(yield* syscall('open', '/dev/aio/abc', O_RDWR));
      got.push(yield* syscall('open', '/dev/aio', O_RDWR));
      defaultSlots = aio_limits(k).contexts.at(-1)!.maxReqs;
    });
    k.run();
    expect(got[0]).toBeGreaterThanOrEqual(0);
    expect(slots).toBe(32);
    expect(got[1]).toBe(-22);
    expect(got[2]).toBe(-2);
    expect(got[3]).toBeGreaterThanOrEqual(0);
    expect(defaultSlots).toBe(128);
  });
});
