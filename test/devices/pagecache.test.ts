/**
 * The page cache and the file syscalls: errors that change nothing, read past EOF, LRU eviction
 * under the memory limit, dirty writeback by bdflush and writer throttling (in stats), the pinned
 * memory limit, and the pagecache-read and odsync-write scenarios.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import { READ } from '../../src/devices/blkdev.js';
import { map_user_kiobuf, pin_state, unmap_kiobuf } from '../../src/devices/kiobuf.js';
import { filemap_fdatasync, filemap_fdatawait, type Inode } from '../../src/devices/pagecache.js';
import { type DiskSet, setup_disks } from '../../src/devices/setup.js';
import { fs_mkfile, fs_read_ondisk, pattern, type SimpleFs } from '../../src/devices/simplefs.js';
import { seeded } from '../../src/kernel/chooser.js';
import { EBADF, EFAULT, EINVAL, ENOMEM } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { O_CREAT, O_DIRECT, O_RDONLY, O_RDWR, type Process } from '../../src/kernel/process.js';
import { create_process, SEEK_CUR, syscall } from '../../src/kernel/syscalls.js';
import { odsyncWrite, pagecacheRead } from '../../src/scenarios/devices.js';
import { down, up } from '../../src/waitqueue/semaphore.js';

function world(timed: boolean, pageCache = {}): { k: Kernel; s: DiskSet } {
  const k = new Kernel({ cpus: 2, timed, trace: false }, seeded(9));
  const s = setup_disks(k, {
    disks: 1,
    model: 'hdd',
    diskBytes: 4 << 20,
    fs: { blocks: 512, maxInodes: 8 },
    raw: true,
    pageCache,
  });
  return { k, s };
}

function run(k: Kernel, body: (p: Process) => KernelCode<void>): void {
  create_process(k, 'p', body);
  const r = k.run({ maxSteps: 2_000_000 });
  expect(r.violations.map((v) => v.message)).toEqual([]);
  expect(r.status).toBe('done');
}

/** Everything a failed call must leave as it was. */
function snapshot(s: DiskSet, k: Kernel, p: Process, fd: number): string {
  const f = p.fget(fd);
  return JSON.stringify({
    pos: f?.f_pos,
    size: s.fs!.inodes.get('f')?.i_size,
    disk: Buffer.from(fs_read_ondisk(s.fs!, 'f')).toString('base64'),
    pages: s.pc.nrPages,
    dirty: s.pc.nrDirty,
    pinned: pin_state(k).pinnedBytes,
    requests: s.disks[0]!.requests,
    regions: p.mm.regions.map((r) => r.pinned),
  });
}

describe('errors change nothing', () => {
  for (const timed of [true, false]) {
    it(`misaligned O_DIRECT → -EINVAL, bad fd → -EBADF, unmapped buffer → -EFAULT, past EOF → 0 (timed: ${timed})`, () => {
      const { k, s } = world(timed);
      fs_mkfile(s.fs!, 'f', 10_000);
      run(k, function* (p) {
        const fd = yield* syscall('open', '/mnt/f', O_RDWR);
        const dfd = yield* syscall('open', '/mnt/f', O_RDWR | O_DIRECT);
        const raw = yield* syscall('open', '/dev/raw1', O_RDWR);
        const buf = p.mm.mmap(16384);
        expect(yield* syscall('lseek', fd, 100, SEEK_CUR)).toBe(100);
        const before = snapshot(s, k, p, fd);
        const calls: [string, number, unknown[]][] = [
          ['pread', -EINVAL, [dfd, buf + 1, 4096, 0]],
          ['pread', -EINVAL, [dfd, buf, 1000, 0]],
          ['pread', -EINVAL, [dfd, buf, 4096, 100]],
          ['pwrite', -EINVAL, [dfd, buf + 512 + 3, 512, 0]],
          ['pwrite', -EINVAL, [raw, buf, 513, 0]],
          ['read', -EINVAL, [raw, buf + 7, 512]],
          ['pread', -EBADF, [42, buf, 10, 0]],
          ['write', -EBADF, [-1, buf, 10]],
          ['fsync', -EBADF, [99]],
          ['ftruncate', -EBADF, [77, 0]],
          ['pread', -EFAULT, [fd, 0x10, 10, 0]],
          ['pwrite', -EFAULT, [fd, buf + 16384 + 10, 10, 0]],
          ['pread', -EFAULT, [dfd, 0x200, 512, 0]],
          ['pwrite', -EFAULT, [raw, 0x4000, 4096, 0]],
          ['pread', 0, [fd, buf, 100, 10_000]],
          ['pread', 0, [fd, buf, 100, 1 << 20]],
          ['pread', 0, [dfd, buf, 512, 10_240]],
          ['ftruncate', -EINVAL, [fd, -1]],
        ];
        for (const [name, want, args] of calls) {
          expect([name, yield* syscall(name, ...args)]).toEqual([name, want]);
          expect(snapshot(s, k, p, fd)).toBe(before);
        }
        // A read across EOF is short; one from a buffered fd and one from O_DIRECT agree.
        expect(yield* syscall('pread', fd, buf, 4096, 8192)).toBe(10_000 - 8192);
        expect(p.mm.copy_from_user(buf, 4)).toEqual(pattern(10_000, 1).subarray(8192, 8196));
        expect(yield* syscall('pread', dfd, buf, 4096, 8192)).toBe(10_000 - 8192);
        expect(p.mm.copy_from_user(buf, 4)).toEqual(pattern(10_000, 1).subarray(8192, 8196));
      });
    });
  }
});

describe('page cache', () => {
  it('evicts clean pages past the memory limit, least recently used first', () => {
    const { k, s } = world(false, { limitPages: 8, readaheadPages: 2 });
    fs_mkfile(s.fs!, 'f', 64 * 1024);
    run(k, function* (p) {
      const fd = yield* syscall('open', '/mnt/f', O_RDONLY);
      const buf = p.mm.mmap(4096);
      for (let i = 0; i < 16; i++) expect(yield* syscall('pread', fd, buf, 4096, i * 4096)).toBe(4096);
      expect(p.mm.copy_from_user(buf, 4096)).toEqual(pattern(64 * 1024, 1).subarray(15 * 4096));
    });
    expect(s.pc.nrPages).toBeLessThanOrEqual(8);
    expect(k.stats['pagecache.evictions']).toBeGreaterThanOrEqual(8);
    const cached = [...s.fs!.inodes.get('f')!.mapping.pages.keys()].sort((a, b) => a - b);
    expect(cached.at(-1)).toBe(15); // the newest pages stay
  });

  it('bdflush writes dirty pages back and writers are throttled past the threshold (stats)', () => {
    const { k, s } = world(true, { limitPages: 64, dirtyBackgroundPages: 4, dirtyThresholdPages: 8 });
    const data = pattern(256 * 1024, 4);
    run(k, function* (p) {
      const fd = yield* syscall('open', '/mnt/f', O_RDWR | O_CREAT);
      const buf = p.mm.mmap(data.length);
      p.mm.copy_to_user(buf, data);
      for (let i = 0; i < 64; i++) {
        expect(yield* syscall('pwrite', fd, buf + i * 4096, 4096, i * 4096)).toBe(4096);
        expect(s.pc.nrDirty + s.pc.nrWriteback).toBeLessThanOrEqual(9);
      }
      expect(yield* syscall('fsync', fd)).toBe(0);
    });
    expect(k.stats['writeback.throttle']).toBeGreaterThan(0);
    expect(k.stats['writeback.batches']).toBeGreaterThan(0);
    expect(k.stats['pagecache.dirtyPeak']).toBeLessThanOrEqual(9);
    expect(k.stats['pagecache.dirtyPages']).toBe(0);
    expect(Buffer.from(fs_read_ondisk(s.fs!, 'f')).equals(data)).toBe(true);
  });

  it('kupdate writes pages older than the expiry without any fsync', () => {
    const { k, s } = world(true, { kupdateIntervalNs: 10_000_000, dirtyExpireNs: 20_000_000 });
    run(k, function* (p) {
      const fd = yield* syscall('open', '/mnt/f', O_RDWR | O_CREAT);
      const buf = p.mm.mmap(4096);
      p.mm.copy_to_user(buf, new Uint8Array(4096).fill(0x5a));
      expect(yield* syscall('pwrite', fd, buf, 4096, 0)).toBe(4096);
      expect(yield* syscall('nanosleep', 100_000_000)).toBe(0);
    });
    expect(fs_read_ondisk(s.fs!, 'f')[4095]).toBe(0x5a);
    expect(s.pc.nrDirty).toBe(0);
  });

  it('limits pinned memory: map_user_kiobuf refuses past the limit', () => {
    const { k } = world(false);
    pin_state(k).limitBytes = 16 * 4096;
    run(k, function* (p) {
      const buf = p.mm.mmap(64 * 4096);
      const a = yield* map_user_kiobuf(READ, p, buf, 12 * 4096);
      expect(typeof a).not.toBe('number');
      expect(yield* map_user_kiobuf(READ, p, buf, 8 * 4096)).toBe(-ENOMEM);
      expect(p.mm.munmap(buf)).toBe(false); // pinned
      if (typeof a !== 'number') yield* unmap_kiobuf(a);
      expect(pin_state(k).pinnedBytes).toBe(0);
      expect(yield* map_user_kiobuf(READ, p, 0x10, 512)).toBe(-EFAULT);
    });
  });
});

describe('scenarios', () => {
  it('pagecache-read: the warm pass is much faster than the cold one', () => {
    const r = runScenario(pagecacheRead, { seed: 1 });
    expect(r.status).toBe('done');
    const st = r.stats as Record<string, number>;
    expect(st.coldMBps).toBeGreaterThan(20);
    expect(st.warmMBps).toBeGreaterThan(10 * st.coldMBps!);
    expect(st['pagecache.misses']).toBe(256);
  });

  it('odsync-write: O_DSYNC appends and O_SYNC wait for the inode too; O_DSYNC overwrites do not', () => {
    const r = runScenario(odsyncWrite, { seed: 1 });
    expect(r.status).toBe('done');
    const us = r.stats.usPerWrite as Record<string, number>;
    const iw = r.stats.inodeWrites as Record<string, number>;
    expect(iw).toEqual({ appendDsync: 64, overwriteDsync: 0, overwriteSync: 64, buffered: 1 });
    expect(us.appendDsync!).toBeGreaterThan(10 * us.overwriteDsync!);
    expect(us.overwriteSync!).toBeGreaterThan(10 * us.overwriteDsync!);
  });
});

describe('filemap_fdatasync / filemap_fdatawait with concurrent callers', () => {
  const PAGES = 3;
  const SPAN = PAGES * 4096;

  /** A kernel with a one-disk filesystem holding file 'f' (2 * SPAN bytes of zeros), run by `procs`. */
  function syncWorld(
    seed: number,
    timed: boolean,
    procs: (fs: SimpleFs, inode: Inode, errs: string[]) => [string, (p: Process) => KernelCode<void>][],
  ): string[] {
    const k = new Kernel({ cpus: 2, timed, trace: false }, seeded(seed));
    const s = setup_disks(k, {
      disks: 1,
      model: 'hdd',
      jitter: timed ? 0.3 : 0,
      diskBytes: 4 << 20,
      fs: { blocks: 64, maxInodes: 4 },
    });
    const fs = s.fs!;
    const inode = fs_mkfile(fs, 'f', new Uint8Array(2 * SPAN));
    const errs: string[] = [];
    for (const [name, body] of procs(fs, inode, errs)) create_process(k, name, body);
    const res = k.run({ maxSteps: 2_000_000 });
    if (res.status !== 'done' || res.violations.length > 0)
      errs.push(`run ${res.status}: ${res.violations.map((v) => v.message).join('; ')}`);
    // Every reference the syncs took was given back.
    for (const page of inode.mapping.pages.values())
      if (page.count !== 0) errs.push(`page ${page.index} still has ${page.count} references`);
    return errs;
  }

  const onDisk = (fs: SimpleFs, half: number) =>
    fs_read_ondisk(fs, 'f').subarray(half * SPAN, (half + 1) * SPAN);

  /** Opens /mnt/f and writes `data` over half `half` of the file (buffered): the fd. */
  function* writeHalf(p: Process, data: Uint8Array, half: number, errs: string[]): KernelCode<number> {
    const fd = yield* syscall('open', '/mnt/f', O_RDWR);
    const buf = p.mm.mmap(SPAN);
    p.mm.copy_to_user(buf, data);
    if ((yield* syscall('pwrite', fd, buf, SPAN, half * SPAN)) !== SPAN)
      errs.push(`${half === 0 ? 'A' : 'B'}: pwrite`);
    return fd;
  }

  /**
   * A: writes its pages and syncs them in 2.4's `sys_fsync` order under `i_sem` (start the
   * data, write the inode, then wait for the data); B meanwhile reads a clean page of the file
   * with O_DIRECT, over and over: each read's coherence write-back (no `i_sem`) runs its own
   * `filemap_fdatasync` + `filemap_fdatawait` while A's pages are in flight. When A's wait
   * returns, A's pages must be on the disk.
   */
  function syncVersusDirectReads(seed: number, timed: boolean): string[] {
    const a = pattern(SPAN, 11);
    return syncWorld(seed, timed, (fs, inode, errs) => [
      [
        'A',
        function* (p) {
          yield* writeHalf(p, a, 0, errs);
          yield* down(inode.i_sem);
          let r = yield* filemap_fdatasync(inode.mapping);
          const e = yield* inode.ops.write_inode!(inode);
          if (r === 0) r = e;
          const w = yield* filemap_fdatawait(inode.mapping);
          if (r === 0) r = w;
          if (!Buffer.from(onDisk(fs, 0)).equals(a))
            errs.push('A: filemap_fdatawait returned before its pages were on the disk');
          yield* up(inode.i_sem);
          if (r !== 0) errs.push(`A: sync returned ${r}`);
        },
      ],
      [
        'B',
        function* (p) {
          const dfd = yield* syscall('open', '/mnt/f', O_RDONLY | O_DIRECT);
          const buf = p.mm.mmap(4096);
          for (let i = 0; i < 20; i++) {
            const n = yield* syscall('pread', dfd, buf, 4096, SPAN);
            if (n !== 4096) errs.push(`B: direct pread returned ${n}`);
          }
        },
      ],
    ]);
  }

  /**
   * Through the syscalls: A writes its pages and fdatasyncs; B writes its own, reads them back
   * with O_DIRECT (its write-back runs alongside A's fdatasync, without `i_sem`), then
   * fdatasyncs. Each must find its own pages on the disk.
   */
  function syncsAndDirectRead(seed: number, timed: boolean): string[] {
    const a = pattern(SPAN, 11);
    const b = pattern(SPAN, 12);
    return syncWorld(seed, timed, (fs, _inode, errs) => [
      [
        'A',
        function* (p) {
          const fd = yield* writeHalf(p, a, 0, errs);
          const r = yield* syscall('fdatasync', fd);
          if (r !== 0) errs.push(`A: fdatasync returned ${r}`);
          if (!Buffer.from(onDisk(fs, 0)).equals(a))
            errs.push('A: fdatasync returned before its pages were on the disk');
        },
      ],
      [
        'B',
        function* (p) {
          const fd = yield* syscall('open', '/mnt/f', O_RDWR);
          const dfd = yield* syscall('open', '/mnt/f', O_RDONLY | O_DIRECT);
          const buf = p.mm.mmap(2 * SPAN);
          p.mm.copy_to_user(buf, b);
          if ((yield* syscall('pwrite', fd, buf, SPAN, SPAN)) !== SPAN) errs.push('B: pwrite');
          const n = yield* syscall('pread', dfd, buf + SPAN, SPAN, SPAN);
          if (n !== SPAN) errs.push(`B: direct pread returned ${n}`);
          else if (!Buffer.from(p.mm.copy_from_user(buf + SPAN, SPAN)!).equals(b))
            errs.push('B: the direct read ran before its pages were on the disk');
          const r = yield* syscall('fdatasync', fd);
          if (r !== 0) errs.push(`B: fdatasync returned ${r}`);
          if (!Buffer.from(onDisk(fs, 1)).equals(b))
            errs.push('B: fdatasync returned before its pages were on the disk');
        },
      ],
    ]);
  }

  for (const timed of [true, false]) {
    it(`a sync is not robbed of its pages by direct reads' write-backs, whatever the schedule (timed: ${timed})`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
          expect(syncVersusDirectReads(seed, timed)).toEqual([]);
        }),
        { numRuns: 25 },
      );
    });
    it(`fdatasync and a direct read of the same file each wait for their own pages (timed: ${timed})`, () => {
      fc.assert(
        fc.property(fc.integer({ min: 1, max: 1_000_000 }), (seed) => {
          expect(syncsAndDirectRead(seed, timed)).toEqual([]);
        }),
        { numRuns: 25 },
      );
    });
  }
});
