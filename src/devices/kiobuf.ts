/**
 * Direct IO with pinned user pages (2.4's `fs/iobuf.c`, `map_user_kiobuf` in `mm/memory.c`,
 * `brw_kiovec` in `fs/buffer.c`, and the common part of `drivers/char/raw.c` and
 * `generic_file_direct_IO`).
 *
 * - `KioBuf`: user memory pinned for IO (`map_user_kiobuf` / `unmap_kiobuf`), with an IO count,
 *   an error, a completion callback and a wait queue. Pinned memory is accounted per kernel
 *   against a limit (`set_pinned_limit`); past it `map_user_kiobuf` returns -ENOMEM and the
 *   synchronous paths wait for room (`wait_for_pin_room`). Hot callers make `map_user_kiobuf`
 *   and `unmap_kiobuf` inline from their parts (`kiobuf_region`, `kiobuf_pin_op`,
 *   `unmap_kiobuf_op` ...).
 * - `brw_kiovec(rw, kio, segments, end_io)`: submits one buffer head per segment, each over
 *   the pinned user bytes themselves (the device "DMAs" into user memory), and returns without
 *   sleeping; `end_io(kio)` runs in interrupt context when the last buffer completes. This is the
 *   building block of both the synchronous raw path here and the asynchronous one.
 * - `direct_io(...)`: the synchronous direct read/write of a range of an inode (raw devices,
 *   O_DIRECT files): alignment checks (-EINVAL), coherence with the page cache (dirty cached
 *   pages in the range are written first; cached pages are dropped after a write), transfers in
 *   chunks of at most `KIO_MAX_BYTES`, holes read as zeros, allocation on writes.
 */

import { EFAULT, EFBIG, EINVAL, EIO, ENOMEM, ENOSPC } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { keyed } from '../kernel/keyed.js';
import { type AtomicOp, atomic, cpu, type KernelCode } from '../kernel/ops.js';
import { atomic_op } from '../kernel/prebuilt.js';
import {
  O_DSYNC,
  O_SYNC,
  type Ppos,
  PROT_READ,
  PROT_WRITE,
  type Process,
  type Region,
} from '../kernel/process.js';
import { kernel } from '../kernel/sched.js';
import { run_task_queue, tq_disk } from '../kernel/tqueue.js';
import { down, up } from '../waitqueue/semaphore.js';
import { init_waitqueue_head, type WaitQueueHead, wait_event, wake_up_all } from '../waitqueue/waitqueue.js';
import { READ, type Rw, SECTOR_SIZE, submit_bh, WRITE } from './blkdev.js';
import {
  alloc_buffer_head,
  type BufferHead,
  lock_buffer,
  mark_buffer_uptodate,
  unlock_buffer,
} from './buffer.js';
import { PAGE_SIZE } from './page.js';
import {
  appends,
  filemap_fdatasync,
  filemap_fdatawait,
  generic_osync_inode,
  I_DIRTY_DATASYNC,
  I_DIRTY_SYNC,
  type Inode,
  invalidate_inode_pages_range,
} from './pagecache.js';

/** Largest transfer of one kiobuf (2.4: KIO_MAX_SECTORS = 1024 sectors). */
export const KIO_MAX_BYTES = 512 * 1024;

/** Per-kernel pinned-memory accounting (and pools of kiobuf buffer heads and wait queues). */
export class PinState {
  pinnedBytes = 0;
  /** The most ever pinned at once (`stats['kiobuf.pinnedPeak']`). */
  peakBytes = 0;
  /** Idle buffer heads of finished kiobufs, by size. */
  readonly bhPool = new Map<number, BufferHead[]>();
  /** Idle kiobuf wait queues. */
  readonly wqPool: WaitQueueHead[] = [];
  limitBytes: number;
  readonly obj: number;
  readonly wait: WaitQueueHead;
  constructor(k: Kernel, limitBytes: number) {
    this.limitBytes = limitBytes;
    this.obj = k.newObjectId();
    this.wait = init_waitqueue_head(k, 'kiobuf_pin_wait');
  }
}

/** Default pinned-memory limit: 8 MiB. */
export const DEFAULT_PINNED_LIMIT = 8 * 1024 * 1024;

/** The kernel's pinned-memory accounting (its bytes pinned and peak are gauges of `stats`). */
export const pin_state: (k: Kernel) => PinState = keyed((k: Kernel) => {
  const ps = new PinState(k, DEFAULT_PINNED_LIMIT);
  k.gauge('kiobuf.pinnedBytes', () => ps.pinnedBytes);
  k.gauge('kiobuf.pinnedPeak', () => ps.peakBytes);
  return ps;
});

/** The buffer heads of a kiobuf with no transfer of its own (never changed: a fresh array replaces it). */
const NO_BHS: readonly BufferHead[] = Object.freeze([]);

/** Sets the limit on pinned user memory (bytes). */
export function set_pinned_limit(k: Kernel, bytes: number): void {
  if (!Number.isInteger(bytes) || bytes < 4 * PAGE_SIZE)
    throw new Error(`set_pinned_limit: limit must be an integer >= ${4 * PAGE_SIZE}, got ${bytes}`);
  pin_state(k).limitBytes = bytes;
}

/** `struct kiobuf`: pinned user memory and the state of the IO on it. */
export class KioBuf {
  readonly id: number;
  readonly p: Process;
  readonly addr: number;
  readonly length: number;
  readonly rw: Rw;
  readonly region: Region;
  /** Bytes accounted as pinned (whole pages). */
  readonly pinnedBytes: number;
  /** Buffers in flight; the end_io runs when it reaches zero. */
  io_count = 0;
  /** 0 or a negative errno. */
  errno = 0;
  /** Set once every buffer completed. */
  done = false;
  /** Called in interrupt context once all IO completed. */
  end_io: ((kio: KioBuf) => KernelCode<void>) | null = null;
  readonly wait: WaitQueueHead;
  readonly obj: number;
  /** Owner data (an iocb). */
  private_data: unknown = null;
  mapped = true;
  /** The buffer heads of the current transfer. */
  bhs: readonly BufferHead[] = NO_BHS;
  constructor(
    k: Kernel,
    p: Process,
    addr: number,
    length: number,
    rw: Rw,
    region: Region,
    pinned: number,
    ps: PinState = pin_state(k),
  ) {
    this.id = k.nextId('kiobuf');
    this.p = p;
    this.addr = addr;
    this.length = length;
    this.rw = rw;
    this.region = region;
    this.pinnedBytes = pinned;
    this.obj = k.newObjectId();
    this.wait = ps.wqPool.pop() ?? init_waitqueue_head(k, `kiobuf${this.id}.wait`, 'kiobuf.wait');
  }
  /** The pinned user bytes [off, off+len) of the buffer. */
  view(off: number, len: number): Uint8Array {
    const start = this.addr - this.region.start + off;
    return this.region.data.subarray(start, start + len);
  }
}

/**
 * The region holding user memory [addr, addr+len) of `p` when `p.mm.user_view(addr, len,
 * write)` would give a view of it, else null: the same checks without making the view, for hot
 * paths that read or write `region.data` at `addr - region.start` in place.
 */
export function user_region(p: Process, addr: number, len: number, write = false): Region | null {
  const r = p.mm.find(addr, len);
  if (r === undefined) return null;
  if (write && (r.prot & PROT_WRITE) === 0) return null;
  if ((r.prot & PROT_READ) === 0) return null;
  return r;
}

/**
 * `map_user_kiobuf(rw, p, addr, len)`: pins user memory [addr, addr+len) (readable, and writable
 * for a READ into it). Returns the kiobuf, -EFAULT for an unmapped range, or -ENOMEM when pinning
 * would pass the limit. Never sleeps.
 *
 * Its parts, for a hot caller that makes its one operation inline: `kiobuf_region` (the checks),
 * `kiobuf_pin_bytes`, `yield kiobuf_pin_op(...)` (the pinning, an `atomic()` section: true when
 * it pinned), then `new KioBuf(...)` or `kiobuf_pin_refused(k)`.
 */
export function* map_user_kiobuf(rw: Rw, p: Process, addr: number, len: number): KernelCode<KioBuf | number> {
  const k = kernel();
  const region = kiobuf_region(rw, p, addr, len);
  if (region === null) return -EFAULT;
  const bytes = kiobuf_pin_bytes(addr, len);
  const ps = pin_state(k);
  const ok: boolean = yield kiobuf_pin_op(ps, region, bytes);
  if (!ok) return kiobuf_pin_refused(k);
  return new KioBuf(k, p, addr, len, rw, region, bytes, ps);
}

/**
 * The checks of `map_user_kiobuf`: the region holding [addr, addr+len) (writable too for a
 * READ into it), or null (-EFAULT).
 */
export function kiobuf_region(rw: Rw, p: Process, addr: number, len: number): Region | null {
  if (len <= 0) return null;
  if (rw === READ) return user_region(p, addr, len, true);
  return p.mm.find(addr, len) ?? null;
}

/** The bytes pinning [addr, addr+len) accounts (whole pages). */
export function kiobuf_pin_bytes(addr: number, len: number): number {
  const firstPage = Math.floor(addr / PAGE_SIZE);
  const lastPage = Math.floor((addr + len - 1) / PAGE_SIZE);
  return (lastPage - firstPage + 1) * PAGE_SIZE;
}

/** The pinning of `map_user_kiobuf`: an `atomic()` section whose result says whether it pinned. */
export function kiobuf_pin_op(ps: PinState, region: Region, bytes: number): AtomicOp {
  return atomic_op(ps.obj, true, 'map_user_kiobuf: pin', () => {
    if (ps.pinnedBytes + bytes > ps.limitBytes) return false;
    ps.pinnedBytes += bytes;
    region.pinned++;
    if (ps.pinnedBytes > ps.peakBytes) ps.peakBytes = ps.pinnedBytes;
    return true;
  });
}

/** `map_user_kiobuf` refused (past the pinned-memory limit): counts it, -ENOMEM. */
export function kiobuf_pin_refused(k: Kernel): number {
  k.count('kiobuf.pinRefused');
  return -ENOMEM;
}

/**
 * `unmap_kiobuf(kio)`: unpins the memory and wakes tasks waiting for pin room. Its parts, for a
 * hot caller that makes its operations inline: `yield unmap_kiobuf_op(kio)` (the unpinning, an
 * `atomic()` section), then `wake_up_all(&pin_wait)`.
 */
export function* unmap_kiobuf(kio: KioBuf): KernelCode<void> {
  const op = unmap_kiobuf_op(kio);
  yield op;
  yield* wake_up_all(pin_state(kernel()).wait);
}

/** The unpinning of `unmap_kiobuf(kio)`, an `atomic()` section (it marks `kio` unmapped at once). */
export function unmap_kiobuf_op(kio: KioBuf): AtomicOp {
  if (!kio.mapped) throw new Error(`unmap_kiobuf: kiobuf ${kio.id} is not mapped`);
  kio.mapped = false;
  const k = kernel();
  const ps = pin_state(k);
  return atomic_op(ps.obj, true, 'unmap_kiobuf: unpin', () => {
    ps.pinnedBytes -= kio.pinnedBytes;
    kio.region.pinned--;
    // Recycle the buffer heads and the wait queue of a finished transfer.
    if (kio.done && kio.wait.list.length === 0) {
      const bhs = kio.bhs;
      if (bhs.length > 0) {
        for (const bh of bhs) {
          if (bh.b_wait.list.length > 0) continue;
          k.mem.commit(0, bh.b_state, 0);
          bh.b_private = null;
          let pool = ps.bhPool.get(bh.b_size);
          if (pool === undefined) ps.bhPool.set(bh.b_size, (pool = []));
          if (pool.length < 1024) pool.push(bh);
        }
        kio.bhs = NO_BHS;
      }
      if (ps.wqPool.length < 64) ps.wqPool.push(kio.wait);
    }
  });
}

/** Sleeps until `bytes` more could be pinned (or nothing is pinned at all). */
export function* wait_for_pin_room(bytes: number): KernelCode<void> {
  const ps = pin_state(kernel());
  yield* wait_event(ps.wait, function* () {
    return yield* atomic(
      ps.obj,
      false,
      'pin room?',
      () => ps.pinnedBytes === 0 || ps.pinnedBytes + bytes <= ps.limitBytes,
    );
  });
}

/** One piece of a kiobuf transfer: `size` bytes at kiobuf offset `offset`, device block `blocknr` (units of `size`). */
export interface KioSegment {
  readonly offset: number;
  readonly size: number;
  /** Device block in units of `size`; -1 for a hole (reads give zeros, no IO). */
  readonly blocknr: number;
}

function* end_kio_bh(bh: BufferHead, uptodate: boolean): KernelCode<void> {
  const kio = bh.b_private as KioBuf;
  yield* mark_buffer_uptodate(bh, uptodate);
  yield* unlock_buffer(bh);
  const last = yield* atomic(kio.obj, true, 'kiobuf io done', () => {
    if (!uptodate) kio.errno = -EIO;
    kio.io_count--;
    if (kio.io_count === 0) kio.done = true;
    return kio.io_count === 0;
  });
  if (last) {
    if (kio.end_io !== null) yield* kio.end_io(kio);
    yield* wake_up_all(kio.wait);
  }
}

/**
 * `brw_kiovec(rw, kio, dev, segments, end_io)`: starts the IO of every segment (holes are zeroed
 * at once on reads) and returns the number of buffers submitted, without sleeping and without
 * unplugging (`run_task_queue(tq_disk)` starts plugged IO). `end_io(kio)` runs in interrupt
 * context when the last buffer completes (at once, in the caller's context, if nothing needed IO);
 * `kio.errno` tells the outcome.
 */
export function* brw_kiovec(
  rw: Rw,
  kio: KioBuf,
  dev: unknown,
  segments: readonly KioSegment[],
  end_io: ((kio: KioBuf) => KernelCode<void>) | null = null,
): KernelCode<number> {
  const k = kernel();
  kio.end_io = end_io;
  kio.done = false;
  const bhs: BufferHead[] = [];
  for (const seg of segments) {
    if (seg.blocknr < 0) {
      if (rw === READ) kio.view(seg.offset, seg.size).fill(0);
      continue;
    }
    const pooled = pin_state(k).bhPool.get(seg.size)?.pop();
    const bh = pooled ?? alloc_buffer_head(k, `kio${kio.id}.${bhs.length}`, seg.blocknr, seg.size);
    bh.b_blocknr = seg.blocknr;
    bh.b_data = kio.view(seg.offset, seg.size);
    bh.b_dev = dev;
    bh.b_private = kio;
    bh.b_end_io = end_kio_bh;
    bhs.push(bh);
  }
  kio.bhs = bhs;
  kio.io_count = bhs.length + 1; // +1 held while submitting
  for (const bh of bhs) {
    yield* lock_buffer(bh);
    yield* submit_bh(rw, bh);
  }
  k.count('kiobuf.bhs', bhs.length);
  // Drop the submission reference: completes the kiobuf at once if every buffer already has.
  const last = yield* atomic(kio.obj, true, 'brw_kiovec submitted', () => {
    kio.io_count--;
    if (kio.io_count === 0) kio.done = true;
    return kio.io_count === 0;
  });
  if (last) {
    if (kio.end_io !== null) yield* kio.end_io(kio);
    yield* wake_up_all(kio.wait);
  }
  return bhs.length;
}

/** Waits (uninterruptibly) until every buffer of `kio` completed; returns `kio.errno`. */
export function* wait_kio(kio: KioBuf): KernelCode<number> {
  yield* run_task_queue(tq_disk(kernel()));
  yield* wait_event(kio.wait, function* () {
    return yield* atomic(kio.obj, false, 'kiobuf done?', () => kio.done);
  });
  return kio.errno;
}

/** The buffer size for a direct transfer: the largest of 4096..512 dividing all of `values`. */
export function direct_block_size(...values: number[]): number {
  for (let s = PAGE_SIZE; s >= SECTOR_SIZE; s >>= 1) if (values.every((v) => v % s === 0)) return s;
  return 0;
}

/** Costs of the direct path in timed runs: mapping and pinning user pages, per page (ns). */
export const DIRECT_PIN_NS_PER_PAGE = 200;

/**
 * The synchronous direct IO of `inode` (a raw device's block device, or an O_DIRECT file):
 * `rw` of `count` bytes at file offset `pos` from/to user memory `buf`. Returns the byte count or
 * -errno; a misaligned request (`buf`, `pos` or `count` not a multiple of 512) gets -EINVAL and
 * changes nothing; reads at or past EOF return 0. A write with O_APPEND to a file (not a block
 * device) starts at the file's size, `pos` notwithstanding.
 */
export function* direct_io(
  rw: Rw,
  inode: Inode,
  flags: number,
  p: Process,
  buf: number,
  count: number,
  ppos: Ppos,
): KernelCode<number> {
  const k = kernel();
  let pos = ppos.pos;
  const append = rw === WRITE && appends(inode, flags);
  if (buf % SECTOR_SIZE !== 0 || (!append && pos % SECTOR_SIZE !== 0) || count % SECTOR_SIZE !== 0)
    return -EINVAL;
  if (count === 0) return 0;
  if (p.mm.find(buf, count) === undefined) return -EFAULT;
  const ops = inode.ops;
  if (rw === WRITE) yield* down(inode.i_sem);
  if (append) {
    // An appending write starts at the size read under i_sem, which must be aligned too.
    pos = inode.i_size;
    if (pos % SECTOR_SIZE !== 0) {
      yield* up(inode.i_sem);
      return -EINVAL;
    }
  }
  let total: number;
  if (rw === READ) {
    if (pos >= inode.i_size) return 0;
    total = Math.min(count, inode.i_size - pos);
  } else {
    if (pos >= ops.maxBytes) {
      yield* up(inode.i_sem);
      return ops.fixedSize ? -ENOSPC : -EFBIG;
    }
    total = Math.min(count, ops.maxBytes - pos);
  }
  const ioBytes = Math.ceil(total / SECTOR_SIZE) * SECTOR_SIZE;
  // Coherence with the page cache: write back the cached pages of the range first.
  const firstPage = Math.floor(pos / PAGE_SIZE);
  const lastPage = Math.floor((pos + ioBytes - 1) / PAGE_SIZE);
  if (inode.mapping.dirty.size > 0 || inode.mapping.writeback.size > 0) {
    yield* filemap_fdatasync(inode.mapping, firstPage, lastPage);
    const e = yield* filemap_fdatawait(inode.mapping);
    if (e < 0) {
      if (rw === WRITE) yield* up(inode.i_sem);
      return e;
    }
  }
  const bsize = direct_block_size(buf, pos, ioBytes);
  let done = 0;
  let err = 0;
  let allocated = false;
  while (done < ioBytes) {
    const chunk = Math.min(ioBytes - done, KIO_MAX_BYTES, pin_state(k).limitBytes - 2 * PAGE_SIZE);
    let kio: KioBuf | number;
    for (;;) {
      yield* wait_for_pin_room(chunk + 2 * PAGE_SIZE);
      kio = yield* map_user_kiobuf(rw, p, buf + done, chunk);
      if (kio !== -ENOMEM) break;
    }
    if (typeof kio === 'number') {
      err = kio;
      break;
    }
    if (k.config.timed) yield* cpu(DIRECT_PIN_NS_PER_PAGE * Math.ceil(chunk / PAGE_SIZE));
    // Map the file blocks of the chunk.
    const segs: KioSegment[] = [];
    for (let off = 0; off < chunk && err === 0; off += bsize) {
      const fpos = pos + done + off;
      const iblock = Math.floor(fpos / PAGE_SIZE);
      const r = yield* ops.get_block(inode, iblock, rw === WRITE);
      if (typeof r === 'number') {
        err = r;
        break;
      }
      if (r === null) {
        segs.push({ offset: off, size: bsize, blocknr: -1 });
        continue;
      }
      if (r.fresh) allocated = true;
      const per = PAGE_SIZE / bsize;
      segs.push({
        offset: off,
        size: bsize,
        blocknr: r.block * per + Math.floor((fpos % PAGE_SIZE) / bsize),
      });
    }
    if (err !== 0) {
      yield* unmap_kiobuf(kio);
      break;
    }
    yield* brw_kiovec(rw, kio, inode.dev, segs);
    const e = yield* wait_kio(kio);
    yield* unmap_kiobuf(kio);
    if (e < 0) {
      err = e;
      break;
    }
    done += chunk;
  }
  let result = Math.min(done, total);
  if (rw === WRITE) {
    if (result > 0) {
      if (pos + result > inode.i_size && !ops.fixedSize) {
        inode.i_size = pos + result;
        inode.i_state |= I_DIRTY_DATASYNC;
      }
      if (allocated) inode.i_state |= I_DIRTY_DATASYNC;
      inode.i_state |= I_DIRTY_SYNC;
      // Drop cached copies of what was just written.
      yield* invalidate_inode_pages_range(inode.mapping, firstPage, lastPage);
      if ((flags & (O_SYNC | O_DSYNC)) !== 0) {
        const e = yield* generic_osync_inode(inode, (flags & O_SYNC) === O_SYNC ? 'sync' : 'dsync');
        if (e < 0 && err === 0) err = e;
      }
    }
    yield* up(inode.i_sem);
  }
  k.count(rw === READ ? 'direct.bytesRead' : 'direct.bytesWritten', result);
  if (result > 0) ppos.pos = pos + result;
  if (result === 0 && err < 0) result = err;
  return result;
}
