/**
 * The small machine the integrity properties run on: two CPUs, one 1 MiB disk with a tiny
 * filesystem, raw access, and a 12-page cache with low writeback thresholds, so eviction,
 * throttling and background writeback all happen within a few operations.
 */
import { type DiskSet, setup_disks } from '../../src/devices/setup.js';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { MemoryModel } from '../../src/kernel/memory.js';

/** A kernel and its disks for one property run. */
export function smallMachine(
  seed: number,
  timed: boolean,
  memoryModel: MemoryModel,
  pinnedLimitBytes: number,
): { k: Kernel; s: DiskSet } {
  const k = new Kernel({ cpus: 2, timed, trace: false, memoryModel }, seeded(seed));
  const s = setup_disks(k, {
    disks: 1,
    model: 'hdd',
    jitter: timed ? 0.2 : 0,
    diskBytes: 1024 * 1024,
    fs: { blocks: 96, maxInodes: 4 },
    raw: true,
    pageCache: {
      limitPages: 12,
      dirtyBackgroundPages: 3,
      dirtyThresholdPages: 6,
      readaheadPages: 4,
      writebackBatch: 4,
      kupdateIntervalNs: 50_000_000,
      dirtyExpireNs: 100_000_000,
    },
    pinnedLimitBytes,
  });
  return { k, s };
}
