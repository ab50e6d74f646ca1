/**
 * The machine a fuzz program runs on: a kernel with the AIO layer, a small filesystem on one
 * disk (each process owns one file of it), a disk and a raw device of its own for each process,
 * and `/dev/aiotest`. Limits are tiny so that their paths are taken: 8-request rings, a 40-slot
 * `aio-max-nr`, 8 KiB `aio-max-size`, 32 KiB of pinnable memory, a 12-page cache.
 */
import { aio_init } from '../aio/syscalls.js';
import { register_aiotest } from '../aio/testdev.js';
import { setup_disks } from '../devices/setup.js';
import { fs_mkfile, pattern } from '../devices/simplefs.js';
import { seeded } from '../kernel/chooser.js';
import { Kernel } from '../kernel/kernel.js';
import { ByteModel } from './model.js';
import type { Program } from './program.js';

/** Bytes of each process's own disk. */
export const DISK_BYTES = 256 * 1024;
/** Bytes each process's file holds at the start. */
export const FILE_BYTES = 5000;

/** What a process of the program may open, and the models of what it owns. */
export interface ProcTargets {
  readonly file: string;
  readonly disk: string;
  readonly raw: string;
  readonly fileModel: ByteModel;
  /** The disk, through the block device and the raw device alike. */
  readonly diskModel: ByteModel;
}

/** A page cache of 12 pages whose limits a few writes reach: eviction, throttling, writeback. */
export const TINY_PAGE_CACHE = Object.freeze({
  limitPages: 12,
  dirtyBackgroundPages: 3,
  dirtyThresholdPages: 6,
  readaheadPages: 4,
  writebackBatch: 4,
  kupdateIntervalNs: 50_000_000,
  dirtyExpireNs: 100_000_000,
});

/** Builds the kernel of `prog` and each process's targets. */
export function buildMachine(prog: Program): { k: Kernel; targets: ProcTargets[] } {
  const k = new Kernel(
    {
      cpus: prog.cpus,
      timed: prog.timed,
      trace: false,
      memoryModel: prog.memoryModel,
      fastForward: prog.fastForward,
    },
    seeded(prog.seed),
  );
  const main = setup_disks(k, {
    disks: 1,
    model: 'ssd',
    jitter: prog.timed ? 0.2 : 0,
    diskBytes: 1024 * 1024,
    fs: { blocks: 96, maxInodes: 8 },
    pageCache: TINY_PAGE_CACHE,
    pinnedLimitBytes: 32 * 1024,
  });
  const targets = prog.procs.map((_, i): ProcTargets => {
    const name = `f${i}`;
    fs_mkfile(main.fs!, name, FILE_BYTES);
    const s = setup_disks(k, {
      disks: 1,
      model: 'ssd',
      diskBytes: DISK_BYTES,
      prefix: `p${i}d`,
      raw: true,
      rawPath: `/dev/raw${i + 2}`,
    });
    const fileModel = new ByteModel(0, false);
    fileModel.write(0, pattern(FILE_BYTES, name.length));
    fileModel.epoch = 0;
    return {
      file: `/mnt/${name}`,
      disk: s.paths.disks[0]!,
      raw: s.paths.raw!,
      fileModel,
      diskModel: new ByteModel(DISK_BYTES, true),
    };
  });
  aio_init(k, { ringNr: 8, aioMaxNr: 40, aioMaxSize: 8 * 1024 });
  register_aiotest(k, { latencyNs: 5000 });
  return { k, targets };
}
