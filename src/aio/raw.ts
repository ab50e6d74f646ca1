/**
 * Asynchronous direct IO: raw devices (`/dev/rawN`) and files opened with O_DIRECT.
 *
 * Two layers, as in the 2.4 patch:
 *
 * - the kvec members `direct_kvec_read` / `direct_kvec_write` (`kvec_read`/`kvec_write` of
 *   these files): map the file range onto device blocks (allocating on writes) and hand the
 *   vector to `brw_kvec_async`, straight to the block layer; the callback runs in interrupt
 *   context. Alignment: the vector's offsets and lengths, `pos` and `size` must be multiples of
 *   512 (-EINVAL otherwise); reads stop at `i_size`; writes past the largest size fail with
 *   -ENOSPC (devices) or -EFBIG (files).
 * - `generic_aio_rw` (behind `direct_aio_read` / `direct_aio_write`): pins the user buffer a
 *   chunk at a time (`map_user_kvec`, at most `aio_limits(k).aioMaxSize` bytes and never more
 *   than the pinned-memory limit allows), calls the kvec member, and from the chunk's
 *   completion (interrupt context) either queues the next chunk on a worker (process context,
 *   2.4's `generic_aio_complete_rw` + `schedule_task`) or completes the request with
 *   `aio_complete`. The submitter never sleeps (the whole submission runs inside
 *   `wtd_nonblocking('aio_read' | 'aio_write')`, so a sleep would be reported as a `bug`):
 *   - O_DIRECT writes to a file take `i_sem` with `wtd_down` (they may extend the file); raw
 *     devices (fixed size) do not;
 *   - when pinning would pass the limit, the request parks a func entry on the pin wait queue
 *     and is retried by a worker when an unpin makes room;
 *   - when dirty cached pages overlap the range (coherence with buffered IO, as the synchronous
 *     path), the request moves to a worker, which writes them first;
 *   - after a write, cached copies of the range are dropped and O_SYNC/O_DSYNC data and
 *     metadata are written on a worker; otherwise the last completion calls `aio_complete` from
 *     the interrupt itself.
 *   On the worker, the page-cache work goes through the request's worktodo (`wtd_lock_page`,
 *   `wtd_wait_page`), never `lock_page`/`wait_on_page`: a page lock may belong to a worktodo
 *   queued on the same pool, so a worker sleeping on it could wait for itself (see
 *   `walk_pages`). Only the inode write of O_SYNC/O_DSYNC sleeps, on its own buffer.
 *   The request can be cancelled until `aio_start` (just before its first chunk goes to the
 *   block layer).
 * - `direct_aio_check`: the alignment rule at submission (-EINVAL), as the synchronous path.
 */

import { READ, type Rw, SECTOR_SIZE, WRITE } from '../devices/blkdev.js';
import {
  DIRECT_PIN_NS_PER_PAGE,
  KioBuf,
  kiobuf_pin_bytes,
  kiobuf_pin_op,
  kiobuf_pin_refused,
  kiobuf_region,
  type PinState,
  pin_state,
  unmap_kiobuf_op,
} from '../devices/kiobuf.js';
import { PAGE_SIZE, type Page, PG_error, UnlockPage } from '../devices/page.js';
import {
  clear_page_dirty_for_io,
  I_DIRTY_DATASYNC,
  I_DIRTY_SYNC,
  type Inode,
  page_cache_release,
  remove_from_page_cache,
  writepage,
} from '../devices/pagecache.js';
import type { DevFile } from '../devices/simplefs.js';
import { EFAULT, EFBIG, EINVAL, EIO, ENOSPC } from '../kernel/errno.js';
import { counter, type Kernel } from '../kernel/kernel.js';
import type { AtomicOp, KernelCode, Op } from '../kernel/ops.js';
import { atomic, cpu, READ_ONCE } from '../kernel/ops.js';
import { done, prebuilt } from '../kernel/prebuilt.js';
import { type File, O_DSYNC, O_SYNC, type Process, type Region } from '../kernel/process.js';
import { kernel } from '../kernel/sched.js';
import { TASK_NORMAL } from '../kernel/task.js';
import { run_task_queue, tq_disk } from '../kernel/tqueue.js';
import { up } from '../waitqueue/semaphore.js';
import {
  __remove_wait_queue,
  __wake_up_common,
  add_wait_queue_cond,
  init_waitqueue_func_entry,
  type WaitQueueEntry,
} from '../waitqueue/waitqueue.js';
import { wtd_down, wtd_lock_page, wtd_wait_page } from '../wtd/primitives.js';
import {
  Worktodo,
  wtd_mark,
  wtd_nonblocking,
  wtd_queue,
  wtd_set_action,
  wtd_unmark,
} from '../wtd/worktodo.js';
import {
  aio_complete,
  aio_start,
  aio_start_locked,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
  type Kiocb,
} from './kioctx.js';
import {
  brw_kvec_submit,
  type Kvec,
  type KvecCb,
  kvec_block_size,
  kvec_of_kiobuf,
  unmap_kvec,
} from './kvec.js';

/** Counters of `stats` this module adds to on hot paths. */
const DIRECT_BYTES_READ = counter('direct.bytesRead');
const DIRECT_BYTES_WRITTEN = counter('direct.bytesWritten');
const AIO_DIRECT_READS = counter('aio.direct.reads');
const AIO_DIRECT_WRITES = counter('aio.direct.writes');

function inodeOf(file: File): Inode {
  return (file.private_data as DevFile).inode;
}

/** Whether `mapping` caches a page in [first, last] matching `pick`. */
function cachedInRange(inode: Inode, first: number, last: number, dirtyOnly: boolean): boolean {
  const m = inode.mapping;
  if (dirtyOnly) {
    if (m.dirty.size === 0 && m.writeback.size === 0) return false;
    for (const set of [m.dirty, m.writeback])
      for (const page of set) if (page.index >= first && page.index <= last) return true;
    return false;
  }
  if (m.pages.size === 0) return false;
  if (last - first < m.pages.size) {
    for (let i = first; i <= last; i++) if (m.pages.has(i)) return true;
    return false;
  }
  for (const i of m.pages.keys()) if (i >= first && i <= last) return true;
  return false;
}

// ---------------------------------------------------------------------------------------------
// The kvec members

/** A kvec holding the first `n` bytes of `vec`. */
function kvec_head(vec: Kvec, n: number): Kvec {
  if (n >= vec.length) return vec;
  const veclets = [];
  let left = n;
  for (const v of vec.veclets) {
    if (left <= 0) break;
    const len = Math.min(v.length, left);
    veclets.push(len === v.length ? v : { page: v.page, offset: v.offset, length: len });
    left -= len;
  }
  return { veclets, length: n, kio: vec.kio };
}

/** What the end of one direct chunk needs (`kvec_done`): one object per chunk, no closure. */
class KvecXfer {
  readonly rw: Rw;
  readonly inode: Inode;
  readonly pos: number;
  readonly total: number;
  readonly cb: KvecCb;
  constructor(rw: Rw, inode: Inode, pos: number, total: number, cb: KvecCb) {
    this.rw = rw;
    this.inode = inode;
    this.pos = pos;
    this.total = total;
    this.cb = cb;
  }
}

/**
 * The end of one direct chunk, in interrupt context (module-level: no closure per chunk). A
 * plain function handing back the callback's code: one `yield*` level less.
 */
function kvec_done(data: unknown, res: number): KernelCode<void> {
  const x = data as KvecXfer;
  const { rw, inode, cb } = x;
  const n = res < 0 ? res : Math.min(res, x.total);
  if (rw === WRITE && n > 0) {
    if (x.pos + n > inode.i_size && !inode.ops.fixedSize) {
      inode.i_size = x.pos + n;
      inode.i_state |= I_DIRTY_DATASYNC;
    }
    inode.i_state |= I_DIRTY_SYNC;
  }
  const k = kernel();
  k.add((rw === READ ? DIRECT_BYTES_READ : DIRECT_BYTES_WRITTEN)(k), Math.max(0, n));
  return cb.fn(cb.data, cb.vec, n);
}

/** What a direct kvec transfer moves: its bytes, the kvec of the sectors to move, the block size. */
class DirectLayout {
  readonly total: number;
  readonly vec: Kvec;
  readonly bsize: number;
  constructor(total: number, vec: Kvec, bsize: number) {
    this.total = total;
    this.vec = vec;
    this.bsize = bsize;
  }
  /** The device block of the transfer's block at file position `fpos`, in page block `block`. */
  devBlock(block: number, fpos: number): number {
    const bsize = this.bsize;
    return block * (PAGE_SIZE / bsize) + Math.floor((fpos % PAGE_SIZE) / bsize);
  }
}

/**
 * The checks and the layout of a direct kvec transfer (reads stop at `i_size`): its layout, 0
 * when it moves nothing, or -errno.
 */
function direct_layout(rw: Rw, inode: Inode, cb: KvecCb, size: number, pos: number): DirectLayout | number {
  const ops = inode.ops;
  if (pos % SECTOR_SIZE !== 0 || size % SECTOR_SIZE !== 0 || size > cb.vec.length) return -EINVAL;
  let total: number;
  if (rw === READ) total = Math.min(size, Math.max(0, inode.i_size - pos));
  else if (pos >= ops.maxBytes) return ops.fixedSize ? -ENOSPC : -EFBIG;
  else total = Math.min(size, ops.maxBytes - pos);
  if (total === 0) return 0;
  const ioBytes = Math.ceil(total / SECTOR_SIZE) * SECTOR_SIZE;
  const vec = kvec_head(cb.vec, ioBytes);
  const bsize = kvec_block_size(vec, pos, ioBytes);
  return bsize === 0 ? -EINVAL : new DirectLayout(total, vec, bsize);
}

/**
 * `kvec_read` / `kvec_write` of direct IO: the checks, the block mapping, the submission (and
 * the unplug). A plain function handing back the code to run: on a block device (`bmap`) the
 * mapping is plain too, so the submission itself (`brw_kvec_submit`) is all there is — no
 * frame of its own on the hot path; a file maps through `get_block` (`direct_kvec_rw_mapped`).
 */
function direct_kvec_rw(rw: Rw, file: File, cb: KvecCb, size: number, pos: number): KernelCode<number> {
  const inode = inodeOf(file);
  const bmap = inode.ops.bmap;
  if (bmap === undefined) return direct_kvec_rw_mapped(rw, file, cb, size, pos);
  const l = direct_layout(rw, inode, cb, size, pos);
  if (l === 0) return direct_kvec_rw_mapped(rw, file, cb, size, pos); // calls cb.fn at once
  if (typeof l === 'number') return done(l);
  const blocks: number[] = [];
  for (let off = 0; off < l.vec.length; off += l.bsize) {
    const fpos = pos + off;
    const block = bmap(inode, Math.floor(fpos / PAGE_SIZE));
    if (block < 0) return done(block);
    blocks.push(l.devBlock(block, fpos));
  }
  const x = new KvecXfer(rw, inode, pos, l.total, cb);
  return brw_kvec_submit(rw, l.vec, inode.dev, l.bsize, blocks, kvec_done, x, true);
}

/** `direct_kvec_rw` through the inode's `get_block` (files; and any transfer of nothing). */
function* direct_kvec_rw_mapped(
  rw: Rw,
  file: File,
  cb: KvecCb,
  size: number,
  pos: number,
): KernelCode<number> {
  const inode = inodeOf(file);
  const l = direct_layout(rw, inode, cb, size, pos);
  if (l === 0) {
    yield* cb.fn(cb.data, cb.vec, 0);
    return 0;
  }
  if (typeof l === 'number') return l;
  const blocks: number[] = [];
  for (let off = 0; off < l.vec.length; off += l.bsize) {
    const fpos = pos + off;
    const r = yield* inode.ops.get_block(inode, Math.floor(fpos / PAGE_SIZE), rw === WRITE);
    if (typeof r === 'number') return r;
    if (r === null) {
      blocks.push(-1);
      continue;
    }
    if (r.fresh) inode.i_state |= I_DIRTY_DATASYNC;
    blocks.push(l.devBlock(r.block, fpos));
  }
  // A trampolined call (it unplugs after): its operations do not pass through this frame.
  const x = new KvecXfer(rw, inode, pos, l.total, cb);
  return yield brw_kvec_submit(rw, l.vec, inode.dev, l.bsize, blocks, kvec_done, x, true);
}

/**
 * `kvec_read` of raw devices and O_DIRECT files: starts reading `size` bytes at `pos` into
 * `cb.vec`; `cb.fn` gets the bytes read (clipped at `i_size`) or -EIO. 0, or -EINVAL / a
 * block-mapping error at once. Never sleeps. (Unlike the AIO path, it does not write dirty
 * cached pages of the range first — as 2.4's raw driver.)
 */
export function direct_kvec_read(file: File, cb: KvecCb, size: number, pos: number): KernelCode<number> {
  return direct_kvec_rw(READ, file, cb, size, pos);
}

/** `kvec_write` of raw devices and O_DIRECT files (allocates blocks of files). */
export function direct_kvec_write(file: File, cb: KvecCb, size: number, pos: number): KernelCode<number> {
  return direct_kvec_rw(WRITE, file, cb, size, pos);
}

// ---------------------------------------------------------------------------------------------
// The AIO path

/** Alignment rules of direct AIO (as the synchronous path): 0 or -EINVAL. */
export function direct_aio_check(
  _file: File,
  opcode: number,
  buf: number,
  nbytes: number,
  pos: number,
): number {
  if (opcode !== IOCB_CMD_PREAD && opcode !== IOCB_CMD_PWRITE) return 0;
  if (buf % SECTOR_SIZE !== 0 || pos % SECTOR_SIZE !== 0 || nbytes % SECTOR_SIZE !== 0) return -EINVAL;
  return 0;
}

/**
 * One direct AIO request in flight and its progress. Its worktodo (for `i_sem`, pin waits and
 * the work done on a worker) is made on first need: a one-chunk read never needs one.
 */
class DirectAio {
  private w: Worktodo | null = null;
  readonly req: Kiocb;
  readonly gen: number;
  readonly file: File;
  readonly inode: Inode;
  readonly rw: Rw;
  readonly p: Process;
  readonly buf: number;
  readonly pos: number;
  readonly nbytes: number;
  readonly flags: number;
  /** Bytes done so far (whole chunks). */
  done = 0;
  err = 0;
  /** The chunk in flight and its length. */
  chunk = 0;
  semHeld = false;
  started = false;
  flushed = false;
  /** How far the end of a write got (`finish`): cached copies dropped, then the O_SYNC/O_DSYNC data. */
  tail: 'start' | 'invalidated' | 'synced' | 'done' = 'start';
  /** The page walk in progress (`walk_pages`): its pages (referenced), cursors and first error. */
  walk: readonly Page[] = NO_PAGES;
  walkMode: WalkMode = 'writeback';
  walkIdx = 0;
  walkWaitIdx = 0;
  walkErr = 0;
  /** What runs on the worker that resumes a parked walk once it is done. */
  walkThen: (st: DirectAio) => KernelCode<void> = finishResumed;
  /** The kernel, and its pinned-memory accounting. */
  readonly k: Kernel;
  readonly ps: PinState;
  /** The region and the bytes of the pinning under way (`pin_chunk`). */
  pinRegion: Region | null = null;
  pinBytes = 0;
  constructor(rw: Rw, file: File, req: Kiocb) {
    const k = req.ctx.k;
    this.k = k;
    this.ps = pin_state(k);
    this.req = req;
    this.gen = req.gen;
    this.file = file;
    this.inode = inodeOf(file);
    this.rw = rw;
    this.p = req.ctx.process;
    this.buf = req.buf;
    this.pos = req.pos;
    this.nbytes = req.nbytes;
    this.flags = file.f_flags;
  }
  /** The request's worktodo (its action's data is this request). */
  get wtd(): Worktodo {
    if (this.w === null) this.w = new Worktodo(`aio${this.req.ctx.id}.${this.req.key}`);
    return this.w;
  }
  get firstPage(): number {
    return Math.floor(this.pos / PAGE_SIZE);
  }
  get lastPage(): number {
    return Math.floor((this.pos + Math.max(1, this.nbytes) - 1) / PAGE_SIZE);
  }
}

function* noCancel(): KernelCode<void> {}

/** No pages (a walk not under way): never changed, a walk gets an array of its own. */
const NO_PAGES: readonly Page[] = Object.freeze([]);

// ---------------------------------------------------------------------------------------------
// Page walks: the page-cache work of a direct request, through its worktodo

/** What a page walk does to each page: write it back and wait for it, or drop it from the cache. */
type WalkMode = 'writeback' | 'invalidate';

function* kick_disk(): KernelCode<void> {
  const q = tq_disk(kernel());
  if (q.list.length > 0) yield* run_task_queue(q);
}

/**
 * Walks the cached pages of `st`'s inode with index in [first, last] with the `wtd_*`
 * primitives, never sleeping: 'writeback' starts writing every dirty page (and takes every page
 * already under writeback) then waits for them all (`walkErr` -EIO if one failed), as
 * `filemap_fdatasync` + `filemap_fdatawait`; 'invalidate' drops every page from the cache, as
 * `invalidate_inode_pages_range`. 1: done here, the caller goes on; 0: parked on a page, and a
 * worker runs `then(st)` when the walk is done.
 *
 * Why not the sleeping calls: the walk runs on a keventd worker, and a page lock may belong to
 * a worktodo that is queued on that same pool (`__wtd_lock_page_waiter` takes the lock for it
 * before `wtd_queue`). A worker sleeping in `lock_page`/`wait_on_page` on such a page waits for
 * work that only a worker can run: with every worker asleep so, nothing runs again.
 */
function* walk_pages(
  st: DirectAio,
  mode: WalkMode,
  first: number,
  last: number,
  then: (st: DirectAio) => KernelCode<void>,
): KernelCode<number> {
  const m = st.inode.mapping;
  st.walk = yield* atomic(
    m.pc.obj,
    true,
    mode === 'writeback' ? 'filemap_fdatasync' : 'invalidate_inode_pages',
    () => {
      const out: Page[] = [];
      const sets = mode === 'writeback' ? [m.dirty, m.writeback] : [m.pages.values()];
      for (const set of sets)
        for (const page of set)
          if (page.index >= first && page.index <= last && !out.includes(page)) {
            page.count++;
            out.push(page);
          }
      return out;
    },
  );
  st.walkMode = mode;
  st.walkIdx = 0;
  st.walkWaitIdx = 0;
  st.walkErr = 0;
  st.walkThen = then;
  return yield* walk_run(st, 'none');
}

/** The walk from where it stands; `got`: what the wtd was resumed owning or having seen. */
function* walk_run(st: DirectAio, got: 'none' | 'locked' | 'waited'): KernelCode<number> {
  const mapping = st.inode.mapping;
  while (st.walkIdx < st.walk.length) {
    const page = st.walk[st.walkIdx]!;
    if (got !== 'locked') {
      wtd_set_action(st.wtd, walkLocked, st);
      if ((yield* wtd_lock_page(st.wtd, page)) === 0) return 0;
    }
    got = 'none';
    if (page.mapping !== mapping) yield* UnlockPage(page);
    else if (st.walkMode === 'invalidate') {
      yield* remove_from_page_cache(page);
      yield* UnlockPage(page);
    } else if (yield* clear_page_dirty_for_io(page))
      yield* writepage(page); // unlocked by the IO's end
    else yield* UnlockPage(page);
    st.walkIdx++;
  }
  if (st.walkMode === 'writeback') {
    yield* kick_disk();
    while (st.walkWaitIdx < st.walk.length) {
      const page = st.walk[st.walkWaitIdx]!;
      if (got !== 'waited') {
        wtd_set_action(st.wtd, walkWaited, st);
        if ((yield* wtd_wait_page(st.wtd, page)) === 0) return 0;
      }
      got = 'none';
      // Read, not cleared (as filemap_fdatawait): every waiter on the page sees the error.
      if ((((yield* READ_ONCE(page.flags)) >> PG_error) & 1) === 1) st.walkErr = -EIO;
      st.walkWaitIdx++;
    }
  }
  for (const page of st.walk) yield* page_cache_release(page);
  st.walk = NO_PAGES;
  return 1;
}

function* walkLocked(_w: Worktodo, data: unknown): KernelCode<void> {
  const st = data as DirectAio;
  if ((yield* walk_run(st, 'locked')) === 1) yield* st.walkThen(st);
}

function* walkWaited(_w: Worktodo, data: unknown): KernelCode<void> {
  const st = data as DirectAio;
  if ((yield* walk_run(st, 'waited')) === 1) yield* st.walkThen(st);
}

/**
 * `generic_aio_rw`: starts direct request `req`; 0 (its completion follows). Never sleeps: the
 * submission runs marked as inside the non-blocking call `aio_read`/`aio_write` — `go` marks
 * itself (one `yield*` level less on the hot path), the `i_sem` path runs in `wtd_nonblocking`.
 */
function generic_aio_rw(rw: Rw, file: File, req: Kiocb): KernelCode<number> {
  const name = rw === READ ? 'aio_read' : 'aio_write';
  const st = new DirectAio(rw, file, req);
  req.cancel = noCancel; // nothing to undo: a cancelled request is dropped at aio_start
  st.k.add((rw === READ ? AIO_DIRECT_READS : AIO_DIRECT_WRITES)(st.k));
  if (rw === WRITE && !st.inode.ops.fixedSize) return wtd_nonblocking(name, start_locked, st);
  return go(st, false, name);
}

/** An O_DIRECT write to a file: `i_sem` first (it may extend the file), then the first chunk. */
function* start_locked(st: DirectAio): KernelCode<number> {
  wtd_set_action(st.wtd, afterSem, st);
  if ((yield* wtd_down(st.wtd, st.inode.i_sem)) === 0) return 0;
  st.semHeld = true;
  return yield* go(st, false);
}

function* afterSem(_w: Worktodo, data: unknown): KernelCode<void> {
  const st = data as DirectAio;
  st.semHeld = true;
  yield* go(st, true);
}

function* goOnWorker(_w: Worktodo, data: unknown): KernelCode<void> {
  yield* go(data as DirectAio, true);
}

/** Hands `st` to a worker (process context), to run `action` there. Never sleeps. */
function* toWorker(
  st: DirectAio,
  action: (w: Worktodo, data: unknown) => KernelCode<void>,
): KernelCode<void> {
  wtd_set_action(st.wtd, action, st);
  yield* wtd_queue(st.wtd);
}

/** `cpu(DIRECT_PIN_NS_PER_PAGE * pages)`, made once per page count (operations are immutable). */
const pinCosts: Op[] = [];
function pinCost(pages: number): Op {
  let op = pinCosts[pages];
  if (op === undefined) {
    op = prebuilt(cpu(DIRECT_PIN_NS_PER_PAGE * pages));
    if (pages < 256) pinCosts[pages] = op;
  }
  return op;
}

/**
 * Issues the next chunk of `st` (the first one too). `mayBlock`: running on a worker (process
 * context, may sleep) rather than in the submitter. `mark`: the non-blocking call to mark the
 * context as inside while it runs (`wtd_mark`), or null. Returns 0.
 */
function* go(st: DirectAio, mayBlock: boolean, mark: string | null = null): KernelCode<number> {
  const marks = mark === null ? null : wtd_mark(mark);
  try {
    if (!st.started && (st.nbytes === 0 || (!st.flushed && dirtyInRange(st)))) {
      // Before the first chunk: nothing to move, or cached pages to write first.
      if ((yield* go_first(st, mayBlock)) === 0) return 0;
    }
    const lim = st.req.ctx.lim;
    const chunk = Math.min(st.nbytes - st.done, lim.aioMaxSize, st.ps.limitBytes - 2 * PAGE_SIZE);
    for (;;) {
      // map_user_kvec(st.rw, st.p, addr, chunk), inline: the checks, the pinning (its one
      // operation: true when it pinned) and the kvec, without a frame.
      const pin = pin_chunk(st, chunk);
      if (pin === null) {
        st.err = -EFAULT;
        yield* finish(st, mayBlock);
        return 0;
      }
      if (yield pin) break;
      kiobuf_pin_refused(st.k); // -ENOMEM: past the pinned-memory limit
      st.k.count('aio.direct.pinWaits');
      if ((yield* wait_for_pin_room_wtd(st, chunk + 2 * PAGE_SIZE)) === 0) return 0;
    }
    const vec = pinned_kvec(st, chunk);
    if (st.k.config.timed) yield pinCost(vec.veclets.length);
    if (!st.started) {
      // aio_start(st.req, st.gen), inline (two operations: no frame of its own).
      const op = st.req.ctx.op;
      yield op.lock;
      const ok = aio_start_locked(st.req, st.gen);
      yield op.unlock;
      if (!ok) {
        // Cancelled while queued: its event is already out; just let go.
        yield* unmap_kvec(vec);
        if (st.semHeld) yield* up(st.inode.i_sem);
        return 0;
      }
      st.started = true;
    }
    st.chunk = chunk;
    const cb: KvecCb = { vec, data: st, fn: chunk_done };
    // kvec_read / kvec_write, a trampolined call.
    const r: number = yield direct_kvec_rw(st.rw, st.file, cb, chunk, st.pos + st.done);
    if (r < 0) {
      yield* unmap_kvec(vec);
      st.err = r;
      yield* finish(st, mayBlock);
    }
    return 0;
  } finally {
    if (marks !== null) wtd_unmark(marks);
  }
}

/** Whether dirty (or under writeback) cached pages overlap the range of `st`. */
function dirtyInRange(st: DirectAio): boolean {
  return cachedInRange(st.inode, st.firstPage, st.lastPage, true);
}

/**
 * `go` before the first chunk of a request with nothing to move (it ends at once) or with
 * dirty cached pages in its range (written first, on a worker): 1 when the first chunk is to
 * go now, 0 when `go` is done here.
 */
function* go_first(st: DirectAio, mayBlock: boolean): KernelCode<number> {
  if (st.nbytes === 0) {
    yield* finish(st, mayBlock);
    return 0;
  }
  // Coherence with buffered IO: the dirty cached pages of the range go to the disk first.
  if (!mayBlock) {
    yield* toWorker(st, goOnWorker);
    return 0;
  }
  st.k.count('aio.direct.flushes');
  st.flushed = true;
  if ((yield* walk_pages(st, 'writeback', st.firstPage, st.lastPage, afterFlush)) === 0) return 0;
  if (st.walkErr < 0) {
    st.err = st.walkErr;
    yield* finish(st, mayBlock);
    return 0;
  }
  return 1;
}

/**
 * The checks of pinning the next `chunk` bytes of `st`'s buffer and the pinning's operation
 * (`map_user_kiobuf`'s parts), or null (-EFAULT). The operands stay on `st` for `pinned_kvec`.
 */
function pin_chunk(st: DirectAio, chunk: number): AtomicOp | null {
  const addr = st.buf + st.done;
  const region = kiobuf_region(st.rw, st.p, addr, chunk);
  if (region === null) return null;
  const bytes = kiobuf_pin_bytes(addr, chunk);
  st.pinRegion = region;
  st.pinBytes = bytes;
  return kiobuf_pin_op(st.ps, region, bytes);
}

/** The kvec of the `chunk` bytes `pin_chunk`'s operation pinned. */
function pinned_kvec(st: DirectAio, chunk: number): Kvec {
  const region = st.pinRegion!;
  st.pinRegion = null;
  const kio = new KioBuf(st.k, st.p, st.buf + st.done, chunk, st.rw, region, st.pinBytes, st.ps);
  return kvec_of_kiobuf(kio);
}

/**
 * The chunk's completion (interrupt context): the next chunk on a worker, or the end. (It
 * yields a few times only, so its caller delegates to it; `aio_complete` is a trampolined call.)
 */
function* chunk_done(data: unknown, vec: Kvec, res: number): KernelCode<void> {
  const st = data as DirectAio;
  const kio = vec.kio;
  if (kio !== null) {
    // unmap_kvec(vec), inline: the unpinning's atomic() section, then wake_up_all(&pin_wait)
    // (the queue's lock, the walk when anyone waits, the unlock), without frames.
    kio.done = true;
    yield unmap_kiobuf_op(kio);
    const wq = st.ps.wait;
    const wop = wq.op;
    yield wop.lock;
    if (wq.list.length !== 0) yield __wake_up_common(wq, TASK_NORMAL, 0);
    yield wop.unlock;
  }
  if (res < 0) st.err = res;
  else st.done += res;
  if (res === st.chunk && st.done < st.nbytes) {
    yield* toWorker(st, goOnWorker);
    return;
  }
  if (st.rw === READ && st.started && !st.semHeld) {
    // `finish(st, false)` of a read that started: just aio_complete (no frame for finish).
    yield aio_complete(st.req, st.done > 0 ? st.done : st.err);
    return;
  }
  yield finish(st, false);
}

/** The coherence write-back before the first chunk is done (on a worker): the first chunk, or the end. */
function* afterFlush(st: DirectAio): KernelCode<void> {
  if (st.walkErr < 0) {
    st.err = st.walkErr;
    yield* finish(st, true);
    return;
  }
  yield* go(st, true);
}

function* finishOnWorker(_w: Worktodo, data: unknown): KernelCode<void> {
  yield* finish(data as DirectAio, true);
}

function* finishResumed(st: DirectAio): KernelCode<void> {
  yield* finish(st, true);
}

/**
 * Ends request `st`: the write's tail on a worker (cached copies of the range dropped, then with
 * O_SYNC / O_DSYNC the file's dirty pages written and waited for, and the inode: 2.4's
 * `generic_osync_inode`), `up(i_sem)`, `aio_complete`. The pages are walked with the `wtd_*`
 * primitives (`walk_pages`); only the inode write sleeps, on its own metadata buffer.
 */
function* finish(st: DirectAio, mayBlock: boolean): KernelCode<void> {
  if (st.rw === WRITE && st.done > 0 && st.tail !== 'done') {
    const osync = (st.flags & (O_SYNC | O_DSYNC)) !== 0;
    if (st.tail === 'start') {
      if (!osync && !cachedInRange(st.inode, st.firstPage, st.lastPage, false)) st.tail = 'done';
      else if (!mayBlock) {
        yield* toWorker(st, finishOnWorker);
        return;
      } else {
        // Drop cached copies of what was just written.
        st.tail = 'invalidated';
        if ((yield* walk_pages(st, 'invalidate', st.firstPage, st.lastPage, finishResumed)) === 0) return;
      }
    }
    if (st.tail === 'invalidated') {
      if (!osync) st.tail = 'done';
      else {
        st.tail = 'synced';
        if ((yield* walk_pages(st, 'writeback', 0, Number.MAX_SAFE_INTEGER, finishResumed)) === 0) return;
      }
    }
    if (st.tail === 'synced') {
      st.tail = 'done';
      if (st.walkErr < 0 && st.err === 0) st.err = st.walkErr;
      const inode = st.inode;
      const need = (st.flags & O_SYNC) === O_SYNC ? I_DIRTY_SYNC | I_DIRTY_DATASYNC : I_DIRTY_DATASYNC;
      if ((inode.i_state & need) !== 0 && inode.ops.write_inode !== undefined) {
        inode.i_state = 0;
        const e = yield* inode.ops.write_inode(inode);
        if (e < 0 && st.err === 0) st.err = e;
      }
    }
  }
  const result = st.done > 0 ? st.done : st.err;
  if (st.semHeld) {
    st.semHeld = false;
    yield* up(st.inode.i_sem);
  }
  if (!st.started) {
    // Finished before any IO (an error, or nothing to do): claim the request first.
    if (!(yield* aio_start(st.req, st.gen))) return;
    st.started = true;
  }
  yield aio_complete(st.req, result);
}

/**
 * Parks `st` until `bytes` more could be pinned: 1 if there is room already (retry now), 0 if
 * a func entry on the pin wait queue will queue `st` (its action: retry the chunk) on a worker.
 */
function* wait_for_pin_room_wtd(st: DirectAio, bytes: number): KernelCode<number> {
  const ps = pin_state(kernel());
  const noRoom = function* (): KernelCode<boolean> {
    return yield* atomic(
      ps.obj,
      false,
      'pin room?',
      () => !(ps.pinnedBytes === 0 || ps.pinnedBytes + bytes <= ps.limitBytes),
    );
  };
  const w = st.wtd;
  wtd_set_action(w, goOnWorker, st);
  init_waitqueue_func_entry(w.wait, function* pin_room_waiter(e: WaitQueueEntry) {
    if (yield* noRoom()) return 0;
    yield* __remove_wait_queue(ps.wait, e);
    yield* wtd_queue(e.owner as Worktodo);
    return 1;
  });
  return (yield* add_wait_queue_cond(ps.wait, w.wait, noRoom)) !== 0 ? 1 : 0;
}

/** `aio_read` of raw devices and O_DIRECT files. */
export function direct_aio_read(file: File, req: Kiocb): KernelCode<number> {
  return generic_aio_rw(READ, file, req);
}

/** `aio_write` of raw devices and O_DIRECT files. */
export function direct_aio_write(file: File, req: Kiocb): KernelCode<number> {
  return generic_aio_rw(WRITE, file, req);
}
