/**
 * Asynchronous IO through the page cache: `pc_aio_read`, `pc_aio_write`, `pc_aio_fsync`, each
 * a worktodo chain (`wtd_chain`) that the submitter starts and that never sleeps: when a page
 * lock, a page's IO or `i_sem` is not available at once, the chain parks a func entry on the
 * object's wait queue and a keventd worker resumes it when the waker hands the object over.
 *
 * - read, per page: `find_get_page` (or a new page added to the cache, locked) → if not up to
 *   date: `wtd_lock_page` → `readpage` (starts the IO) → `wtd_wait_page` → copy to the user
 *   buffer (through the process's mm) → next page → `aio_complete`. The pages of the request
 *   that are missing are read ahead together at the start, so a cold read keeps the disk busy.
 * - write ("write back and partial O_DSYNC"): `wtd_down(i_sem)` → per page `wtd_lock_page` →
 *   (a partial write of a page that is not up to date first reads it: `readpage` +
 *   `wtd_wait_page`, so that `prepare_write` never reads synchronously) → `prepare_write` →
 *   copy → `commit_write` → unlock → next page; with O_SYNC / O_DSYNC, the pages this request
 *   wrote (not the whole file: the partial O_DSYNC) are written back (`wtd_lock_page` →
 *   `writepage`) and waited for (`wtd_wait_page`) → the inode when it must be
 *   (`write_inode`, see below) → `up(i_sem)` → `aio_complete`. The dirty-page throttle of the
 *   synchronous path is replaced by a wake-up of bdflush.
 * - fsync / fdatasync: `wtd_down(i_sem)` (files; raw devices do without) → every dirty page and
 *   every page under writeback of the file: `wtd_lock_page` → `writepage` → `wtd_wait_page` →
 *   the inode → `up` → `aio_complete`.
 * - The inode write (`write_inode`, synchronous in the filesystem) is the one step that may
 *   sleep: the chain moves to a worker first (a hop through `wtd_queue`) when it is still in
 *   the submitter, and does it there.
 *
 * The submission runs inside `wtd_nonblocking('aio_read' | 'aio_write' | 'aio_fsync')`, so a
 * sleep in the submitter is reported as a `bug` by the simulator. Writes and fsyncs can be
 * cancelled while they wait for `i_sem`; reads start at once (not cancellable).
 */

import { PAGE_SIZE, type Page, Page_Uptodate, PG_error, PG_referenced, UnlockPage } from '../devices/page.js';
import {
  add_to_page_cache_unique,
  clear_page_dirty_for_io,
  commit_write,
  find_get_page,
  I_DIRTY_DATASYNC,
  I_DIRTY_SYNC,
  type Inode,
  page_cache_alloc,
  page_cache_readahead,
  page_cache_release,
  prepare_write,
  readpage,
  wakeup_bdflush,
  writepage,
} from '../devices/pagecache.js';
import type { DevFile } from '../devices/simplefs.js';
import { EFAULT, EFBIG, EIO, ENOSPC } from '../kernel/errno.js';
import { atomic, cpu, type KernelCode, READ_ONCE, set_bit } from '../kernel/ops.js';
import { type File, O_APPEND, O_DSYNC, O_SYNC, type Process } from '../kernel/process.js';
import { current, kernel } from '../kernel/sched.js';
import type { Task } from '../kernel/task.js';
import { run_task_queue, tq_disk } from '../kernel/tqueue.js';
import { up } from '../waitqueue/semaphore.js';
import { WTD_NEXT, WTD_WAIT, type WtdStep, wtd_chain, wtd_chain_start } from '../wtd/chain.js';
import { wtd_down, wtd_lock_page, wtd_wait_page } from '../wtd/primitives.js';
import { Worktodo, wtd_nonblocking, wtd_queue } from '../wtd/worktodo.js';
import { aio_complete, aio_start, type Kiocb } from './kioctx.js';

/** One page-cache AIO request in flight: the worktodo and the request's progress. */
class PcAio extends Worktodo {
  readonly req: Kiocb;
  readonly gen: number;
  readonly inode: Inode;
  readonly p: Process;
  readonly flags: number;
  readonly submitter: Task;
  buf: number;
  pos: number;
  nbytes: number;
  /** Read: end of the range (clipped at i_size); write: bytes to write. */
  limit = 0;
  done = 0;
  err = 0;
  /** Current page, its index, and how many reads of it this request started. */
  page: Page | null = null;
  idx = 0;
  tries = 0;
  /** Pages to write back (O_SYNC/O_DSYNC, fsync), referenced; and the write-back cursors. */
  pages: Page[] = [];
  wbIdx = 0;
  waitIdx = 0;
  /** Which inode write the request needs: 'sync' (O_SYNC, fsync) or 'dsync'. */
  how: 'sync' | 'dsync' | null = null;
  useSem = true;
  semHeld = false;
  constructor(file: File, req: Kiocb) {
    super(`aio${req.ctx.id}.${req.key}`);
    this.req = req;
    this.gen = req.gen;
    this.inode = (file.private_data as DevFile).inode;
    this.p = req.ctx.process;
    this.flags = file.f_flags;
    this.submitter = current();
    this.buf = req.buf;
    this.pos = req.pos;
    this.nbytes = req.nbytes;
  }
}

function st(w: Worktodo): PcAio {
  return w as PcAio;
}

function* noCancel(): KernelCode<void> {}

function* complete(s: PcAio): KernelCode<void> {
  yield* aio_complete(s.req, s.done > 0 ? s.done : s.err);
}

function* kick_disk(): KernelCode<void> {
  const q = tq_disk(kernel());
  if (q.list.length > 0) yield* run_task_queue(q);
}

/** The page at `s.idx`: found (referenced: 'found') or new and locked ('fresh'). */
function* lookup(s: PcAio): KernelCode<'found' | 'fresh'> {
  const mapping = s.inode.mapping;
  const page = yield* find_get_page(mapping, s.idx);
  if (page !== null) {
    s.page = page;
    return 'found';
  }
  const fresh = yield* page_cache_alloc(mapping, s.idx);
  const got = yield* add_to_page_cache_unique(mapping, s.idx, fresh);
  s.page = got;
  return got === fresh ? 'fresh' : 'found';
}

function* pageError(page: Page): KernelCode<boolean> {
  return (((yield* READ_ONCE(page.flags)) >> PG_error) & 1) === 1;
}

// ---------------------------------------------------------------------------------------------
// Read

const readChain = wtd_chain('aio_pc_read', {
  *start(w) {
    const s = st(w);
    if (!(yield* aio_start(s.req, s.gen))) return WTD_WAIT;
    const inode = s.inode;
    const size = inode.i_size;
    if (s.nbytes === 0 || s.pos >= size) return 'complete';
    s.limit = Math.min(s.pos + s.nbytes, size);
    const first = Math.floor(s.pos / PAGE_SIZE);
    const last = Math.floor((s.limit - 1) / PAGE_SIZE);
    s.idx = first;
    // Start the reads of every missing page of the request at once (bounded by the cache).
    const cap = Math.max(1, Math.floor(inode.mapping.pc.config.limitPages / 4));
    if (last > first) {
      yield* page_cache_readahead(inode, first, Math.min(last + 1, first + cap));
      yield* kick_disk();
    }
    return WTD_NEXT;
  },
  *find(w) {
    const s = st(w);
    return (yield* lookup(s)) === 'fresh' ? 'readpage' : WTD_NEXT;
  },
  *check(w) {
    // Up to date: copy. Else wait for the IO on it (readahead's, or another reader's) first.
    return (yield* Page_Uptodate(st(w).page!)) ? 'copy' : 'wait';
  },
  *lock(w) {
    return yield* wtd_lock_page(w, st(w).page!);
  },
  *locked(w) {
    const s = st(w);
    const page = s.page!;
    if (page.mapping !== s.inode.mapping) {
      // Truncated or evicted meanwhile: look again.
      yield* UnlockPage(page);
      yield* page_cache_release(page);
      return 'find';
    }
    if (yield* Page_Uptodate(page)) {
      yield* UnlockPage(page);
      return 'copy';
    }
    if (s.tries > 0 && (yield* pageError(page))) {
      yield* UnlockPage(page);
      yield* page_cache_release(page);
      s.err = -EIO;
      return 'complete';
    }
    return WTD_NEXT;
  },
  *readpage(w) {
    const s = st(w);
    s.tries++;
    const e = yield* readpage(s.inode, s.page!);
    yield* kick_disk();
    if (e < 0) {
      yield* page_cache_release(s.page!);
      s.err = e;
      return 'complete';
    }
    return WTD_NEXT;
  },
  *wait(w) {
    return yield* wtd_wait_page(w, st(w).page!);
  },
  *waited(w) {
    return (yield* Page_Uptodate(st(w).page!)) ? WTD_NEXT : 'lock';
  },
  *copy(w) {
    const s = st(w);
    const page = s.page!;
    const at = s.pos + s.done;
    const off = at - s.idx * PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, s.limit - at);
    const pc = s.inode.mapping.pc;
    if (pc.k.config.timed) yield* cpu(Math.round((n * pc.config.costs.copyNsPerKiB) / 1024));
    const ok = s.p.mm.copy_to_user(s.buf + s.done, page.data.subarray(off, off + n));
    yield* set_bit(PG_referenced, page.flags);
    yield* page_cache_release(page);
    s.page = null;
    if (!ok) {
      s.err = -EFAULT;
      return 'complete';
    }
    s.done += n;
    s.tries = 0;
    s.idx++;
    return s.pos + s.done < s.limit ? 'find' : WTD_NEXT;
  },
  *complete(w) {
    yield* complete(st(w));
    return WTD_NEXT;
  },
});

/** `aio_read` through the page cache. 0: the completion follows. Never sleeps. */
export function pc_aio_read(file: File, req: Kiocb): KernelCode<number> {
  return wtd_nonblocking('aio_read', function* () {
    kernel().count('aio.pagecache.reads');
    yield* wtd_chain_start(new PcAio(file, req), readChain);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// Write-back of a set of pages, the inode, and the end (shared by write and fsync)

const tailSteps: Readonly<Record<string, WtdStep>> = {
  *wnext(w) {
    const s = st(w);
    if (s.wbIdx < s.pages.length) return WTD_NEXT;
    yield* kick_disk();
    return 'wwait';
  },
  *wlock(w) {
    const s = st(w);
    return yield* wtd_lock_page(w, s.pages[s.wbIdx]!);
  },
  *wlocked(w) {
    const s = st(w);
    const page = s.pages[s.wbIdx]!;
    if (page.mapping === s.inode.mapping && (yield* clear_page_dirty_for_io(page))) yield* writepage(page);
    else yield* UnlockPage(page);
    s.wbIdx++;
    return 'wnext';
  },
  *wwait(w) {
    const s = st(w);
    if (s.waitIdx >= s.pages.length) return 'hop';
    return yield* wtd_wait_page(w, s.pages[s.waitIdx]!);
  },
  *wwaited(w) {
    const s = st(w);
    const page = s.pages[s.waitIdx]!;
    // Read, not cleared (as filemap_fdatawait): every waiter on the page sees the error.
    if (yield* pageError(page)) s.err = -EIO;
    s.waitIdx++;
    return 'wwait';
  },
  *hop(w) {
    // The inode write sleeps: do it on a worker, never in the submitter.
    const s = st(w);
    if (!needInodeWrite(s)) return 'up';
    if (current() !== s.submitter) return WTD_NEXT;
    kernel().count('aio.pagecache.hops');
    yield* wtd_queue(w);
    return WTD_WAIT;
  },
  *meta(w) {
    const s = st(w);
    if (needInodeWrite(s)) {
      s.inode.i_state = 0;
      const e = yield* s.inode.ops.write_inode!(s.inode);
      if (e < 0 && s.err === 0) s.err = e;
    }
    return WTD_NEXT;
  },
  *up(w) {
    const s = st(w);
    for (const page of s.pages) yield* page_cache_release(page);
    s.pages = [];
    if (s.semHeld) {
      s.semHeld = false;
      yield* up(s.inode.i_sem);
    }
    yield* complete(s);
    return WTD_NEXT;
  },
};

function needInodeWrite(s: PcAio): boolean {
  if (s.how === null || s.inode.ops.write_inode === undefined) return false;
  const need = s.how === 'sync' ? I_DIRTY_SYNC | I_DIRTY_DATASYNC : I_DIRTY_DATASYNC;
  return (s.inode.i_state & need) !== 0;
}

/** Claims the request after `i_sem` was taken: false (and `i_sem` given back) if it was cancelled. */
function* claim(s: PcAio): KernelCode<boolean> {
  if (s.useSem) s.semHeld = true;
  if (yield* aio_start(s.req, s.gen)) return true;
  if (s.semHeld) {
    s.semHeld = false;
    yield* up(s.inode.i_sem);
  }
  return false;
}

// ---------------------------------------------------------------------------------------------
// Write

const writeChain = wtd_chain('aio_pc_write', {
  *sem(w) {
    return yield* wtd_down(w, st(w).inode.i_sem);
  },
  *start(w) {
    const s = st(w);
    if (!(yield* claim(s))) return WTD_WAIT;
    const inode = s.inode;
    if ((s.flags & O_APPEND) !== 0) s.pos = inode.i_size;
    s.limit = s.nbytes;
    if (s.pos + s.nbytes > inode.ops.maxBytes) {
      if (s.pos >= inode.ops.maxBytes) {
        s.err = inode.ops.fixedSize ? -ENOSPC : -EFBIG;
        return 'up';
      }
      s.limit = inode.ops.maxBytes - s.pos;
    }
    if ((s.flags & (O_SYNC | O_DSYNC)) !== 0) s.how = (s.flags & O_SYNC) === O_SYNC ? 'sync' : 'dsync';
    return WTD_NEXT;
  },
  *page(w) {
    const s = st(w);
    if (s.done >= s.limit) return 'osync';
    const at = s.pos + s.done;
    s.idx = Math.floor(at / PAGE_SIZE);
    const n = Math.min(PAGE_SIZE - (at % PAGE_SIZE), s.limit - s.done);
    if (s.p.mm.user_view(s.buf + s.done, n) === null) {
      s.err = -EFAULT;
      return 'osync';
    }
    return (yield* lookup(s)) === 'fresh' ? 'locked' : WTD_NEXT;
  },
  *lock(w) {
    return yield* wtd_lock_page(w, st(w).page!);
  },
  *locked(w) {
    const s = st(w);
    const page = s.page!;
    if (page.mapping !== s.inode.mapping) {
      yield* UnlockPage(page);
      yield* page_cache_release(page);
      return 'page';
    }
    const at = s.pos + s.done;
    const off = at % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, s.limit - s.done);
    const partial = off !== 0 || n !== PAGE_SIZE;
    if (!partial || (yield* Page_Uptodate(page))) return 'prepare';
    if (s.tries > 0 && (yield* pageError(page))) {
      yield* UnlockPage(page);
      yield* page_cache_release(page);
      s.err = -EIO;
      return 'osync';
    }
    // Read the page first, so that prepare_write has nothing to read synchronously.
    s.tries++;
    const e = yield* readpage(s.inode, page);
    yield* kick_disk();
    if (e < 0) {
      yield* page_cache_release(page);
      s.err = e;
      return 'osync';
    }
    return WTD_NEXT;
  },
  *readwait(w) {
    return yield* wtd_wait_page(w, st(w).page!);
  },
  *relock() {
    return 'lock';
  },
  *prepare(w) {
    const s = st(w);
    const page = s.page!;
    const inode = s.inode;
    const at = s.pos + s.done;
    const off = at % PAGE_SIZE;
    const n = Math.min(PAGE_SIZE - off, s.limit - s.done);
    const e = yield* prepare_write(inode, page, off, off + n);
    const src = e < 0 ? null : s.p.mm.user_view(s.buf + s.done, n);
    if (src === null) {
      yield* UnlockPage(page);
      yield* page_cache_release(page);
      s.err = e < 0 ? e : -EFAULT;
      return 'osync';
    }
    const pc = inode.mapping.pc;
    if (pc.k.config.timed) yield* cpu(Math.round((n * pc.config.costs.copyNsPerKiB) / 1024));
    page.data.set(src, off);
    yield* commit_write(inode, page, off, off + n);
    yield* UnlockPage(page);
    if (s.how !== null) s.pages.push(page);
    else yield* page_cache_release(page);
    s.page = null;
    s.done += n;
    s.tries = 0;
    pc.k.count('pagecache.bytesWritten', n);
    if (pc.nrDirty + pc.nrWriteback > pc.config.dirtyBackgroundPages) yield* wakeup_bdflush(pc);
    return 'page';
  },
  *osync(w) {
    const s = st(w);
    if (s.done === 0 || s.how === null) {
      s.how = null;
      return 'up';
    }
    return 'wnext';
  },
  ...tailSteps,
});

/** `aio_write` through the page cache (with O_SYNC / O_DSYNC). 0: the completion follows. Never sleeps. */
export function pc_aio_write(file: File, req: Kiocb): KernelCode<number> {
  return wtd_nonblocking('aio_write', function* () {
    kernel().count('aio.pagecache.writes');
    req.cancel = noCancel; // cancellable while it waits for i_sem
    yield* wtd_chain_start(new PcAio(file, req), writeChain);
    return 0;
  });
}

// ---------------------------------------------------------------------------------------------
// fsync / fdatasync

const fsyncChain = wtd_chain('aio_pc_fsync', {
  *sem(w) {
    const s = st(w);
    return s.useSem ? yield* wtd_down(w, s.inode.i_sem) : WTD_NEXT;
  },
  *start(w) {
    const s = st(w);
    if (!(yield* claim(s))) return WTD_WAIT;
    const m = s.inode.mapping;
    s.pages = yield* atomic(m.pc.obj, true, 'aio_fsync: dirty pages', () => {
      const out: Page[] = [];
      for (const set of [m.dirty, m.writeback])
        for (const page of set)
          if (!out.includes(page)) {
            page.count++;
            out.push(page);
          }
      return out;
    });
    return 'wnext';
  },
  ...tailSteps,
});

/**
 * `aio_fsync` (fsync, or fdatasync when `datasync`) of page-cache files and devices: every
 * dirty page written and waited for through wtds, then the inode on a worker if it must be.
 * `useSem` false for raw devices (whose fsync does not take `i_sem`); `datasyncOnly` makes
 * every fsync a data sync (raw devices). 0: the completion follows. Never sleeps.
 */
export function pc_aio_fsync(
  file: File,
  req: Kiocb,
  datasync: boolean,
  useSem = true,
  datasyncOnly = false,
): KernelCode<number> {
  return wtd_nonblocking('aio_fsync', function* () {
    kernel().count('aio.fsyncs');
    const s = new PcAio(file, req);
    s.useSem = useSem;
    s.how = datasync || datasyncOnly ? 'dsync' : 'sync';
    req.cancel = noCancel;
    yield* wtd_chain_start(s, fsyncChain);
    return 0;
  });
}
