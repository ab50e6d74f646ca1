/**
 * Kernel IO vectors (`kvec`s) and the in-kernel IO API of the 2.4 AIO patch.
 *
 * - `Kvec`: an array of `{ page, offset, length }` veclets (a page is anything holding 4 KiB
 *   of bytes: a page-cache `Page`, or a pinned page of user memory); `map_user_kvec` pins a
 *   user range (`map_user_kiobuf`, counted against the pinned-memory limit) and describes it
 *   as a kvec (`kvec_of_kiobuf`: the pages of a user region are made once and shared),
 *   `unmap_kvec` unpins it.
 * - `KvecCb`: `{ vec, fn, data }`, what a `kvec_read`/`kvec_write` member calls when the IO is
 *   over (`fn(data, vec, res)`, in interrupt context, `res` the bytes moved or -errno).
 * - `brw_kvec_async(rw, vec, dev, bsize, blocks, done)`: 2.4's `brw_kvec_async`: one buffer
 *   head per `bsize` bytes of the vector, each straight over the veclet's bytes (the device
 *   "DMAs" into the pages), submitted without sleeping; `done(res)` runs once, in interrupt
 *   context, when the last buffer completed (at once, in the caller, if none needed IO).
 *   `brw_kvec_submit(..., fn, data, unplug)` is the same with the completion as `fn(data, res)`
 *   (no closure per transfer) and, with `unplug`, the `tq_disk` run a kvec member ends with.
 * - `KvecMethods`: the `kvec_read`/`kvec_write` members of `file_operations`.
 * - `rw_kiovec(filp, rw, vec, size, pos)`: the synchronous in-kernel entry: starts the file's
 *   kvec method and sleeps until its callback ran. Returns the bytes moved or -errno.
 *
 * Buffer heads of finished transfers are pooled per kernel, by size. They are private to the
 * transfer (nobody looks them up or waits on them), so they are submitted without `BH_Lock`.
 */

import { bh_device, READ, type Rw, submit_bh_check, submit_bh_route } from '../devices/blkdev.js';
import { alloc_buffer_head, type BufferHead, set_req_op } from '../devices/buffer.js';
import { type KioBuf, map_user_kiobuf, unmap_kiobuf } from '../devices/kiobuf.js';
import { PAGE_SIZE } from '../devices/page.js';
import { EINVAL, EIO } from '../kernel/errno.js';
import { counter, type Kernel } from '../kernel/kernel.js';
import { keyed } from '../kernel/keyed.js';
import { atomic, type KernelCode } from '../kernel/ops.js';
import { atomic_op, done } from '../kernel/prebuilt.js';
import type { File, Process, Region } from '../kernel/process.js';
import { kernel } from '../kernel/sched.js';
import { run_task_queue, tq_disk } from '../kernel/tqueue.js';
import { init_waitqueue_head, wait_event, wake_up_all } from '../waitqueue/waitqueue.js';

/** Counters of `stats` this module adds to on hot paths. */
const KVEC_BHS = counter('kvec.bhs');

/** A page of a kvec: 4 KiB of bytes (a `Page` qualifies). */
export interface KvecPage {
  readonly data: Uint8Array;
}

/** One piece of a kvec: `length` bytes at `offset` in `page`. */
export interface Veclet {
  readonly page: KvecPage;
  readonly offset: number;
  readonly length: number;
}

/** `struct kvec`: veclets, and the pinned user memory behind them if any. */
export interface Kvec {
  readonly veclets: readonly Veclet[];
  /** Total bytes. */
  readonly length: number;
  /** The pinning behind a kvec of user memory (`map_user_kvec`), else null. */
  readonly kio: KioBuf | null;
}

/** `kvec_cb_t`: the completion of a kvec IO. */
export interface KvecCb {
  readonly vec: Kvec;
  /** Called once when the IO is over, in interrupt context: `res` = bytes moved, or -errno. */
  readonly fn: (data: unknown, vec: Kvec, res: number) => KernelCode<void>;
  readonly data: unknown;
}

/** The `kvec_read` / `kvec_write` members a file's operations may carry. */
export interface KvecMethods {
  /**
   * Starts reading `size` bytes at `pos` into `cb.vec`: 0 when `cb.fn` will be (or already was)
   * called, else a negative errno (and `cb.fn` is not called). Never sleeps.
   */
  kvec_read?(file: File, cb: KvecCb, size: number, pos: number): KernelCode<number>;
  /** The same for writing. */
  kvec_write?(file: File, cb: KvecCb, size: number, pos: number): KernelCode<number>;
}

/** A kvec over kernel pages. */
export function kvec_of(veclets: readonly Veclet[]): Kvec {
  let length = 0;
  for (const v of veclets) {
    if (v.offset < 0 || v.length < 0 || v.offset + v.length > v.page.data.length)
      throw new Error(`kvec: veclet [${v.offset}, +${v.length}) is outside its page`);
    length += v.length;
  }
  return { veclets, length, kio: null };
}

/**
 * `map_user_kvec(rw, p, addr, len)`: pins user memory [addr, addr+len) and returns it as a kvec
 * (one veclet per user page), or -EFAULT / -ENOMEM (past the pinned-memory limit). Never sleeps.
 * (A hot caller makes it inline: `map_user_kiobuf`'s parts, then `kvec_of_kiobuf`.)
 */
export function* map_user_kvec(rw: Rw, p: Process, addr: number, len: number): KernelCode<Kvec | number> {
  const kio: KioBuf | number = yield map_user_kiobuf(rw, p, addr, len);
  return typeof kio === 'number' ? kio : kvec_of_kiobuf(kio);
}

/** The kvec pages and whole-page veclets of a region of user memory, by page, made on first use. */
interface RegionPages {
  readonly pages: (KvecPage | undefined)[];
  readonly whole: (Veclet | undefined)[];
}
const pagesOf: (region: Region) => RegionPages = keyed(() => ({ pages: [], whole: [] }));

/**
 * The veclet of `n` bytes at `at` of the user page starting at `pageStart` in `region`. A page
 * (a fixed view of the region's bytes) and a whole-page veclet are made once and shared: both
 * are immutable.
 */
function userVeclet(region: Region, pageStart: number, at: number, n: number): Veclet {
  const rp = pagesOf(region);
  const off = pageStart - region.start;
  const i = off / PAGE_SIZE;
  let page = rp.pages[i];
  if (page === undefined) {
    page = { data: region.data.subarray(off, off + PAGE_SIZE) };
    rp.pages[i] = page;
  }
  if (at !== pageStart || n !== PAGE_SIZE) return { page, offset: at - pageStart, length: n };
  let v = rp.whole[i];
  if (v === undefined) {
    v = { page, offset: 0, length: PAGE_SIZE };
    rp.whole[i] = v;
  }
  return v;
}

/** The kvec of the user memory `kio` pinned (one veclet per user page). */
export function kvec_of_kiobuf(kio: KioBuf): Kvec {
  const veclets: Veclet[] = [];
  const region = kio.region;
  let at = kio.addr;
  const end = at + kio.length;
  while (at < end) {
    const pageStart = at - (at % PAGE_SIZE);
    const n = Math.min(pageStart + PAGE_SIZE, end) - at;
    veclets.push(userVeclet(region, pageStart, at, n));
    at += n;
  }
  return { veclets, length: kio.length, kio };
}

/**
 * `unmap_kvec(vec)`: unpins the user memory behind `vec` (callable from interrupt context). A
 * plain function handing back `unmap_kiobuf`'s code: one `yield*` level less.
 */
export function unmap_kvec(vec: Kvec): KernelCode<void> {
  const kio = vec.kio;
  if (kio === null) return done(undefined);
  // Nothing of ours sits on the kiobuf: let unmap_kiobuf recycle its wait queue.
  kio.done = true;
  return unmap_kiobuf(kio);
}

/** The largest of 4096..512 that divides `pos`, `size` and every veclet's offset and length; 0 if none. */
export function kvec_block_size(vec: Kvec, pos: number, size: number): number {
  const veclets = vec.veclets;
  for (let s = PAGE_SIZE; s >= 512; s >>= 1) {
    if (pos % s !== 0 || size % s !== 0) continue;
    let ok = true;
    for (let i = 0; i < veclets.length && ok; i++) {
      const v = veclets[i]!;
      ok = v.offset % s === 0 && v.length % s === 0;
    }
    if (ok) return s;
  }
  return 0;
}

/** Per-kernel pool of idle buffer heads of kvec transfers, by size. */
const pools = new WeakMap<Kernel, Map<number, BufferHead[]>>();
/** The last pool looked up, and for which kernel and size. */
let lastPoolKernel: Kernel | null = null;
let lastPoolSize = 0;
let lastPool: BufferHead[] = [];

function pool(k: Kernel, size: number): BufferHead[] {
  if (k === lastPoolKernel && size === lastPoolSize) return lastPool;
  let m = pools.get(k);
  if (m === undefined) {
    m = new Map();
    pools.set(k, m);
  }
  let p = m.get(size);
  if (p === undefined) {
    p = [];
    m.set(size, p);
  }
  lastPoolKernel = k;
  lastPoolSize = size;
  lastPool = p;
  return p;
}

/** What a kvec transfer calls when it is over (in interrupt context): `fn(data, res)`. */
export type KvecDone = (data: unknown, res: number) => KernelCode<void>;

/** The state of one `brw_kvec_async` transfer. */
class KvecIo {
  readonly obj: number;
  readonly k: Kernel;
  /** Buffers in flight. */
  io_count = 0;
  errno = 0;
  bytes = 0;
  readonly fn: KvecDone;
  readonly data: unknown;
  /** The buffers of the transfer (made by `brw_kvec_submit`). */
  readonly bhs: BufferHead[] = [];
  constructor(k: Kernel, fn: KvecDone, data: unknown) {
    this.k = k;
    this.obj = k.newObjectId();
    this.fn = fn;
    this.data = data;
  }
}

function* end_kvec_bh(bh: BufferHead, uptodate: boolean): KernelCode<void> {
  const io = bh.b_private as KvecIo;
  bh.b_private = null;
  const last: boolean = yield atomic_op(io.obj, true, 'kvec io done', () => {
    if (!uptodate) io.errno = -EIO;
    const p = pool(io.k, bh.b_size);
    if (p.length < 4096) p.push(bh);
    return --io.io_count === 0;
  });
  // A trampolined call: the completion's operations do not pass through this frame.
  if (last) yield io.fn(io.data, io.errno < 0 ? io.errno : io.bytes);
}

/** `brw_kvec_async`'s `done(res)` as a `KvecDone` (its data is `done`). */
function callDone(data: unknown, res: number): KernelCode<void> {
  return (data as (res: number) => KernelCode<void>)(res);
}

/**
 * `brw_kvec_async(rw, vec, dev, bsize, blocks, done)`: transfers `vec` (in units of `bsize`
 * bytes; unit i goes to device block `blocks[i]`, in units of `bsize`, or is a hole when it is
 * -1: zeros on a read, nothing on a write) without sleeping and without unplugging (run
 * `tq_disk` afterwards). `done(res)` runs once, in interrupt context, with the bytes moved or
 * -EIO; at once, in the caller's context, when nothing needed IO. Returns the buffers submitted.
 */
export function brw_kvec_async(
  rw: Rw,
  vec: Kvec,
  dev: unknown,
  bsize: number,
  blocks: readonly number[],
  done: (res: number) => KernelCode<void>,
): KernelCode<number> {
  return brw_kvec_submit(rw, vec, dev, bsize, blocks, callDone, done, false);
}

/**
 * `brw_kvec_async` with its completion as `fn(data, res)` (no closure per transfer): the same
 * buffers, operations and result. With `unplug`, it then runs `tq_disk` (if anything is queued
 * there) and returns 0: what a kvec member does after `brw_kvec_async`, so that the member can
 * hand this code back as its own. (A plain function: it makes the buffer heads and hands back
 * the code that submits them.)
 */
export function brw_kvec_submit(
  rw: Rw,
  vec: Kvec,
  dev: unknown,
  bsize: number,
  blocks: readonly number[],
  fn: KvecDone,
  data: unknown,
  unplug: boolean,
): KernelCode<number> {
  const k = kernel();
  const io = new KvecIo(k, fn, data);
  io.bytes = vec.length;
  const free = pool(k, bsize);
  const bhs = io.bhs;
  let unit = 0;
  const veclets = vec.veclets;
  for (let vi = 0; vi < veclets.length; vi++) {
    const v = veclets[vi]!;
    for (let off = 0; off < v.length; off += bsize, unit++) {
      const blocknr = blocks[unit];
      if (blocknr === undefined) throw new Error(`brw_kvec_async: no block for unit ${unit}`);
      const pd = v.page.data;
      const data =
        v.offset + off === 0 && bsize === pd.length
          ? pd
          : pd.subarray(v.offset + off, v.offset + off + bsize);
      if (blocknr < 0) {
        if (rw === READ) data.fill(0);
        continue;
      }
      const bh = free.pop() ?? alloc_buffer_head(k, `kvec.bh${k.nextId('kvec.bh')}`, blocknr, bsize);
      bh.b_blocknr = blocknr;
      bh.b_data = data;
      bh.b_dev = dev;
      bh.b_private = io;
      bh.b_end_io = end_kvec_bh;
      bhs.push(bh);
    }
  }
  k.add(KVEC_BHS(k), bhs.length);
  return kvec_submit(rw, io, unplug);
}

/**
 * The submission of `brw_kvec_submit`: every buffer of `io` goes to its device, `submit_bh`
 * made inline for each — its `set_bit` (prebuilt per buffer head) and the device's
 * `make_request` (a trampolined call); then the unplug if asked. The buffers submitted, or 0
 * with `unplug`.
 */
function* kvec_submit(rw: Rw, io: KvecIo, unplug: boolean): KernelCode<number> {
  const bhs = io.bhs;
  const n = bhs.length;
  if (n === 0) {
    yield io.fn(io.data, io.bytes);
    if (unplug) yield* unplug_disks(io.k);
    return 0;
  }
  // The count only reaches zero once every buffer completed, so all were submitted by then.
  io.io_count = n;
  for (let i = 0; i < n; i++) {
    const bh = bhs[i]!;
    // submit_bh(rw, bh), inline.
    submit_bh_check(bh);
    yield set_req_op(bh); // set_bit(BH_Req, &bh->b_state); its result is not used
    submit_bh_route(rw, bh);
    for (let guard = 0; ; guard++) {
      // generic_make_request: the device's make_request, a trampolined call, until no remap.
      const remapped: boolean = yield bh_device(bh, guard).make_request(rw, bh);
      if (!remapped) break;
    }
  }
  if (!unplug) return n;
  // run_task_queue(&tq_disk), when anything is queued there (a trampolined call).
  const q = tq_disk(io.k);
  if (q.list.length > 0) yield run_task_queue(q);
  return 0;
}

/** Runs `tq_disk` if anything is queued there (starts plugged IO). */
function* unplug_disks(k: Kernel): KernelCode<void> {
  const q = tq_disk(k);
  if (q.list.length > 0) yield run_task_queue(q);
}

function kvecOps(f: File): KvecMethods {
  return f.f_op as unknown as KvecMethods;
}

/**
 * `rw_kiovec(filp, rw, vec, size, pos)`: reads or writes `size` bytes at `pos` of `filp`
 * through its `kvec_read`/`kvec_write` member, and sleeps (uninterruptibly) until the IO is
 * over. Returns the bytes moved or -errno (-EINVAL for a file without kvec methods).
 */
export function* rw_kiovec(filp: File, rw: Rw, vec: Kvec, size: number, pos: number): KernelCode<number> {
  const m = kvecOps(filp);
  const method = rw === READ ? m.kvec_read : m.kvec_write;
  if (method === undefined) return -EINVAL;
  if (size > vec.length) return -EINVAL;
  const k = kernel();
  const wq = init_waitqueue_head(k, 'rw_kiovec');
  const obj = k.newObjectId();
  let res: number | null = null;
  const r = yield* method.call(
    m,
    filp,
    {
      vec,
      data: null,
      *fn(_data, _vec, n) {
        yield* atomic(obj, true, 'rw_kiovec done', () => {
          res = n;
        });
        yield* wake_up_all(wq);
      },
    },
    size,
    pos,
  );
  if (r < 0) return r;
  yield* wait_event(wq, function* () {
    return yield* atomic(obj, false, 'rw_kiovec done?', () => res !== null);
  });
  return res as number | null as number;
}
