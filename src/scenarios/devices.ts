/**
 * Device scenarios (timed, for figures): the page cache cold and warm, RAID0 sequential reads
 * over 1 and 4 disks, and O_DSYNC / O_SYNC writes against buffered ones.
 *
 * - `pagecacheRead` (`pagecache-read`): reads a 1 MiB file twice in 64 KiB reads; the first pass
 *   goes to the disk (with readahead), the second is served from the page cache.
 * - `raid0SeqRead` (`raid0-seq-read`): one reader reads 8 MiB sequentially through the buffered
 *   block device of a single disk, then of a 4-disk RAID0 (64 KiB chunks). The reads are
 *   synchronous, yet four disks stay busy: the array's readahead window is two stripes (512 KiB),
 *   topped up whenever a quarter of it has been consumed, so six to eight chunks (about two per
 *   disk) are always queued or in flight. `stats.throughputMBps` has `disks1` and `disks4`.
 * - `odsyncWrite` (`odsync-write`): 64 writes of 4 KiB appending to a new file with O_DSYNC (data
 *   plus the inode, since the size changes), the same 64 blocks overwritten with O_DSYNC (data
 *   only) and with O_SYNC (data and inode), and buffered writes with one fsync at the end.
 */
import type { Scenario } from '../check/scenario.js';
import { setup_disks } from '../devices/setup.js';
import { fs_mkfile, fs_read_ondisk, pattern } from '../devices/simplefs.js';
import type { KernelCode } from '../kernel/ops.js';
import { O_CREAT, O_DSYNC, O_RDONLY, O_RDWR, O_SYNC, O_TRUNC, type Process } from '../kernel/process.js';
import { create_process, syscall } from '../kernel/syscalls.js';

const MiB = 1024 * 1024;

function mbps(bytes: number, ns: number): number {
  return ns > 0 ? Math.round((bytes / 1e6 / (ns / 1e9)) * 10) / 10 : 0;
}

/** Reads `total` bytes of `fd` from offset 0 in `chunk` reads; returns the bytes read. */
function* readAll(p: Process, fd: number, total: number, chunk: number): KernelCode<number> {
  const buf = p.mm.mmap(chunk);
  let done = 0;
  while (done < total) {
    const r = yield* syscall('pread', fd, buf, Math.min(chunk, total - done), done);
    if (r <= 0) break;
    done += r;
  }
  return done;
}

/** `pagecache-read`: cold then warm reads of a file. */
export const pagecacheRead: Scenario = {
  name: 'pagecache-read',
  title: 'Page cache: a 1 MiB file read cold (from the disk, with readahead) then warm',
  description:
    'A process reads a 1 MiB file of the filesystem in 64 KiB reads, twice. The first pass misses ' +
    'in the page cache: readpage() starts reads of the file’s pages (readahead keeps a window of ' +
    '32 pages ahead), the reader sleeps in wait_on_page() until the disk interrupt marks each page ' +
    'up to date and unlocks it. The second pass finds every page cached and only copies. ' +
    'stats: coldMs, warmMs, coldMBps, warmMBps, pagecache.hits/misses.',
  config: { cpus: 2, timed: true, trace: false },
  expect: 'clean',
  setup(k) {
    const s = setup_disks(k, { disks: 1, model: 'hdd', fs: true });
    const size = 1 * MiB;
    fs_mkfile(s.fs!, 'data', size);
    const want = pattern(size, 'data'.length);
    let coldNs = 0;
    let warmNs = 0;
    let ok = true;
    create_process(k, 'reader', function* (p) {
      const fd = yield* syscall('open', '/mnt/data', O_RDONLY);
      for (const pass of ['cold', 'warm']) {
        const t0 = k.now;
        const n = yield* readAll(p, fd, size, 64 * 1024);
        if (n !== size) ok = false;
        if (pass === 'cold') coldNs = k.now - t0;
        else warmNs = k.now - t0;
      }
      const buf = p.mm.mmap(size);
      yield* syscall('pread', fd, buf, size, 0);
      const got = p.mm.copy_from_user(buf, size)!;
      if (!Buffer.from(got).equals(want)) ok = false;
      yield* syscall('close', fd);
    });
    return {
      final: () => (ok ? undefined : 'the reader did not read back the file’s bytes'),
      stats: () => ({
        coldMs: coldNs / 1e6,
        warmMs: warmNs / 1e6,
        coldMBps: mbps(size, coldNs),
        warmMBps: mbps(size, warmNs),
      }),
    };
  },
};

/** `raid0-seq-read`: sequential reads over 1 disk and over a 4-disk RAID0. */
export const raid0SeqRead: Scenario = {
  name: 'raid0-seq-read',
  title: 'RAID0: synchronous sequential reads over 1 disk vs 4 striped disks (≈4x throughput)',
  description:
    'One process reads 8 MiB sequentially in 64 KiB read() calls from /dev/sda (one 2001-era ' +
    '7200 rpm disk), then from /dev/md0, a RAID0 of four such disks with 64 KiB chunks. Each read ' +
    'is synchronous, but the page cache reads ahead: the array’s readahead window is two full ' +
    'stripes (512 KiB), topped up whenever the reader has consumed a quarter of it, so every ' +
    'member always has its next chunk queued when it finishes one. raid0 remaps each buffer to its member ' +
    '(raid0_map), where adjacent buffers merge into requests of up to 128 KiB served sequentially. ' +
    'stats.throughputMBps: { disks1, disks4 }, and their ratio.',
  config: { cpus: 2, timed: true, trace: false },
  expect: 'clean',
  setup(k) {
    const total = 8 * MiB;
    const one = setup_disks(k, { disks: 1, model: 'hdd', prefix: 'sd' });
    const four = setup_disks(k, { disks: 4, model: 'hdd', prefix: 'hd', raid0: { chunkBytes: 64 * 1024 } });
    const data = pattern(total, 3);
    one.top.poke(0, data);
    four.top.poke(0, data);
    const ns: Record<string, number> = {};
    let ok = true;
    create_process(k, 'reader', function* (p) {
      for (const [label, path] of [
        ['disks1', one.paths.disks[0]!],
        ['disks4', four.paths.md!],
      ] as const) {
        const fd = yield* syscall('open', path, O_RDONLY);
        const t0 = k.now;
        const n = yield* readAll(p, fd, total, 64 * 1024);
        ns[label] = k.now - t0;
        if (n !== total) ok = false;
        yield* syscall('close', fd);
      }
    });
    return {
      final: () => (ok ? undefined : 'a reader came up short'),
      stats: () => {
        const d1 = mbps(total, ns.disks1 ?? 0);
        const d4 = mbps(total, ns.disks4 ?? 0);
        return {
          throughputMBps: { disks1: d1, disks4: d4 },
          speedup: d1 > 0 ? Math.round((d4 / d1) * 100) / 100 : 0,
          memberRequests: four.disks.map((d) => d.requests),
          memberBusyPct: four.disks.map((d) => Math.round((d.busyNs / Math.max(1, ns.disks4 ?? 1)) * 100)),
        };
      },
    };
  },
};

/** `odsync-write`: O_DSYNC and O_SYNC writes against buffered writes and one fsync. */
export const odsyncWrite: Scenario = {
  name: 'odsync-write',
  title: 'O_DSYNC vs O_SYNC vs buffered writes: what each 4 KiB write waits for',
  description:
    'A process writes 64 blocks of 4 KiB: (1) appending to a new file opened O_DSYNC, where each ' +
    'write waits for its data block and for the inode (the size changed: fdatasync semantics ' +
    'require it), two IOs with a seek between the inode table and the data; (2) overwriting the ' +
    'same blocks with O_DSYNC: data only, sequential on the disk; (3) overwriting with O_SYNC: ' +
    'data and inode (times changed) each time; (4) buffered overwrites and one fsync at the end. ' +
    'stats: usPerWrite for each, inodeWrites.',
  config: { cpus: 2, timed: true, trace: false },
  expect: 'clean',
  setup(k) {
    const s = setup_disks(k, { disks: 1, model: 'hdd', fs: true });
    const n = 64;
    const us: Record<string, number> = {};
    const inodeWrites: Record<string, number> = {};
    let ok = true;
    create_process(k, 'writer', function* (p) {
      const buf = p.mm.mmap(4096);
      const phases: [string, number, boolean][] = [
        ['appendDsync', O_RDWR | O_CREAT | O_TRUNC | O_DSYNC, false],
        ['overwriteDsync', O_RDWR | O_DSYNC, false],
        ['overwriteSync', O_RDWR | O_SYNC, false],
        ['buffered', O_RDWR, true],
      ];
      for (const [label, flags, fsync] of phases) {
        const fd = yield* syscall('open', '/mnt/log', flags);
        const w0 = k.stats['fs.inodeWrites'] ?? 0;
        const t0 = k.now;
        for (let i = 0; i < n; i++) {
          p.mm.copy_to_user(buf, pattern(4096, i + label.length));
          if ((yield* syscall('pwrite', fd, buf, 4096, i * 4096)) !== 4096) ok = false;
        }
        if (fsync && (yield* syscall('fsync', fd)) !== 0) ok = false;
        us[label] = Math.round((k.now - t0) / n / 100) / 10;
        inodeWrites[label] = (k.stats['fs.inodeWrites'] ?? 0) - w0;
        yield* syscall('close', fd);
      }
    });
    return {
      final: () => {
        if (!ok) return 'a write or fsync failed';
        const disk = fs_read_ondisk(s.fs!, 'log');
        for (let i = 0; i < n; i++) {
          const want = pattern(4096, i + 'buffered'.length);
          if (!Buffer.from(disk.subarray(i * 4096, (i + 1) * 4096)).equals(want))
            return `block ${i} of the file on disk is not what was last written and synced`;
        }
        return undefined;
      },
      stats: () => ({ usPerWrite: us, inodeWrites }),
    };
  },
};

/** Every device scenario. */
export const deviceScenarios: readonly Scenario[] = [pagecacheRead, raid0SeqRead, odsyncWrite];
