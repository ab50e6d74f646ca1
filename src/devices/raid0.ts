/**
 * RAID0 (2.4's `drivers/md/raid0.c`, one zone: equal-sized members): md-style chunk striping.
 *
 * The array's sectors are cut into chunks of `chunkSectors`; chunk c lives on member
 * `c mod n`, as that member's chunk `floor(c / n)`. `raid0_map` is the mapping and
 * `raid0_unmap` its inverse. `Raid0.make_request` remaps a buffer (`b_rdev`, `b_rsector`) to its
 * member and asks `generic_make_request` to resubmit it, as raid0 does; a buffer must not span a
 * chunk boundary (every buffer here is at most 4 KiB and aligned to its size, and chunks are
 * power-of-two multiples of 4 KiB).
 */
import type { Kernel } from '../kernel/kernel.js';
import type { KernelCode } from '../kernel/ops.js';
import type { BlockDevice, Rw } from './blkdev.js';
import { SECTOR_SIZE } from './blkdev.js';
import type { BufferHead } from './buffer.js';

/** Where an array sector lives. */
export interface Raid0Location {
  readonly member: number;
  readonly sector: number;
}

/** Maps array sector `sector` to (member, member sector). */
export function raid0_map(sector: number, chunkSectors: number, members: number): Raid0Location {
  const chunk = Math.floor(sector / chunkSectors);
  const within = sector - chunk * chunkSectors;
  return { member: chunk % members, sector: Math.floor(chunk / members) * chunkSectors + within };
}

/** The inverse of `raid0_map`. */
export function raid0_unmap(member: number, sector: number, chunkSectors: number, members: number): number {
  const mchunk = Math.floor(sector / chunkSectors);
  const within = sector - mchunk * chunkSectors;
  return (mchunk * members + member) * chunkSectors + within;
}

/** A RAID0 array over equal-sized members. */
export class Raid0 implements BlockDevice {
  readonly name: string;
  readonly sizeBytes: number;
  readonly obj: number;
  readonly members: readonly BlockDevice[];
  readonly chunkSectors: number;
  private readonly k: Kernel;
  constructor(k: Kernel, name: string, members: readonly BlockDevice[], chunkBytes = 64 * 1024) {
    if (members.length < 1) throw new Error(`raid0 '${name}': needs at least one member`);
    if (!Number.isInteger(Math.log2(chunkBytes)) || chunkBytes < 4096)
      throw new Error(`raid0 '${name}': chunk size must be a power of two >= 4096, got ${chunkBytes}`);
    const memberSize = Math.min(...members.map((m) => m.sizeBytes));
    const usable = Math.floor(memberSize / chunkBytes) * chunkBytes;
    if (usable === 0) throw new Error(`raid0 '${name}': members are smaller than one chunk`);
    this.k = k;
    this.name = name;
    this.members = members;
    this.chunkSectors = chunkBytes / SECTOR_SIZE;
    this.sizeBytes = usable * members.length;
    this.obj = k.newObjectId();
  }

  /** Remaps the buffer to its member; always asks for a resubmit. */
  *make_request(_rw: Rw, bh: BufferHead): KernelCode<boolean> {
    const ns = bh.b_size >> 9;
    const s = bh.b_rsector;
    if (s < 0 || (s + ns) * SECTOR_SIZE > this.sizeBytes) {
      this.k.count('blk.errors');
      if (bh.b_end_io !== null) yield* bh.b_end_io(bh, false);
      return false;
    }
    const loc = raid0_map(s, this.chunkSectors, this.members.length);
    const last = raid0_map(s + ns - 1, this.chunkSectors, this.members.length);
    if (last.member !== loc.member || last.sector !== loc.sector + ns - 1)
      throw new Error(`raid0 '${this.name}': buffer ${bh.name} (sector ${s}, ${ns} sectors) spans a chunk`);
    bh.b_rdev = this.members[loc.member]!;
    bh.b_rsector = loc.sector;
    this.k.count('raid0.remaps');
    return true;
  }

  /** Applies `fn` to each member piece of the byte range [off, off+len). */
  private each(
    off: number,
    len: number,
    fn: (m: BlockDevice, moff: number, at: number, n: number) => void,
  ): void {
    const cb = this.chunkSectors * SECTOR_SIZE;
    let done = 0;
    while (done < len) {
      const pos = off + done;
      const n = Math.min(cb - (pos % cb), len - done);
      const loc = raid0_map(Math.floor(pos / SECTOR_SIZE), this.chunkSectors, this.members.length);
      fn(this.members[loc.member]!, loc.sector * SECTOR_SIZE + (pos % SECTOR_SIZE), done, n);
      done += n;
    }
  }

  peek(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.each(off, len, (m, moff, at, n) => out.set(m.peek(moff, n), at));
    return out;
  }
  poke(off: number, data: Uint8Array): void {
    this.each(off, data.length, (m, moff, at, n) => m.poke(moff, data.subarray(at, at + n)));
  }
  discard(off: number, len: number): void {
    this.each(off, len, (m, moff, _at, n) => m.discard(moff, n));
  }
}
