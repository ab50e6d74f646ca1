/**
 * The small machine the integrity properties run on: two CPUs, one 1 MiB disk with a tiny
 * filesystem, raw access, and a 12-page cache with low writeback thresholds, so eviction,
 * throttling and background writeback all happen within a few operations.
 */

import { type DiskSet, setup_disks } from '../../src/devices/setup.js';
import { fs_read_ondisk } from '../../src/devices/simplefs.js';
import { TINY_PAGE_CACHE } from '../../src/fuzz/machine.js';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { MemoryModel } from '../../src/kernel/memory.js';
import { O_DIRECT } from '../../src/kernel/process.js';

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
    pageCache: TINY_PAGE_CACHE,
    pinnedLimitBytes,
  });
  return { k, s };
}

/** A plain in-memory model of a file's or a region's bytes (`fixed`: a device region that does not grow). */
export class Model {
  data = new Uint8Array(0);
  size: number;
  readonly fixed: boolean;
  constructor(size: number, fixed: boolean) {
    this.size = size;
    this.fixed = fixed;
    this.data = new Uint8Array(size);
  }
  write(pos: number, src: Uint8Array): number {
    let n = src.length;
    if (this.fixed) n = Math.min(n, this.size - pos);
    if (pos + n > this.data.length) {
      const d = new Uint8Array(pos + n);
      d.set(this.data);
      this.data = d;
    }
    this.data.set(src.subarray(0, n), pos);
    if (pos + n > this.size) this.size = pos + n;
    return n;
  }
  read(pos: number, len: number): Uint8Array {
    if (pos >= this.size) return new Uint8Array(0);
    const n = Math.min(len, this.size - pos);
    const out = new Uint8Array(n);
    out.set(this.data.subarray(pos, Math.min(pos + n, this.data.length)));
    return out;
  }
  truncate(len: number): void {
    if (len < this.data.length) this.data.fill(0, len);
    this.size = len;
  }
  image(): Uint8Array {
    return this.read(0, this.size);
  }
}

/** null when equal, else where they first differ. */
export function same(a: Uint8Array, b: Uint8Array): string | null {
  if (a.length !== b.length) return `length ${a.length} != ${b.length}`;
  if (Buffer.from(a.buffer, a.byteOffset, a.length).equals(b)) return null;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `byte ${i}: ${a[i]} != ${b[i]}`;
  return null;
}

/** One thing the integrity properties read and write, with its model. */
export interface Target {
  readonly label: string;
  readonly buffered: string;
  readonly direct: string;
  readonly directFlags: number;
  /** Offset of the model's byte 0 in the target. */
  readonly base: number;
  readonly span: number;
  readonly model: Model;
  /** The bytes on the device now (what a crash keeps). */
  readonly ondisk: () => Uint8Array;
}

/** Where the region of raw/block-device IO starts on the disk. */
export const REGION_OFF = 512 * 1024;

/** Process A's target: the file `/mnt/f` (buffered, and O_DIRECT), `span` bytes of it. */
export function fileTarget(s: DiskSet, span: number): Target {
  return {
    label: 'A(file)',
    buffered: '/mnt/f',
    direct: '/mnt/f',
    directFlags: O_DIRECT,
    base: 0,
    span,
    model: new Model(0, false),
    ondisk: () => fs_read_ondisk(s.fs!, 'f'),
  };
}

/** Process B's target: `len` bytes of the disk at REGION_OFF, through /dev/sda and /dev/raw1. */
export function regionTarget(s: DiskSet, len: number): Target {
  const disk = s.disks[0]!;
  return {
    label: 'B(raw+bdev)',
    buffered: '/dev/sda',
    direct: '/dev/raw1',
    directFlags: 0,
    base: REGION_OFF,
    span: len,
    model: new Model(len, true),
    ondisk: () => disk.peek(REGION_OFF, len),
  };
}
