/**
 * Asynchronous IO through the page cache: cold and warm reads (readpage + wtd_wait_page),
 * buffered writes (wtd_down(i_sem), wtd_lock_page, a read before a partial write), O_DSYNC
 * (the request's own pages written and waited for; the inode written on a worker), aio_fsync,
 * a writer parked on i_sem and cancelled there — and the submitter never sleeping.
 */
import { describe, expect, it } from 'vitest';
import { IOCB_CMD_FDSYNC, IOCB_CMD_FSYNC, IOCB_CMD_PREAD, IOCB_CMD_PWRITE } from '../../src/aio/kioctx.js';
import { io_iocb_array, io_prep, iocb_key, read_event } from '../../src/aio/libaio.js';
import { aio_stats } from '../../src/aio/stats.js';
import { aio_init } from '../../src/aio/syscalls.js';
import { setup_disks } from '../../src/devices/setup.js';
import { fs_mkfile, fs_read_ondisk, pattern } from '../../src/devices/simplefs.js';
import { seeded } from '../../src/kernel/chooser.js';
import { ECANCELED } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { O_CREAT, O_DSYNC, O_RDONLY, O_RDWR, O_SYNC } from '../../src/kernel/process.js';
import { current } from '../../src/kernel/sched.js';
import { create_process, syscall } from '../../src/kernel/syscalls.js';
import { aio_batch, aio_user, fill } from './helpers.js';

const KiB = 1024;

function world(model: 'ram' | 'hdd' = 'ram') {
  const k = new Kernel({ cpus: 2, timed: true, trace: false, irqAffinity: 0 }, seeded(3));
  const s = setup_disks(k, { disks: 1, model, fs: { blocks: 1024 }, diskBytes: 16 << 20 });
  aio_init(k);
  return { k, s };
}

function runOk(k: Kernel): void {
  const r = k.run({ maxSteps: 5_000_000 });
  expect(r.violations.map((v) => v.message)).toEqual([]);
  expect(r.status).toBe('done');
}

describe('page-cache AIO reads', () => {
  it('a cold read goes to the disk, a warm one only copies; the submitter never switches out', () => {
    const { k, s } = world('hdd');
    const size = 256 * KiB;
    fs_mkfile(s.fs!, 'data', size);
    const want = pattern(size, 'data'.length);
    const out: { res: (number | undefined)[]; ok: boolean; switches: number; reads: number }[] = [];
    create_process(
      k,
      'app',
      function* (p) {
        const u = yield* aio_user(p);
        const fd = yield* syscall('open', '/mnt/data', O_RDONLY);
        const buf = p.mm.mmap(size);
        const me = current();
        for (let pass = 0; pass < 2; pass++) {
          p.mm.copy_to_user(buf, new Uint8Array(size));
          const reads0 = k.stats['blk.readRequests'] ?? 0;
          // Four 64 KiB reads and one at EOF and one across it.
          const reqs = [0, 1, 2, 3].map((i) => ({
            op: IOCB_CMD_PREAD,
            fd,
            buf: buf + i * 64 * KiB,
            len: 64 * KiB,
            pos: i * 64 * KiB,
          }));
          const iocbs = reqs.map((r, i) => {
            io_prep(p, u.mem + i * 64, r.op, r.fd, r.buf, r.len, r.pos, i + 1);
            return u.mem + i * 64;
          });
          io_iocb_array(p, u.mem + 4096, iocbs);
          const s0 = me.switches;
          const n = yield* syscall('__submit_ios', u.ctx, 4, u.mem + 4096);
          const switches = me.switches - s0;
          const res: (number | undefined)[] = [];
          while (res.filter((x) => x !== undefined).length < n) {
            const m = yield* syscall('__io_getevents', u.ctx, u.mem + 8192, 4, 0);
            for (let i = 0; i < m; i++) {
              const ev = read_event(p, u.mem + 8192, i);
              res[ev.data - 1] = ev.res;
            }
          }
          const got = p.mm.copy_from_user(buf, size)!;
          out.push({
            res,
            ok: Buffer.from(got).equals(want),
            switches,
            reads: (k.stats['blk.readRequests'] ?? 0) - reads0,
          });
        }
        const edge = yield* aio_batch(u, [
          { op: IOCB_CMD_PREAD, fd, buf, len: 4096, pos: size },
          { op: IOCB_CMD_PREAD, fd, buf, len: 8192, pos: size - 1000 },
        ]);
        out.push({ res: edge.res, ok: true, switches: 0, reads: 0 });
        yield* syscall('close', u.ctx);
      },
      { cpu: 1, pinned: true },
    );
    runOk(k);
    const [cold, warm, edge] = out;
    expect(cold!.res).toEqual([64 * KiB, 64 * KiB, 64 * KiB, 64 * KiB]);
    expect(cold!.ok).toBe(true);
    expect(cold!.switches).toBe(0);
    expect(cold!.reads).toBeGreaterThan(0);
    expect(warm!.res).toEqual([64 * KiB, 64 * KiB, 64 * KiB, 64 * KiB]);
    expect(warm!.ok).toBe(true);
    expect(warm!.switches).toBe(0);
    expect(warm!.reads).toBe(0);
    expect(edge!.res).toEqual([0, 1000]);
    expect(k.stats['aio.pagecache.reads']).toBe(10);
    expect(aio_stats(k)['aio.reqsActive']).toBe(0);
  });
});

describe('page-cache AIO writes', () => {
  it('buffered writes (partial pages read first), then aio_fsync puts them on the disk', () => {
    const { k, s } = world('hdd');
    const size = 64 * KiB;
    fs_mkfile(s.fs!, 'f', size);
    let res: (number | undefined)[] = [];
    let fsync: (number | undefined)[] = [];
    let ondiskBeforeFsync: Uint8Array = new Uint8Array(0);
    const writes = [
      { pos: 100, len: 300, seed: 1 },
      { pos: 8192 + 4000, len: 5000, seed: 2 },
      { pos: 40 * KiB, len: 4096, seed: 3 },
      { pos: size - 10, len: 1000, seed: 4 },
    ];
    create_process(k, 'app', function* (p) {
      const u = yield* aio_user(p);
      const fd = yield* syscall('open', '/mnt/f', O_RDWR);
      const buf = p.mm.mmap(64 * KiB);
      const reqs = writes.map((w, i) => {
        p.mm.copy_to_user(buf + i * 8 * KiB, fill(w.seed, w.len));
        return { op: IOCB_CMD_PWRITE, fd, buf: buf + i * 8 * KiB, len: w.len, pos: w.pos };
      });
      res = (yield* aio_batch(u, reqs)).res;
      ondiskBeforeFsync = fs_read_ondisk(s.fs!, 'f');
      fsync = (yield* aio_batch(u, [{ op: IOCB_CMD_FSYNC, fd, buf: 0, len: 0, pos: 0 }])).res;
    });
    runOk(k);
    expect(res).toEqual(writes.map((w) => w.len));
    expect(fsync).toEqual([0]);
    let want = pattern(size, 1);
    for (const w of writes) {
      if (w.pos + w.len > want.length) {
        const m2 = new Uint8Array(w.pos + w.len);
        m2.set(want);
        want = m2;
      }
      want.set(fill(w.seed, w.len), w.pos);
    }
    // Nothing was on the disk before the fsync (buffered), everything after.
    expect(Buffer.from(ondiskBeforeFsync.subarray(0, size)).equals(pattern(size, 1))).toBe(true);
    expect(Buffer.from(fs_read_ondisk(s.fs!, 'f')).equals(want)).toBe(true);
    expect(k.stats['pagecache.readpage']).toBeGreaterThanOrEqual(3);
  });

  it('O_DSYNC writes are on the disk when their event arrives; appending ones write the inode too', () => {
    const { k, s } = world('hdd');
    fs_mkfile(s.fs!, 'g', 16 * KiB);
    const seen: { res: number; ondisk: boolean; inodeWrites: number }[] = [];
    let fdsync: (number | undefined)[] = [];
    create_process(k, 'app', function* (p) {
      const u = yield* aio_user(p);
      const fd = yield* syscall('open', '/mnt/g', O_RDWR | O_DSYNC);
      const buf = p.mm.mmap(8 * KiB);
      let size = 16 * KiB;
      for (const [pos, len, seed] of [
        [4096, 4096, 5],
        [0, 100, 6],
        [16 * KiB, 8 * KiB, 7],
      ] as const) {
        p.mm.copy_to_user(buf, fill(seed, len));
        const w0 = k.stats['fs.inodeWrites'] ?? 0;
        const r = yield* aio_batch(u, [{ op: IOCB_CMD_PWRITE, fd, buf, len, pos }]);
        size = Math.max(size, pos + len);
        const disk = fs_read_ondisk(s.fs!, 'g');
        seen.push({
          res: r.res[0]!,
          ondisk: disk.length === size && Buffer.from(disk.subarray(pos, pos + len)).equals(fill(seed, len)),
          inodeWrites: (k.stats['fs.inodeWrites'] ?? 0) - w0,
        });
      }
      fdsync = (yield* aio_batch(u, [{ op: IOCB_CMD_FDSYNC, fd, buf: 0, len: 0, pos: 0 }])).res;
    });
    runOk(k);
    expect(seen).toEqual([
      { res: 4096, ondisk: true, inodeWrites: 0 },
      { res: 100, ondisk: true, inodeWrites: 0 },
      { res: 8192, ondisk: true, inodeWrites: 1 },
    ]);
    expect(fdsync).toEqual([0]);
    expect(k.stats['writeback.pages']).toBeGreaterThanOrEqual(4);
  });

  it('a writer parks on i_sem (held by an O_SYNC write) without sleeping, and can be cancelled there', () => {
    const { k } = world('hdd');
    let res: (number | undefined)[] = [];
    let cancel = 1;
    let switches = -1;
    let syncRes = 0;
    create_process(
      k,
      'holder',
      function* (p) {
        const fd = yield* syscall('open', '/mnt/h', O_CREAT | O_RDWR | O_SYNC);
        const buf = p.mm.mmap(64 * KiB);
        p.mm.copy_to_user(buf, fill(1, 64 * KiB));
        syncRes = yield* syscall('pwrite', fd, buf, 64 * KiB, 0);
      },
      { cpu: 0, pinned: true },
    );
    create_process(
      k,
      'app',
      function* (p) {
        yield* syscall('nanosleep', 100_000); // the holder is in its O_SYNC write by now
        const u = yield* aio_user(p);
        const fd = yield* syscall('open', '/mnt/h', O_RDWR);
        const buf = p.mm.mmap(8 * KiB);
        p.mm.copy_to_user(buf, fill(9, 8 * KiB));
        const iocbs = [0, 1].map((i) => {
          io_prep(p, u.mem + i * 64, IOCB_CMD_PWRITE, fd, buf, 4096, (64 + 4 * i) * KiB, i + 1);
          return u.mem + i * 64;
        });
        io_iocb_array(p, u.mem + 4096, iocbs);
        const me = current();
        const s0 = me.switches;
        yield* syscall('__submit_ios', u.ctx, 2, u.mem + 4096);
        switches = me.switches - s0;
        cancel = yield* syscall('__io_cancel', u.ctx, iocb_key(p, iocbs[1]!), iocbs[1]!);
        res = [undefined, undefined];
        let got = 0;
        while (got < 2) {
          const m = yield* syscall('__io_getevents', u.ctx, u.mem + 8192, 2, 0);
          for (let i = 0; i < m; i++) {
            const ev = read_event(p, u.mem + 8192, i);
            res[ev.data - 1] = ev.res;
          }
          got += m;
        }
      },
      { cpu: 1, pinned: true },
    );
    runOk(k);
    expect(syncRes).toBe(64 * KiB);
    expect(switches).toBe(0);
    expect(cancel).toBe(0);
    expect(res).toEqual([4096, -ECANCELED]);
    expect(k.stats['aio.cancelled']).toBe(1);
  });
});
