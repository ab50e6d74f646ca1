/**
 * Asynchronous direct IO: raw devices and O_DIRECT files through `/dev/aio`, the kvec layer
 * (`rw_kiovec`, `brw_kvec_async`), chunking at `aio-max-size`, the pinned-memory limit, the
 * alignment rule, coherence with the page cache, cancellation while queued, a submitter that
 * never sleeps, and keventd workers that never sleep on a page lock a queued worktodo holds.
 */
import { describe, expect, it } from 'vitest';
import {
  IOCB_CMD_FSYNC,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
  kvec_of,
  map_user_kvec,
  rw_kiovec,
  unmap_kvec,
} from '../../src/aio/index.js';
import { io_iocb_array, io_prep, iocb_key, read_event } from '../../src/aio/libaio.js';
import { aio_stats } from '../../src/aio/stats.js';
import { aio_init } from '../../src/aio/syscalls.js';
import { READ, WRITE } from '../../src/devices/blkdev.js';
import { pin_state } from '../../src/devices/kiobuf.js';
import { type SetupDisksOptions, setup_disks } from '../../src/devices/setup.js';
import { fs_read_ondisk } from '../../src/devices/simplefs.js';
import { seeded } from '../../src/kernel/chooser.js';
import { ECANCELED, EINVAL } from '../../src/kernel/errno.js';
import { Kernel, type KernelConfig } from '../../src/kernel/kernel.js';
import { O_CREAT, O_DIRECT, O_DSYNC, O_RDWR, type Process } from '../../src/kernel/process.js';
import { current } from '../../src/kernel/sched.js';
import { create_process, syscall } from '../../src/kernel/syscalls.js';
import type { Task } from '../../src/kernel/task.js';
import { REGION_OFF, smallMachine } from '../devices/small-machine.js';
import { type AioReq, aio_batch, aio_user, fill } from './helpers.js';

const KiB = 1024;

function world(
  disks: Partial<SetupDisksOptions> = {},
  aio: Parameters<typeof aio_init>[1] = {},
  config: Partial<KernelConfig> = {},
) {
  const k = new Kernel({ cpus: 2, timed: true, trace: false, irqAffinity: 0, ...config }, seeded(7));
  const s = setup_disks(k, {
    disks: 1,
    model: 'ram',
    raw: true,
    fs: { blocks: 512 },
    diskBytes: 8 << 20,
    ...disks,
  });
  aio_init(k, aio);
  return { k, s };
}

function runOk(k: Kernel): void {
  const r = k.run({ maxSteps: 5_000_000 });
  expect(r.violations.map((v) => v.message)).toEqual([]);
  expect(r.status).toBe('done');
}

describe('raw device AIO', () => {
  it('reads what is on the device, one event per request, nothing pinned afterwards', () => {
    const { k, s } = world();
    const disk = s.disks[0]!;
    const want = fill(3, 256 * KiB);
    disk.poke(1 << 20, want);
    let out: { res: (number | undefined)[]; events: number; strays: number; bytes: Uint8Array[] } | null =
      null;
    create_process(
      k,
      'app',
      function* (p) {
        const u = yield* aio_user(p);
        const fd = yield* syscall('open', '/dev/raw1', O_RDWR);
        const buf = p.mm.mmap(256 * KiB);
        const reqs: AioReq[] = [];
        for (let i = 0; i < 16; i++)
          reqs.push({
            op: IOCB_CMD_PREAD,
            fd,
            buf: buf + i * 16 * KiB,
            len: (i % 4) * 4 * KiB + 512,
            pos: (1 << 20) + i * 16 * KiB,
          });
        const r = yield* aio_batch(u, reqs);
        const bytes = reqs.map((q) => p.mm.copy_from_user(q.buf, q.len)!);
        out = { res: r.res, events: r.events, strays: r.strays, bytes };
        yield* syscall('close', u.ctx);
      },
      { cpu: 1, pinned: true },
    );
    runOk(k);
    const o = out!;
    expect(o.events).toBe(16);
    expect(o.strays).toBe(0);
    for (let i = 0; i < 16; i++) {
      const len = (i % 4) * 4 * KiB + 512;
      expect(o.res[i]).toBe(len);
      expect(Buffer.from(o.bytes[i]!).equals(want.subarray(i * 16 * KiB, i * 16 * KiB + len))).toBe(true);
    }
    const st = aio_stats(k);
    expect(st['aio.pinned']).toBe(0);
    expect(st['aio.reqsActive']).toBe(0);
    expect(st['aio.nr']).toBe(0);
    expect(k.stats['aio.direct.reads']).toBe(16);
  });

  it('splits a request at aio-max-size; each chunk starts from the previous one’s completion', () => {
    const { k, s } = world({}, { aioMaxSize: 8 * KiB });
    const disk = s.disks[0]!;
    const want = fill(9, 64 * KiB);
    disk.poke(512 * KiB, want);
    let res: (number | undefined)[] = [];
    let got: Uint8Array = new Uint8Array(0);
    let wrote: (number | undefined)[] = [];
    create_process(k, 'app', function* (p) {
      const u = yield* aio_user(p);
      const fd = yield* syscall('open', '/dev/raw1', O_RDWR);
      const buf = p.mm.mmap(64 * KiB);
      res = (yield* aio_batch(u, [{ op: IOCB_CMD_PREAD, fd, buf, len: 64 * KiB, pos: 512 * KiB }])).res;
      got = p.mm.copy_from_user(buf, 64 * KiB)!;
      // And back, 64 KiB further, as a write of eight chunks.
      wrote = (yield* aio_batch(u, [{ op: IOCB_CMD_PWRITE, fd, buf, len: 64 * KiB, pos: 576 * KiB }])).res;
    });
    const before = k.stats['wtd.queued'] ?? 0;
    runOk(k);
    expect(res).toEqual([64 * KiB]);
    expect(Buffer.from(got).equals(want)).toBe(true);
    expect(wrote).toEqual([64 * KiB]);
    expect(Buffer.from(disk.peek(576 * KiB, 64 * KiB)).equals(want)).toBe(true);
    // Seven further chunks per request were queued to a worker from the interrupt.
    expect((k.stats['wtd.queued'] ?? 0) - before).toBeGreaterThanOrEqual(14);
    expect(k.stats['kiobuf.pinnedPeak']).toBeLessThanOrEqual(8 * KiB);
  });

  it('rejects misaligned requests with -EINVAL at submission, changing nothing', () => {
    const { k } = world();
    const results: number[] = [];
    create_process(k, 'app', function* (p) {
      const u = yield* aio_user(p);
      const fd = yield* syscall('open', '/dev/raw1', O_RDWR);
      const buf = p.mm.mmap(16 * KiB);
      for (const r of [
        { op: IOCB_CMD_PREAD, fd, buf: buf + 1, len: 512, pos: 0 },
        { op: IOCB_CMD_PREAD, fd, buf, len: 700, pos: 0 },
        { op: IOCB_CMD_PWRITE, fd, buf, len: 512, pos: 100 },
      ])
        results.push((yield* aio_batch(u, [r])).submitted);
    });
    runOk(k);
    expect(results).toEqual([-EINVAL, -EINVAL, -EINVAL]);
    expect(k.stats['aio.submitted'] ?? 0).toBe(0);
  });

  it('waits for pin room without sleeping in the submitter; a request still waiting can be cancelled', () => {
    // HDD: the first requests are still in flight when the third one asks for pins.
    const { k } = world({ model: 'hdd', pinnedLimitBytes: 16 * KiB });
    let res: (number | undefined)[] = [];
    let cancel = 1;
    let switches = -1;
    let peak = 0;
    create_process(
      k,
      'app',
      function* (p) {
        const u = yield* aio_user(p);
        const fd = yield* syscall('open', '/dev/raw1', O_RDWR);
        const buf = p.mm.mmap(64 * KiB);
        const reqs: AioReq[] = [0, 1, 2, 3].map((i) => ({
          op: IOCB_CMD_PREAD,
          fd,
          buf: buf + i * 16 * KiB,
          len: 8 * KiB,
          pos: i * 64 * KiB,
        }));
        // Submit the first three; the third waits for pins (8 + 8 KiB already pinned).
        const me = current() as Task;
        const s0 = me.switches;
        const iocbs = reqs.map((r, i) => {
          const at = u.mem + i * 64;
          io_prep(p, at, r.op, r.fd, r.buf, r.len, r.pos, i + 1);
          return at;
        });
        io_iocb_array(p, u.mem + 8192, iocbs);
        const n = yield* syscall('__submit_ios', u.ctx, 3, u.mem + 8192);
        switches = me.switches - s0;
        peak = pin_state(k).pinnedBytes;
        cancel = yield* syscall('__io_cancel', u.ctx, iocb_key(p, iocbs[2]!), iocbs[2]!);
        // The fourth, submitted after, waits too and completes once pins come back.
        const n2 = yield* syscall('__submit_ios', u.ctx, 1, u.mem + 8192 + 24);
        if (n !== 3 || n2 !== 1) throw new Error(`submitted ${n}, ${n2}`);
        const evs = u.mem + 16384;
        res = [undefined, undefined, undefined, undefined];
        let got = 0;
        while (got < 4) {
          const m = yield* syscall('__io_getevents', u.ctx, evs, 4, 0);
          for (let i = 0; i < m; i++) {
            const ev = read_event(p, evs, i);
            res[ev.data - 1] = ev.res;
          }
          got += m;
        }
      },
      { cpu: 1, pinned: true },
    );
    runOk(k);
    expect(switches).toBe(0);
    expect(peak).toBe(16 * KiB);
    expect(cancel).toBe(0);
    expect(res).toEqual([8 * KiB, 8 * KiB, -ECANCELED, 8 * KiB]);
    expect(k.stats['aio.direct.pinWaits']).toBeGreaterThanOrEqual(2);
    expect(k.stats['kiobuf.pinnedPeak']).toBeLessThanOrEqual(16 * KiB);
    expect(pin_state(k).pinnedBytes).toBe(0);
  });
});

describe('O_DIRECT file AIO', () => {
  it('writes extend the file under i_sem, reads see them, and dirty cached pages are written first', () => {
    const { k, s } = world();
    let res: (number | undefined)[] = [];
    let res2: (number | undefined)[] = [];
    let readBack: Uint8Array = new Uint8Array(0);
    const data = fill(5, 40 * KiB);
    create_process(k, 'app', function* (p) {
      const u = yield* aio_user(p);
      const fd = yield* syscall('open', '/mnt/f', O_CREAT | O_RDWR | O_DIRECT);
      const fdb = yield* syscall('open', '/mnt/f', O_RDWR);
      const buf = p.mm.mmap(64 * KiB);
      p.mm.copy_to_user(buf, data);
      // Two writes to disjoint ranges, in one batch: both extend the file.
      res = (yield* aio_batch(u, [
        { op: IOCB_CMD_PWRITE, fd, buf, len: 20 * KiB, pos: 0 },
        { op: IOCB_CMD_PWRITE, fd, buf: buf + 20 * KiB, len: 20 * KiB, pos: 20 * KiB },
      ])).res;
      // A buffered write leaves a dirty page; the direct read must see it.
      p.mm.copy_to_user(buf + 60 * KiB, fill(77, 100));
      yield* syscall('pwrite', fdb, buf + 60 * KiB, 100, 4096 + 10);
      res2 = (yield* aio_batch(u, [{ op: IOCB_CMD_PREAD, fd, buf: buf + 40 * KiB, len: 8 * KiB, pos: 0 }]))
        .res;
      readBack = p.mm.copy_from_user(buf + 40 * KiB, 8 * KiB)!;
    });
    runOk(k);
    expect(res).toEqual([20 * KiB, 20 * KiB]);
    expect(res2).toEqual([8 * KiB]);
    const want = data.slice(0, 8 * KiB);
    want.set(fill(77, 100), 4096 + 10);
    expect(Buffer.from(readBack).equals(want)).toBe(true);
    expect(k.stats['aio.direct.flushes']).toBe(1);
    const ondisk = fs_read_ondisk(s.fs!, 'f');
    expect(ondisk.length).toBe(40 * KiB);
    const whole = data.slice();
    whole.set(fill(77, 100), 4096 + 10);
    expect(Buffer.from(ondisk).equals(whole)).toBe(true);
  });
});

describe('the in-kernel kvec API', () => {
  it('rw_kiovec reads and writes kernel pages and pinned user pages through kvec_read / kvec_write', () => {
    const { k, s } = world();
    const disk = s.disks[0]!;
    disk.poke(2 << 20, fill(11, 8 * KiB));
    let r1 = 0;
    let r2 = 0;
    let r3 = 0;
    let bad = 0;
    const pageA = { data: new Uint8Array(4096) };
    const pageB = { data: new Uint8Array(4096) };
    let user: Uint8Array = new Uint8Array(0);
    create_process(k, 'app', function* (p: Process) {
      const fd = yield* syscall('open', '/dev/raw1', O_RDWR);
      const file = p.fget(fd)!;
      // Two half pages of two kernel pages: 8 KiB at 2 MiB.
      const vec = kvec_of([
        { page: pageA, offset: 2048, length: 2048 },
        { page: pageB, offset: 0, length: 4096 },
        { page: pageA, offset: 0, length: 2048 },
      ]);
      r1 = yield* rw_kiovec(file, READ, vec, 8 * KiB, 2 << 20);
      // Write the same vector 1 MiB further.
      r2 = yield* rw_kiovec(file, WRITE, vec, 8 * KiB, 3 << 20);
      // A pinned user range read back from there.
      const buf = p.mm.mmap(8 * KiB);
      const uv = yield* map_user_kvec(READ, p, buf, 8 * KiB);
      if (typeof uv === 'number') throw new Error(`map_user_kvec ${uv}`);
      r3 = yield* rw_kiovec(file, READ, uv, 8 * KiB, 3 << 20);
      yield* unmap_kvec(uv);
      user = p.mm.copy_from_user(buf, 8 * KiB)!;
      bad = yield* rw_kiovec(file, READ, kvec_of([{ page: pageA, offset: 100, length: 512 }]), 512, 0);
    });
    runOk(k);
    expect([r1, r2, r3, bad]).toEqual([8 * KiB, 8 * KiB, 8 * KiB, -EINVAL]);
    const want = fill(11, 8 * KiB);
    expect(Buffer.from(pageA.data.subarray(2048)).equals(want.subarray(0, 2048))).toBe(true);
    expect(Buffer.from(pageB.data).equals(want.subarray(2048, 6144))).toBe(true);
    expect(Buffer.from(pageA.data.subarray(0, 2048)).equals(want.subarray(6144))).toBe(true);
    expect(Buffer.from(disk.peek(3 << 20, 8 * KiB)).equals(want)).toBe(true);
    expect(Buffer.from(user).equals(want)).toBe(true);
    expect(pin_state(k).pinnedBytes).toBe(0);
  });
});

describe('direct AIO coherence on the keventd workers', () => {
  // Regression: a raw read's coherence write-back ran `filemap_fdatasync`/`filemap_fdatawait` on a
  // keventd worker, sleeping in `lock_page`/`wait_on_page`. An aio_fsync of the same page
  // (`__wtd_lock_page_waiter`) took the page lock for its wtd and queued it on the pool while
  // both workers slept on that page: nothing could run the wtd that would unlock it, and three
  // requests never completed. The run is the integrity property's counterexample, rebuilt here.
  it('a raw read writing back a page whose lock an aio_fsync wtd takes completes (no worker sleeps on it)', () => {
    const SLOT = 16 * KiB;
    const { k, s } = smallMachine(1, true, 'sc', 16 * KiB);
    aio_init(k, { ringNr: 8, aioMaxSize: 8 * KiB });
    // Each process opens its target as the property does: buffered, O_DSYNC, direct.
    function* opens(buffered: string, direct: string, directFlags: number) {
      const fdB = yield* syscall('open', buffered, O_CREAT | O_RDWR);
      yield* syscall('open', buffered, O_RDWR | O_DSYNC);
      const fdD = yield* syscall('open', direct, O_RDWR | directFlags);
      return { fdB, fdD };
    }
    let resA: (number | undefined)[] = [];
    create_process(k, 'A', function* (p) {
      const { fdB } = yield* opens('/mnt/f', '/mnt/f', O_DIRECT);
      const u = yield* aio_user(p, 8);
      p.mm.mmap(4 * SLOT);
      const rbuf = p.mm.mmap(4 * SLOT);
      resA = (yield* aio_batch(u, [{ op: IOCB_CMD_PREAD, fd: fdB, buf: rbuf, len: 1, pos: 0 }])).res;
      yield* syscall('close', u.ctx);
    });
    const data = fill(0, 8193);
    let res1: (number | undefined)[] = [];
    let res2: (number | undefined)[] = [];
    let strays = -1;
    let reads: Uint8Array[] = [];
    create_process(k, 'B', function* (p) {
      const { fdB, fdD } = yield* opens('/dev/sda', '/dev/raw1', 0);
      const u = yield* aio_user(p, 8);
      const wbuf = p.mm.mmap(4 * SLOT);
      const rbuf = p.mm.mmap(4 * SLOT);
      p.mm.copy_to_user(wbuf, data);
      // A buffered write dirties pages 0-2 of the region (page 2 by one byte: read first).
      res1 = (yield* aio_batch(u, [{ op: IOCB_CMD_PWRITE, fd: fdB, buf: wbuf, len: 8193, pos: REGION_OFF }]))
        .res;
      // Two raw reads of page 2 (each writes it back first, on a worker), an aio_fsync that
      // wants its lock, and a buffered read.
      const r = yield* aio_batch(u, [
        { op: IOCB_CMD_PREAD, fd: fdD, buf: rbuf, len: 512, pos: REGION_OFF + 8192 },
        { op: IOCB_CMD_FSYNC, fd: fdB, buf: 0, len: 0, pos: 0 },
        { op: IOCB_CMD_PREAD, fd: fdD, buf: rbuf + 2 * SLOT, len: 512, pos: REGION_OFF + 8192 },
        { op: IOCB_CMD_PREAD, fd: fdB, buf: rbuf + 3 * SLOT, len: 1, pos: REGION_OFF },
      ]);
      res2 = r.res;
      strays = r.strays;
      reads = [0, 2, 3].map((j) => p.mm.copy_from_user(rbuf + j * SLOT, j === 3 ? 1 : 512)!);
      yield* syscall('close', u.ctx);
    });
    const r = k.run({ maxSteps: 4_000_000 });
    expect(r.violations.map((v) => v.message)).toEqual([]);
    expect(r.status).toBe('done');
    expect(resA).toEqual([0]);
    expect(res1).toEqual([8193]);
    expect(res2).toEqual([512, 0, 512, 1]);
    expect(strays).toBe(0);
    const page2 = new Uint8Array(512);
    page2[0] = data[8192]!;
    expect(Buffer.from(reads[0]!).equals(page2)).toBe(true);
    expect(Buffer.from(reads[1]!).equals(page2)).toBe(true);
    expect(reads[2]![0]).toBe(data[0]);
    // The fsync put the write on the disk; nothing is left active or pinned.
    expect(Buffer.from(s.disks[0]!.peek(REGION_OFF, 8193)).equals(data)).toBe(true);
    const st = aio_stats(k);
    expect(st['aio.reqsActive']).toBe(0);
    expect(st['aio.nr']).toBe(0);
    expect(st['aio.pinned']).toBe(0);
    expect(k.stats['aio.direct.flushes']).toBe(2);
  });
});
