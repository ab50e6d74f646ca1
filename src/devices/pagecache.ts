/**
 * The generic page cache (2.4's `mm/filemap.c`, with the buffer-backed address-space operations
 * of `fs/buffer.c`), on pages that hold real bytes.
 *
 * - `Inode` (with `i_size`, the `i_sem` semaphore, its `AddressSpace` and a block-mapping
 *   function), `AddressSpace` (pages by index; the dirty and under-writeback sets), and the
 *   per-kernel `PageCache` (memory limit in pages, LRU, dirty accounting, the bdflush daemon).
 * - Lookup and insertion: `find_get_page`, `add_to_page_cache_unique`, `find_or_create_page`
 *   (`grab_cache_page`), `page_cache_release`, `remove_from_page_cache`. Critical sections of
 *   2.4's `pagecache_lock` are single visible steps on the page cache object.
 * - Address-space operations: `readpage` (starts the read and returns; `b_end_io` unlocks the
 *   page), `writepage`, `prepare_write`, `commit_write` (`generic_commit_write`), and
 *   `read_cache_page` (find or read, then wait for the data).
 * - File paths: `generic_file_read` (with sequential readahead), `generic_file_write` (with
 *   O_APPEND, O_SYNC and O_DSYNC), `filemap_fdatasync` / `filemap_fdatawait`,
 *   `truncate_inode_pages`, `invalidate_inode_pages_range`.
 * - Writeback: `set_page_dirty` / `clear_page_dirty_for_io` account dirty pages; the `bdflush`
 *   daemon (a kupdate-style timer plus explicit wake-ups) writes old or excess dirty pages in
 *   batches; `balance_dirty` wakes it past the background threshold and throttles (sleeps) the
 *   writer while dirty + under-writeback pages exceed the hard threshold.
 *
 * LRU eviction, done when a page is added past the limit, drops only clean, unlocked pages that
 * nobody holds a reference to; when none can go, the cache overshoots (counted in stats) rather
 * than deadlock a reader whose own readahead fills memory.
 */
import { EFBIG, EIO, ENOSPC } from '../kernel/errno.js';
import type { Kernel, TimerHandle } from '../kernel/kernel.js';
import {
  atomic,
  clear_bit,
  cpu,
  type KernelCode,
  set_bit,
  test_and_clear_bit,
  test_and_set_bit,
} from '../kernel/ops.js';
import { O_APPEND, O_DSYNC, O_SYNC, type Ppos, type Process } from '../kernel/process.js';
import {
  current,
  kernel,
  MAX_SCHEDULE_TIMEOUT,
  schedule,
  set_current_state,
  TASK_INTERRUPTIBLE,
  TASK_NORMAL,
  TASK_RUNNING,
  wake_up_process,
} from '../kernel/sched.js';
import type { Task } from '../kernel/task.js';
import { run_task_queue, tq_disk } from '../kernel/tqueue.js';
import { down, type Semaphore, sema_init, up } from '../waitqueue/semaphore.js';
import { init_waitqueue_head, type WaitQueueHead, wait_event, wake_up_all } from '../waitqueue/waitqueue.js';
import type { BlockDevice } from './blkdev.js';
import { READ, submit_bh, sync_bh_io, WRITE } from './blkdev.js';
import {
  alloc_buffer_head,
  type BufferHead,
  lock_buffer,
  mark_buffer_clean,
  mark_buffer_dirty,
  mark_buffer_uptodate,
  unlock_buffer,
} from './buffer.js';
import {
  alloc_page,
  lock_page,
  PAGE_SIZE,
  type Page,
  Page_Uptodate,
  PG_dirty,
  PG_error,
  PG_locked,
  PG_referenced,
  SetPageError,
  SetPageUptodate,
  TryLockPage,
  UnlockPage,
  wait_on_page,
} from './page.js';
import { Raid0 } from './raid0.js';

/** log2(PAGE_SIZE). */
export const PAGE_SHIFT = 12;

/** `i_state` bits: metadata dirty (times only) and metadata needed to read the data back. */
export const I_DIRTY_SYNC = 1;
export const I_DIRTY_DATASYNC = 2;

/** The result of mapping a file block: the device block (in 4 KiB units) and whether it is new. */
export interface BlockMap {
  readonly block: number;
  readonly fresh: boolean;
}

/** What a kind of inode provides (its filesystem's half of the address-space operations). */
export interface InodeOps {
  /**
   * `get_block(inode, iblock, create)`: the device block of file block `iblock` (4 KiB units);
   * `null` for a hole when `create` is false; a negative errno (-ENOSPC, -EFBIG) on failure.
   */
  get_block(inode: Inode, iblock: number, create: boolean): KernelCode<BlockMap | null | number>;
  /**
   * For a mapping known at once, without IO, allocation or holes (a block device): the device
   * block of file block `iblock`, or a negative errno — what `get_block` answers (never fresh),
   * as a plain call for hot paths.
   */
  bmap?(inode: Inode, iblock: number): number;
  /** Writes the inode's metadata and waits: 0 or -errno. */
  write_inode?(inode: Inode): KernelCode<number>;
  /** Frees the blocks from file block `from` on (truncate). */
  truncate_blocks?(inode: Inode, from: number): KernelCode<void>;
  /** Largest file size (bytes); writes past it fail with -EFBIG (or -ENOSPC for devices). */
  readonly maxBytes: number;
  /** Whether the size is fixed (a block device). */
  readonly fixedSize: boolean;
}

/** `struct inode` (what the page cache needs of it). */
export class Inode {
  readonly ino: number;
  readonly name: string;
  i_size: number;
  /** `i_sem`: held by writers, truncate and direct IO. */
  readonly i_sem: Semaphore;
  readonly mapping: AddressSpace;
  /** The device the data lives on. */
  readonly dev: BlockDevice;
  readonly ops: InodeOps;
  /** I_DIRTY_* bits. */
  i_state = 0;
  /** Filesystem-private data (the block map). */
  fsPrivate: unknown = null;
  constructor(
    k: Kernel,
    pc: PageCache,
    ino: number,
    name: string,
    dev: BlockDevice,
    ops: InodeOps,
    size: number,
  ) {
    this.ino = ino;
    this.name = name;
    this.i_size = size;
    this.dev = dev;
    this.ops = ops;
    this.i_sem = sema_init(k, `i_sem:${name}`, 1);
    this.mapping = new AddressSpace(k, pc, this);
  }
}

/** `struct address_space`: an inode's cached pages. */
export class AddressSpace {
  readonly host: Inode;
  readonly pc: PageCache;
  readonly pages = new Map<number, Page>();
  /** Dirty pages, and pages whose write is in flight. */
  readonly dirty = new Set<Page>();
  readonly writeback = new Set<Page>();
  constructor(_k: Kernel, pc: PageCache, host: Inode) {
    this.pc = pc;
    this.host = host;
  }
}

/** CPU costs of the page cache in timed runs (ns). */
export interface PageCacheCosts {
  /** A page-cache lookup or insertion. */
  readonly lookupNs: number;
  /** Copying 1 KiB between a page and user memory. */
  readonly copyNsPerKiB: number;
}

/** Page-cache configuration. */
export interface PageCacheConfig {
  /** Memory for cached pages, in pages. */
  readonly limitPages: number;
  /** Dirty + writeback pages past which bdflush is woken. */
  readonly dirtyBackgroundPages: number;
  /** Dirty + writeback pages past which writers are throttled. */
  readonly dirtyThresholdPages: number;
  /** kupdate interval (ns). */
  readonly kupdateIntervalNs: number;
  /** Age at which a dirty page is written by kupdate (ns). */
  readonly dirtyExpireNs: number;
  /** Pages bdflush writes per batch. */
  readonly writebackBatch: number;
  /** Readahead window (pages). */
  readonly readaheadPages: number;
  readonly costs: PageCacheCosts;
}

/** Defaults: 64 MiB of cache, 2.4's 30 %/60 % dirty ratios, kupdate every 5 s for 30 s-old pages. */
export const DEFAULT_PAGE_CACHE_CONFIG: PageCacheConfig = Object.freeze({
  limitPages: 16384,
  dirtyBackgroundPages: 4915,
  dirtyThresholdPages: 9830,
  kupdateIntervalNs: 5_000_000_000,
  dirtyExpireNs: 30_000_000_000,
  writebackBatch: 32,
  readaheadPages: 32,
  costs: Object.freeze({ lookupNs: 100, copyNsPerKiB: 1000 }),
});

/** The page cache of a kernel. */
export class PageCache {
  readonly k: Kernel;
  readonly config: PageCacheConfig;
  /** Object id of `pagecache_lock`-protected state. */
  readonly obj: number;
  /** Every cached page, least recently used first. */
  readonly lru = new Set<Page>();
  /** Every dirty page, oldest first. */
  readonly dirty = new Set<Page>();
  nrPages = 0;
  nrDirty = 0;
  nrWriteback = 0;
  /** Writers throttled by `balance_dirty` sleep here. */
  readonly dirtyWait: WaitQueueHead;
  /** Throttled writers (to make bdflush write regardless of age). */
  throttled = 0;
  /** The writeback daemon. */
  bdflush: Task | null = null;
  /** Set by wake-ups of bdflush (read and cleared by it). */
  kick = false;
  /**
   * With nothing dirty, bdflush sleeps with no kupdate timer: `idleSince` is when that sleep
   * began (-1 otherwise), and the first page dirtied arms the timer for the kupdate tick the
   * daemon would have woken at. Time that passes with nothing to write costs no steps.
   */
  idleSince = -1;
  idleTimer: TimerHandle | null = null;
  private nextPage = 0;
  constructor(k: Kernel, config: PageCacheConfig) {
    this.k = k;
    this.config = config;
    this.obj = k.newObjectId();
    this.dirtyWait = init_waitqueue_head(k, 'dirty_wait');
  }
  /** A name for a new page. */
  pageName(owner: string, index: number): string {
    return `${owner}:${index}#${this.nextPage++}`;
  }
  /** Updates the gauges in `stats`. */
  gauges(): void {
    const s = this.k.stats;
    s['pagecache.pages'] = this.nrPages;
    s['pagecache.dirtyPages'] = this.nrDirty;
    s['pagecache.writebackPages'] = this.nrWriteback;
    if (this.nrDirty > (s['pagecache.dirtyPeak'] ?? 0)) s['pagecache.dirtyPeak'] = this.nrDirty;
  }
}

const caches = new WeakMap<Kernel, PageCache>();

/** Creates the kernel's page cache (once) and its bdflush daemon. */
export function init_page_cache(k: Kernel, config: Partial<PageCacheConfig> = {}): PageCache {
  const existing = caches.get(k);
  if (existing !== undefined) return existing;
  const c: PageCacheConfig = { ...DEFAULT_PAGE_CACHE_CONFIG, ...config };
  if (!(c.limitPages >= 1 && c.dirtyThresholdPages >= 1 && c.dirtyBackgroundPages >= 0))
    throw new Error('init_page_cache: limits must be positive page counts');
  const pc = new PageCache(k, c);
  caches.set(k, pc);
  pc.bdflush = k.spawn('bdflush', () => bdflush(pc), { daemon: true });
  pc.gauges();
  return pc;
}

/** The kernel's page cache (throws before `init_page_cache`). */
export function page_cache(k: Kernel): PageCache {
  const pc = caches.get(k);
  if (pc === undefined) throw new Error('the page cache is not set up (call init_page_cache or setup_disks)');
  return pc;
}

// ---------------------------------------------------------------------------------------------
// Lookup, insertion, removal

/** `find_get_page(mapping, index)`: the page with a reference taken, or null. */
export function* find_get_page(mapping: AddressSpace, index: number): KernelCode<Page | null> {
  const pc = mapping.pc;
  if (pc.k.config.timed) yield* cpu(pc.config.costs.lookupNs);
  return yield* atomic(pc.obj, true, 'find_get_page', () => {
    const page = mapping.pages.get(index);
    if (page === undefined) {
      pc.k.count('pagecache.misses');
      return null;
    }
    page.count++;
    pc.lru.delete(page);
    pc.lru.add(page);
    pc.k.count('pagecache.hits');
    return page;
  });
}

/** `page_cache_release(page)`: drops a reference. */
export function* page_cache_release(page: Page): KernelCode<void> {
  const pc = (page.mapping as AddressSpace | null)?.pc;
  yield* atomic(pc?.obj ?? 0, true, 'page_cache_release', () => {
    if (page.count <= 0) throw new Error(`page_cache_release: page ${page.name} has no reference to drop`);
    page.count--;
  });
}

/** Evicts clean, unlocked, unreferenced pages, oldest first, until under the limit (caller in a step). */
function shrink(pc: PageCache): void {
  let scan = Math.min(pc.lru.size, 4 * pc.config.writebackBatch + 16);
  for (const page of pc.lru) {
    if (pc.nrPages < pc.config.limitPages || scan-- <= 0) break;
    const busy = (page.flags.value & ((1 << PG_locked) | (1 << PG_dirty))) !== 0;
    if (busy || page.count > 0) continue;
    const m = page.mapping as AddressSpace;
    m.pages.delete(page.index);
    pc.lru.delete(page);
    page.mapping = null;
    pc.nrPages--;
    pc.k.count('pagecache.evictions');
  }
  if (pc.nrPages >= pc.config.limitPages) pc.k.count('pagecache.overLimit');
}

/**
 * `add_to_page_cache_unique`: inserts the new (locked, private) page at `index` unless a page is
 * already there. Returns the page now cached there, with a reference taken.
 */
export function* add_to_page_cache_unique(
  mapping: AddressSpace,
  index: number,
  page: Page,
): KernelCode<Page> {
  const pc = mapping.pc;
  if (pc.k.config.timed) yield* cpu(pc.config.costs.lookupNs);
  return yield* atomic(pc.obj, true, 'add_to_page_cache', () => {
    const there = mapping.pages.get(index);
    if (there !== undefined) {
      there.count++;
      return there;
    }
    if (pc.nrPages >= pc.config.limitPages) shrink(pc);
    page.mapping = mapping;
    page.index = index;
    page.count = 1;
    mapping.pages.set(index, page);
    pc.lru.add(page);
    pc.nrPages++;
    pc.k.count('pagecache.inserts');
    pc.gauges();
    return page;
  });
}

/** A new locked page for `mapping` at `index` (not yet in the cache). */
export function* page_cache_alloc(mapping: AddressSpace, index: number): KernelCode<Page> {
  const pc = mapping.pc;
  const page = alloc_page(pc.k, pc.pageName(mapping.host.name, index), index);
  yield* set_bit(PG_locked, page.flags);
  return page;
}

/**
 * `find_or_create_page(mapping, index)` (`grab_cache_page`): the page at `index`, locked and
 * referenced, created (not up to date) if absent. May sleep on the page lock.
 */
export function* find_or_create_page(mapping: AddressSpace, index: number): KernelCode<Page> {
  for (;;) {
    let page = yield* find_get_page(mapping, index);
    if (page === null) {
      const fresh = yield* page_cache_alloc(mapping, index);
      page = yield* add_to_page_cache_unique(mapping, index, fresh);
      if (page === fresh) return page;
    }
    yield* lock_page(page);
    if (page.mapping === mapping) return page;
    // Truncated or evicted while we slept: try again.
    yield* UnlockPage(page);
    yield* page_cache_release(page);
  }
}

/** `remove_from_page_cache(page)`: the caller holds the page lock. */
export function* remove_from_page_cache(page: Page): KernelCode<void> {
  const m = page.mapping as AddressSpace | null;
  if (m === null) return;
  if ((yield* test_and_clear_bit(PG_dirty, page.flags)) === 1) {
    yield* atomic(m.pc.obj, true, 'cancel_dirty_page', () => {
      if (m.dirty.delete(page)) {
        m.pc.dirty.delete(page);
        m.pc.nrDirty--;
      }
    });
  }
  yield* atomic(m.pc.obj, true, 'remove_from_page_cache', () => {
    if (m.pages.get(page.index) === page) m.pages.delete(page.index);
    m.pc.lru.delete(page);
    page.mapping = null;
    m.pc.nrPages--;
    m.pc.gauges();
  });
}

// ---------------------------------------------------------------------------------------------
// Dirty accounting

/** `set_page_dirty(page)`: the caller holds the page lock. */
export function* set_page_dirty(page: Page): KernelCode<void> {
  if ((yield* test_and_set_bit(PG_dirty, page.flags)) === 1) return;
  const m = page.mapping as AddressSpace;
  yield* atomic(m.pc.obj, true, 'set_page_dirty', () => {
    m.dirty.add(page);
    m.pc.dirty.add(page);
    m.pc.nrDirty++;
    page.dirtiedAt = m.pc.k.now;
    m.pc.gauges();
    if (m.pc.idleSince >= 0 && m.pc.idleTimer === null) arm_kupdate(m.pc);
  });
}

/** Arms an idle bdflush's kupdate timer for its next tick (the first dirty page is there). */
function arm_kupdate(pc: PageCache): void {
  const k = pc.k;
  const interval = pc.config.kupdateIntervalNs;
  const tick = pc.idleSince + (Math.floor((k.now - pc.idleSince) / interval) + 1) * interval;
  const me = pc.bdflush!;
  pc.idleTimer = k.after(tick - k.now, 'kupdate', () => k.try_to_wake_up(me, TASK_NORMAL), true);
}

/**
 * `clear_page_dirty_for_io(page)`: the caller holds the page lock; if the page was dirty, moves it
 * to the under-writeback set and returns true (the caller must then `writepage` it).
 */
export function* clear_page_dirty_for_io(page: Page): KernelCode<boolean> {
  if ((yield* test_and_clear_bit(PG_dirty, page.flags)) === 0) return false;
  const m = page.mapping as AddressSpace;
  yield* atomic(m.pc.obj, true, 'clear_page_dirty', () => {
    if (m.dirty.delete(page)) {
      m.pc.dirty.delete(page);
      m.pc.nrDirty--;
    }
    m.writeback.add(page);
    m.pc.nrWriteback++;
    m.pc.gauges();
  });
  return true;
}

// ---------------------------------------------------------------------------------------------
// Address-space operations

function pageBh(page: Page, inode: Inode, block: number): BufferHead {
  let bh = page.buffers as BufferHead | null;
  if (bh === null) {
    bh = alloc_buffer_head(kernel(), `bh:${page.name}`, block, PAGE_SIZE, page.data);
    bh.b_private = page;
    page.buffers = bh;
  }
  bh.b_dev = inode.dev;
  bh.b_blocknr = block;
  return bh;
}

/** `end_buffer_io_async` for a page read: marks the page up to date (or in error) and unlocks it. */
export function* end_page_read(bh: BufferHead, uptodate: boolean): KernelCode<void> {
  const page = bh.b_private as Page;
  yield* mark_buffer_uptodate(bh, uptodate);
  yield* unlock_buffer(bh);
  if (uptodate) yield* SetPageUptodate(page);
  else yield* SetPageError(page);
  yield* UnlockPage(page);
}

/** `end_buffer_io_async` for a page write: unlocks the page and lets throttled writers go. */
export function* end_page_write(bh: BufferHead, uptodate: boolean): KernelCode<void> {
  const page = bh.b_private as Page;
  const m = page.mapping as AddressSpace | null;
  yield* unlock_buffer(bh);
  if (!uptodate) yield* SetPageError(page);
  const pc = m?.pc ?? null;
  let wake = false;
  if (m !== null && pc !== null) {
    wake = yield* atomic(pc.obj, true, 'end_page_writeback', () => {
      if (m.writeback.delete(page)) pc.nrWriteback--;
      pc.k.count('writeback.completed');
      pc.gauges();
      return pc.throttled > 0 && pc.nrDirty + pc.nrWriteback <= pc.config.dirtyThresholdPages;
    });
  }
  yield* UnlockPage(page);
  if (wake && pc !== null) yield* wake_up_all(pc.dirtyWait);
}

/**
 * `readpage(inode, page)` (`block_read_full_page`): the page is locked and not up to date; maps
 * its block and starts the read, returning at once (0, or a negative errno with the page
 * unlocked). `end_page_read` marks it up to date and unlocks it when the IO completes; a hole
 * is zero-filled at once. Waiters use `wait_on_page`; the AIO path hooks the page's wait queue.
 */
export function* readpage(inode: Inode, page: Page): KernelCode<number> {
  const r = yield* inode.ops.get_block(inode, page.index, false);
  if (typeof r === 'number') {
    yield* SetPageError(page);
    yield* UnlockPage(page);
    return r;
  }
  if (r === null) {
    page.data.fill(0);
    yield* SetPageUptodate(page);
    yield* UnlockPage(page);
    return 0;
  }
  const bh = pageBh(page, inode, r.block);
  yield* lock_buffer(bh);
  bh.b_end_io = end_page_read;
  pc_count(inode, 'pagecache.readpage');
  yield* submit_bh(READ, bh);
  return 0;
}

/**
 * `writepage(page)` (`block_write_full_page`): the page is locked and its dirty bit was just
 * cleared by `clear_page_dirty_for_io`; starts the write and returns (clearing the error bit an
 * earlier failed write left). `end_page_write` unlocks the page when the IO completes.
 */
export function* writepage(page: Page): KernelCode<void> {
  const m = page.mapping as AddressSpace;
  const inode = m.host;
  let bh = page.buffers as BufferHead | null;
  if (bh === null) {
    const r = yield* inode.ops.get_block(inode, page.index, false);
    if (r === null || typeof r === 'number') {
      // Nothing to write to (a hole that was never allocated): the page stays clean.
      yield* atomic(m.pc.obj, true, 'writepage: nothing to do', () => {
        if (m.writeback.delete(page)) m.pc.nrWriteback--;
      });
      yield* UnlockPage(page);
      return;
    }
    bh = pageBh(page, inode, r.block);
  }
  // The error of an earlier write of the page is superseded by this one.
  if (((page.flags.value >> PG_error) & 1) === 1) yield* clear_bit(PG_error, page.flags);
  yield* lock_buffer(bh);
  yield* mark_buffer_clean(bh);
  bh.b_end_io = end_page_write;
  m.pc.k.count('writeback.pages');
  yield* submit_bh(WRITE, bh);
}

/**
 * `prepare_write(inode, page, from, to)` (`block_prepare_write`): the page is locked; maps (and
 * allocates) its block, and makes the bytes outside [from, to) valid: zeros for a new block,
 * the block's data (read synchronously) for a partial write of an existing one. 0 or -errno.
 */
export function* prepare_write(inode: Inode, page: Page, from: number, to: number): KernelCode<number> {
  const r = yield* inode.ops.get_block(inode, page.index, true);
  if (typeof r === 'number') return r;
  if (r === null) throw new Error('prepare_write: get_block(create) returned a hole');
  const bh = pageBh(page, inode, r.block);
  if (yield* Page_Uptodate(page)) return 0;
  if (r.fresh) {
    page.data.fill(0, 0, from);
    page.data.fill(0, to, PAGE_SIZE);
    return 0;
  }
  if (from === 0 && to === PAGE_SIZE) return 0;
  yield* lock_buffer(bh);
  const err = yield* sync_bh_io(READ, bh);
  if (err < 0) return err;
  pc_count(inode, 'pagecache.readBeforeWrite');
  return 0;
}

/**
 * `commit_write(inode, page, from, to)` (`generic_commit_write`): the bytes [from, to) of the
 * locked page were written: marks it up to date and dirty, and extends `i_size`.
 */
export function* commit_write(inode: Inode, page: Page, from: number, to: number): KernelCode<void> {
  yield* SetPageUptodate(page);
  const bh = page.buffers as BufferHead | null;
  if (bh !== null) yield* mark_buffer_dirty(bh);
  yield* set_page_dirty(page);
  const end = page.index * PAGE_SIZE + to;
  inode.i_state |= I_DIRTY_SYNC;
  if (end > inode.i_size && from <= to) {
    inode.i_size = end;
    inode.i_state |= I_DIRTY_DATASYNC;
  }
}
/** The same as `commit_write` (2.4's name). */
export const generic_commit_write: typeof commit_write = commit_write;

function pc_count(inode: Inode, name: string): void {
  inode.mapping.pc.k.count(name);
}

/**
 * `read_cache_page`: the up-to-date page at `index` with a reference held (read and waited for
 * if needed), or -EIO.
 */
export function* read_cache_page(inode: Inode, index: number): KernelCode<Page | number> {
  const mapping = inode.mapping;
  for (;;) {
    let page = yield* find_get_page(mapping, index);
    if (page === null) {
      const fresh = yield* page_cache_alloc(mapping, index);
      page = yield* add_to_page_cache_unique(mapping, index, fresh);
      if (page === fresh) {
        const err = yield* readpage(inode, page);
        if (err < 0) {
          yield* page_cache_release(page);
          return err;
        }
      }
    }
    if (yield* Page_Uptodate(page)) return page;
    yield* wait_on_page(page);
    if (yield* Page_Uptodate(page)) return page;
    // Not up to date once unlocked: an IO error, or the page left the cache, or a writer had it.
    yield* lock_page(page);
    if (page.mapping !== mapping) {
      yield* UnlockPage(page);
      yield* page_cache_release(page);
      continue;
    }
    if (yield* Page_Uptodate(page)) {
      yield* UnlockPage(page);
      return page;
    }
    if (((page.flags.value >> PG_error) & 1) === 1) {
      yield* UnlockPage(page);
      yield* page_cache_release(page);
      return -EIO;
    }
    const err = yield* readpage(inode, page);
    if (err < 0) {
      yield* page_cache_release(page);
      return err;
    }
    yield* wait_on_page(page);
    if (yield* Page_Uptodate(page)) return page;
    yield* page_cache_release(page);
    return -EIO;
  }
}

/**
 * The readahead window of a device, in pages: the page cache's default, or for a RAID0 array two
 * full stripes (every member busy with a chunk while the next stripe is read ahead), as md sets
 * the array's readahead from its stripe width.
 */
export function readahead_pages(pc: PageCache, dev: BlockDevice): number {
  const base = pc.config.readaheadPages;
  if (dev instanceof Raid0)
    return Math.max(base, (2 * dev.chunkSectors * 512 * dev.members.length) / PAGE_SIZE);
  return base;
}

/** Per-open readahead state (`file->f_ra`). */
export class ReadaheadState {
  /** First page not yet read ahead. */
  next = 0;
  /** Page just after the previous read (sequential detection). */
  prevEnd = -1;
  /** Window in pages. */
  window: number;
  constructor(window: number) {
    this.window = window;
  }
}

/** Starts reads (without waiting) of the pages in [from, to) that are not cached. */
export function* page_cache_readahead(inode: Inode, from: number, to: number): KernelCode<number> {
  const mapping = inode.mapping;
  let started = 0;
  for (let i = from; i < to; i++) {
    const page = yield* find_get_page(mapping, i);
    if (page !== null) {
      yield* page_cache_release(page);
      continue;
    }
    const fresh = yield* page_cache_alloc(mapping, i);
    const got = yield* add_to_page_cache_unique(mapping, i, fresh);
    if (got === fresh) {
      yield* readpage(inode, fresh);
      started++;
    }
    yield* page_cache_release(got);
  }
  if (started > 0) mapping.pc.k.count('pagecache.readahead', started);
  return started;
}

function* readahead(inode: Inode, ra: ReadaheadState, first: number, last: number): KernelCode<void> {
  const eofPage = Math.ceil(inode.i_size / PAGE_SIZE);
  const window = Math.max(1, Math.min(ra.window, Math.floor(inode.mapping.pc.config.limitPages / 4)));
  const sequential = first === ra.prevEnd || (first === 0 && ra.prevEnd < 0);
  ra.prevEnd = last + 1;
  if (!sequential) {
    ra.next = last + 1;
    return;
  }
  if (ra.next < first) ra.next = first;
  // Keep a full window ahead of the reader: top up once a quarter of it has been consumed.
  if (ra.next - (last + 1) >= (window * 3) / 4 && ra.next > last) return;
  const to = Math.min(eofPage, last + 1 + window);
  if (to <= ra.next) return;
  yield* page_cache_readahead(inode, ra.next, to);
  ra.next = to;
  yield* run_task_queue(tq_disk(kernel()));
}

/**
 * `generic_file_read`: copies [pos, pos+count) (clipped at `i_size`) from the page cache to user
 * memory at `buf`, reading missing pages (with sequential readahead when `ra` is given). Returns
 * the bytes copied (0 at or past EOF) or -EIO.
 */
export function* generic_file_read(
  inode: Inode,
  ra: ReadaheadState | null,
  p: Process,
  buf: number,
  count: number,
  pos: number,
): KernelCode<number> {
  const pc = inode.mapping.pc;
  const size = inode.i_size;
  if (count === 0 || pos >= size) return 0;
  const end = Math.min(pos + count, size);
  const first = Math.floor(pos / PAGE_SIZE);
  const last = Math.floor((end - 1) / PAGE_SIZE);
  if (ra !== null) yield* readahead(inode, ra, first, last);
  let done = 0;
  for (let idx = first; idx <= last; idx++) {
    const page = yield* read_cache_page(inode, idx);
    if (typeof page === 'number') return done > 0 ? done : page;
    const at = pos + done;
    const off = at - idx * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, end - at);
    if (pc.k.config.timed) yield* cpu(Math.round((n * pc.config.costs.copyNsPerKiB) / 1024));
    if (!p.mm.copy_to_user(buf + done, page.data.subarray(off, off + n))) {
      yield* page_cache_release(page);
      return done > 0 ? done : -14; // -EFAULT
    }
    yield* set_bit(PG_referenced, page.flags); // mark_page_accessed
    yield* page_cache_release(page);
    done += n;
  }
  return done;
}

/**
 * Whether a write to `inode` opened with `flags` starts at the end of the file, the size read
 * under `i_sem` (`precheck_file_write`): with O_APPEND, buffered or direct, `pwrite` too; but a
 * block device ignores O_APPEND (2.4 tests `!S_ISBLK(inode->i_mode)`): its writes land where
 * they were aimed.
 */
export function appends(inode: Inode, flags: number): boolean {
  return (flags & O_APPEND) !== 0 && !inode.ops.fixedSize;
}

/**
 * `generic_file_write` (buffered): under `i_sem`, copies user bytes into locked page-cache pages
 * between `prepare_write` and `commit_write`, throttling in `balance_dirty`; with O_SYNC or
 * O_DSYNC writes the pages (and the metadata that matters) before returning. Returns the bytes
 * written or -errno (-ENOSPC, -EFBIG, -EIO) when none were.
 */
export function* generic_file_write(
  inode: Inode,
  flags: number,
  p: Process,
  buf: number,
  count: number,
  ppos: Ppos,
): KernelCode<number> {
  const pc = inode.mapping.pc;
  yield* down(inode.i_sem);
  const pos = appends(inode, flags) ? inode.i_size : ppos.pos;
  let limit = count;
  if (pos + count > inode.ops.maxBytes) {
    if (pos >= inode.ops.maxBytes) {
      yield* up(inode.i_sem);
      return inode.ops.fixedSize ? -ENOSPC : -EFBIG;
    }
    limit = inode.ops.maxBytes - pos;
  }
  let done = 0;
  let err = 0;
  while (done < limit) {
    const at = pos + done;
    const idx = Math.floor(at / PAGE_SIZE);
    const off = at - idx * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, limit - done);
    const src = p.mm.user_view(buf + done, n);
    if (src === null) {
      err = -14; // -EFAULT
      break;
    }
    const page = yield* find_or_create_page(inode.mapping, idx);
    const e = yield* prepare_write(inode, page, off, off + n);
    if (e < 0) {
      yield* UnlockPage(page);
      yield* page_cache_release(page);
      err = e;
      break;
    }
    if (pc.k.config.timed) yield* cpu(Math.round((n * pc.config.costs.copyNsPerKiB) / 1024));
    page.data.set(src, off);
    yield* commit_write(inode, page, off, off + n);
    yield* UnlockPage(page);
    yield* page_cache_release(page);
    done += n;
    yield* balance_dirty(pc);
  }
  if (done > 0 && (flags & (O_SYNC | O_DSYNC)) !== 0) {
    const e = yield* generic_osync_inode(inode, (flags & O_SYNC) === O_SYNC ? 'sync' : 'dsync');
    if (e < 0 && err === 0) err = e;
  }
  if (done > 0) ppos.pos = pos + done;
  yield* up(inode.i_sem);
  pc.k.count('pagecache.bytesWritten', done);
  return done > 0 ? done : err;
}

/**
 * Writes the inode's dirty pages and waits; then its metadata: always for `sync` (O_SYNC,
 * fsync), only when the size or block map changed for `dsync` (O_DSYNC, fdatasync).
 */
export function* generic_osync_inode(inode: Inode, how: 'sync' | 'dsync'): KernelCode<number> {
  let err = yield* filemap_fdatasync(inode.mapping);
  const e2 = yield* filemap_fdatawait(inode.mapping);
  if (err === 0) err = e2;
  const need = how === 'sync' ? I_DIRTY_SYNC | I_DIRTY_DATASYNC : I_DIRTY_DATASYNC;
  if ((inode.i_state & need) !== 0 && inode.ops.write_inode !== undefined) {
    inode.i_state = 0;
    const e3 = yield* inode.ops.write_inode(inode);
    if (err === 0) err = e3;
  }
  return err;
}

/**
 * The pages each caller's `filemap_fdatasync` took (referenced), by mapping and calling task:
 * what that caller's `filemap_fdatawait` waits for.
 *
 * 2.4 kept one `locked_pages` list per mapping, and `filemap_fdatawait` emptied it as it went
 * (each page moved back to `clean_pages` before the wait on it): a second caller syncing the same
 * file at the same time — an fsync and a direct read's coherence write-back, which takes no
 * `i_sem`, or a sync that does other work between the two calls as `sys_fsync` does — could find
 * the list emptied by the first and return before its own pages were written. Here each caller
 * waits for the pages its own `filemap_fdatasync` took: every page dirty or under writeback then.
 */
const pendingSync = new WeakMap<AddressSpace, Map<Task, Page[]>>();

/**
 * `filemap_fdatasync(mapping, [first, last])`: starts writing every dirty page in the range (and
 * takes every page already under writeback) without waiting; the calling task's
 * `filemap_fdatawait` waits for them. 0.
 */
export function* filemap_fdatasync(
  mapping: AddressSpace,
  first = 0,
  last = Number.MAX_SAFE_INTEGER,
): KernelCode<number> {
  const pc = mapping.pc;
  const snap = yield* atomic(pc.obj, true, 'filemap_fdatasync', () => {
    const out: Page[] = [];
    for (const set of [mapping.dirty, mapping.writeback])
      for (const page of set)
        if (page.index >= first && page.index <= last && !out.includes(page)) {
          page.count++;
          out.push(page);
        }
    return out;
  });
  for (const page of snap) {
    yield* lock_page(page);
    if (page.mapping === mapping && (yield* clear_page_dirty_for_io(page))) yield* writepage(page);
    else yield* UnlockPage(page);
  }
  yield* run_task_queue(tq_disk(pc.k));
  const me = current();
  let byTask = pendingSync.get(mapping);
  if (byTask === undefined) {
    byTask = new Map();
    pendingSync.set(mapping, byTask);
  }
  const mine = byTask.get(me);
  if (mine === undefined) byTask.set(me, snap);
  else for (const page of snap) mine.push(page);
  return 0;
}

/**
 * `filemap_fdatawait(mapping)`: waits for every page the calling task's `filemap_fdatasync`
 * calls on `mapping` took (whoever else waits for them too): 0, or -EIO if the last write of one
 * of them failed. The error stays on the page (another caller waiting for it sees it too) until
 * the page is next written.
 */
export function* filemap_fdatawait(mapping: AddressSpace): KernelCode<number> {
  const byTask = pendingSync.get(mapping);
  if (byTask === undefined) return 0;
  const me = current();
  const pages = byTask.get(me);
  if (pages === undefined) return 0;
  byTask.delete(me);
  let err = 0;
  for (const page of pages) {
    yield* wait_on_page(page);
    if (((page.flags.value >> PG_error) & 1) === 1) err = -EIO;
    yield* page_cache_release(page);
  }
  return err;
}

/**
 * `truncate_inode_pages(mapping, from)`: removes every page at index >= `from`, waiting for IO
 * on each (the caller holds `i_sem`).
 */
export function* truncate_inode_pages(mapping: AddressSpace, from: number): KernelCode<void> {
  yield* invalidate_inode_pages_range(mapping, from, Number.MAX_SAFE_INTEGER);
}

/**
 * Removes the cached pages with index in [first, last] (waiting for IO on each); used by
 * truncate and, after writing them back, by direct IO to keep the cache coherent.
 */
export function* invalidate_inode_pages_range(
  mapping: AddressSpace,
  first: number,
  last: number,
): KernelCode<void> {
  const pc = mapping.pc;
  const snap = yield* atomic(pc.obj, true, 'invalidate_inode_pages', () => {
    const out: Page[] = [];
    for (const page of mapping.pages.values())
      if (page.index >= first && page.index <= last) {
        page.count++;
        out.push(page);
      }
    return out;
  });
  for (const page of snap) {
    yield* lock_page(page);
    if (page.mapping === mapping) yield* remove_from_page_cache(page);
    yield* UnlockPage(page);
    yield* page_cache_release(page);
  }
}

// ---------------------------------------------------------------------------------------------
// Writeback: balance_dirty and the bdflush daemon

/** Wakes bdflush (from process or interrupt context). */
export function* wakeup_bdflush(pc: PageCache): KernelCode<void> {
  yield* atomic(pc.obj, true, 'wakeup_bdflush', () => {
    pc.kick = true;
  });
  if (pc.bdflush !== null) yield* wake_up_process(pc.bdflush);
}

/**
 * `balance_dirty()`: past the background threshold wakes bdflush; past the hard threshold
 * sleeps until writeback brings dirty + under-writeback pages back under it.
 */
export function* balance_dirty(pc: PageCache): KernelCode<void> {
  const c = pc.config;
  const load = pc.nrDirty + pc.nrWriteback;
  if (load <= c.dirtyBackgroundPages) return;
  yield* wakeup_bdflush(pc);
  if (load <= c.dirtyThresholdPages) return;
  pc.k.count('writeback.throttle');
  yield* atomic(pc.obj, true, 'throttle', () => {
    pc.throttled++;
  });
  yield* wait_event(pc.dirtyWait, function* () {
    return yield* atomic(pc.obj, false, 'dirty below threshold?', () => {
      return pc.nrDirty + pc.nrWriteback <= c.dirtyThresholdPages;
    });
  });
  yield* atomic(pc.obj, true, 'unthrottle', () => {
    pc.throttled--;
  });
}

function* bdflush(pc: PageCache): KernelCode<void> {
  const k = pc.k;
  const me = current();
  const c = pc.config;
  // Sleeps until kicked or `ns` pass (a background timer: it does not keep the run alive); with
  // `ns` MAX_SCHEDULE_TIMEOUT, until kicked or a page is dirtied and its kupdate tick comes.
  const sleep = function* (ns: number): KernelCode<void> {
    yield* set_current_state(TASK_INTERRUPTIBLE);
    const kicked = yield* atomic(pc.obj, true, 'bdflush: kicked?', () => {
      const v = pc.kick;
      pc.kick = false;
      return v;
    });
    if (kicked) {
      yield* set_current_state(TASK_RUNNING);
      return;
    }
    if (ns === MAX_SCHEDULE_TIMEOUT) {
      pc.idleSince = k.now;
      yield* schedule('bdflush: nothing to write');
      pc.idleSince = -1;
      pc.idleTimer?.cancel();
      pc.idleTimer = null;
      return;
    }
    const timer = k.after(ns, 'kupdate', () => k.try_to_wake_up(me, TASK_NORMAL), true);
    yield* schedule('bdflush: nothing to write');
    timer.cancel();
  };
  for (;;) {
    const batch = yield* atomic(pc.obj, true, 'bdflush: pick', () => {
      const out: Page[] = [];
      const excess = pc.nrDirty + pc.nrWriteback > c.dirtyBackgroundPages || pc.throttled > 0;
      for (const page of pc.dirty) {
        if (out.length >= c.writebackBatch) break;
        if (!excess && k.now - page.dirtiedAt < c.dirtyExpireNs) break;
        page.count++;
        out.push(page);
      }
      return out;
    });
    if (batch.length === 0) {
      yield* sleep(pc.nrDirty === 0 && pc.throttled === 0 ? MAX_SCHEDULE_TIMEOUT : c.kupdateIntervalNs);
      continue;
    }
    k.count('writeback.batches');
    let last: Page | null = null;
    for (const page of batch) {
      if ((yield* TryLockPage(page)) === 1) {
        yield* page_cache_release(page);
        continue;
      }
      if (page.mapping !== null && (yield* clear_page_dirty_for_io(page))) {
        yield* writepage(page);
        last = page;
      } else {
        yield* UnlockPage(page);
      }
      yield* page_cache_release(page);
    }
    yield* run_task_queue(tq_disk(k));
    if (last !== null) yield* wait_on_page(last);
    if (pc.throttled > 0) yield* wake_up_all(pc.dirtyWait);
    // Every page of the batch was busy (locked by its writer): back off instead of spinning.
    if (last === null) yield* sleep(BDFLUSH_BACKOFF_NS);
  }
}

/** How long bdflush backs off when every dirty page it picked was locked (ns). */
export const BDFLUSH_BACKOFF_NS = 1_000_000;
