/**
 * AIO contexts (`struct kioctx`), requests (`struct kiocb`) and the completion ring.
 *
 * A context owns `maxReqs` request slots (a request's slot number is its key: `aio_key`, the
 * `event_idx` of `__io_wait`/`__io_cancel`) and a ring of `nr = maxReqs + 1` io_events (one
 * entry is the head/tail overlap). A request is only accepted while the ring has a free slot
 * for its event (the 2.4 code's `reqs_active < aio_ring_avail()`), so every accepted request
 * owns a ring slot: a full ring is -EAGAIN at submission, never an overflow.
 *
 * The ring is shared with user space: `head`, `tail` and every event field are cells, so the
 * memory model applies to them (a user-space reaper that reads `tail` and then the event
 * without `smp_rmb` can see stale contents under `invq`). `aio_complete` publishes an event as
 * the 2.4 code does: fill the event, `smp_wmb()`, advance `tail`, `smp_wmb()`, under
 * `ctx->lock`, then wake `ctx->wait`.
 *
 * User space may write anything to the mapped `head` and `tail` (as after CVE-2014-0206, the
 * ring is untrusted input). The kernel believes a word only when it is an index of the ring it
 * could have stored there, and keeps its own bounds: `ktail`, where the next event goes, and
 * `khead`, the oldest event it knows unconsumed. A `head` counts only within [khead, ktail] and
 * a `tail` only within [head, ktail] (outside, the kernel uses its own): a bogus word never
 * shows an event twice or one that was not completed, and never makes room in the ring that is
 * not there; a tail moved back within the window hides events until the next completion stores
 * the tail again.
 */
import type { Cell } from '../kernel/cell.js';
import { counter, type Kernel } from '../kernel/kernel.js';
import { type KernelCode, type Op, READ_ONCE, smp_mb, smp_wmb } from '../kernel/ops.js';
import { prebuilt, write_once_op } from '../kernel/prebuilt.js';
import { type File, PAGE_SIZE, type Process } from '../kernel/process.js';
import {
  type Spinlock,
  spin_lock,
  spin_lock_irqsave,
  spin_unlock,
  spin_unlock_irqrestore,
} from '../kernel/spinlock.js';
import { TASK_NORMAL } from '../kernel/task.js';
import {
  __wake_up_common,
  init_waitqueue_head,
  lone_task_entry,
  type WaitQueueEntry,
  type WaitQueueHead,
  wake_normal_op,
  wake_traced,
  wake_up_all,
} from '../waitqueue/waitqueue.js';
import { type AioLimits, aio_limits } from './limits.js';
import { aio_update_stats } from './stats.js';

/** Counters of `stats` this module adds to on hot paths. */
const AIO_COMPLETED = counter('aio.completed');

/** Opcodes (`IOCB_CMD_*`, the 2.4 ABI's values). */
export const IOCB_CMD_PREAD = 0;
export const IOCB_CMD_PWRITE = 1;
export const IOCB_CMD_FSYNC = 2;
export const IOCB_CMD_FDSYNC = 3;
export const IOCB_CMD_POLL = 5;
export const IOCB_CMD_NOOP = 6;

/** Sizes of the ABI structures. */
export const IOCB_SIZE = 64;
export const IO_EVENT_SIZE = 32;
export const AIO_RING_HEADER_SIZE = 32;
export const AIO_RING_MAGIC = 0xa10a10a1;

/** One io_event slot of the ring: four cells. */
export interface RingSlot {
  readonly data: Cell;
  readonly obj: Cell;
  readonly res: Cell;
  readonly res2: Cell;
  /** The four `READ_ONCE`s (data, obj, res, res2) prebuilt, made on the slot's first read. */
  loads: readonly [Op, Op, Op, Op] | null;
}

const MB = prebuilt(smp_mb());
const WMB = prebuilt(smp_wmb());
/** The `smp_mb()` of `aio_read_evt` between reading an event and moving `head` past it. */
export const RING_MB: Op = MB;

function loadsOf(s: RingSlot): readonly [Op, Op, Op, Op] {
  if (s.loads === null) {
    s.loads = [
      prebuilt(READ_ONCE(s.data)),
      prebuilt(READ_ONCE(s.obj)),
      prebuilt(READ_ONCE(s.res)),
      prebuilt(READ_ONCE(s.res2)),
    ];
  }
  return s.loads;
}

/** A request's life: queued (cancellable), running (the IO is under way), done. */
export type KiocbState = 'free' | 'queued' | 'running' | 'done';

/** The four loads of ring slot `i`'s event (data, obj, res, res2), for `aio_read_evt` made inline. */
export function ring_loads(ctx: Kioctx, i: number): readonly [Op, Op, Op, Op] {
  return loadsOf(ctx.slots[i]!);
}

/** `struct kiocb`. */
export class Kiocb {
  /** Slot number: `aio_key`, the `event_idx` user space names it by. */
  readonly key: number;
  readonly ctx: Kioctx;
  state: KiocbState = 'free';
  /** Incremented at each submission into this slot: a stale continuation can tell it is stale. */
  gen = 0;
  filp: File | null = null;
  /** User address of the iocb (`obj` in the event; the `key` argument of wait/cancel). */
  user_obj = 0;
  user_data = 0;
  opcode = 0;
  buf = 0;
  nbytes = 0;
  pos = 0;
  /** Bytes moved so far (chunked requests). */
  nr_transferred = 0;
  /** Set while the request may be cancelled: undoes whatever queued it. */
  cancel: (() => KernelCode<void>) | null = null;
  /** Pages pinned for this request (accounting). */
  pinnedPages = 0;
  /** Completion sequence of this slot's last request (for `__io_wait` after completion). */
  completions = 0;
  lastObj = 0;
  constructor(key: number, ctx: Kioctx) {
    this.key = key;
    this.ctx = ctx;
  }
}

/** How `aio_complete` wakes `ctx->wait` after publishing an event. */
export type CompleteWakeup = 'waitqueue_active' | 'mb+waitqueue_active' | 'wake_up';

/** `struct kioctx`. */
export class Kioctx {
  readonly id: number;
  readonly k: Kernel;
  readonly process: Process;
  readonly maxReqs: number;
  /** Ring entries (maxReqs + 1). */
  readonly nr: number;
  readonly lock: Spinlock;
  readonly ringLock: Spinlock;
  readonly wait: WaitQueueHead;
  readonly head: Cell;
  readonly tail: Cell;
  /** The kernel's trusted copy of tail (`info->tail`): user writes to the mapped `tail` never change it. */
  ktail = 0;
  /**
   * The oldest event the kernel knows unconsumed: the head it last moved, or the last head user
   * space published within [khead, ktail]. A head outside that window is not believed.
   */
  khead = 0;
  readonly slots: RingSlot[];
  readonly reqs: Kiocb[];
  reqsActive = 0;
  /** Every request slot below this one is in use (where `aio_get_req` starts looking). */
  freeHint = 0;
  dead = false;
  /** User address of the ring mapping, or 0. */
  mapAddr = 0;
  /** The bytes user space sees through the mapping (a mirror of the cells, in program order), whole pages. */
  readonly ringBytes: Uint8Array;
  /** A view of `ringBytes`, for the mirror writes. */
  private readonly ringView: DataView;
  /** The kernel's AIO accounting (`aio_limits(k)`, looked up once). */
  readonly lim: AioLimits;
  /** Prebuilt operations of the hot paths: `ctx->lock` (irqsave), `ring_lock`, head and tail loads. */
  readonly op: {
    readonly lock: Op;
    readonly unlock: Op;
    readonly ringLock: Op;
    readonly ringUnlock: Op;
    readonly loadHead: Op;
    readonly loadTail: Op;
  };
  /** What a task waiting for this context's events sleeps on (hang reports, traces). */
  readonly eventsWaitName: string;
  /** The wait entry of the last task that waited for events here (reused by that task). */
  eventsWait: WaitQueueEntry | null = null;
  /** Events published and requests submitted over the context's life. */
  published = 0;
  submitted = 0;
  constructor(k: Kernel, id: number, process: Process, maxReqs: number) {
    this.k = k;
    this.lim = aio_limits(k);
    // The AIO figures are gauges of k.stats from the first context on.
    aio_update_stats(k);
    this.eventsWaitName = `aio ctx${id} events`;
    this.id = id;
    this.process = process;
    this.maxReqs = maxReqs;
    this.nr = maxReqs + 1;
    const name = `ctx${id}`;
    this.lock = k.spinlock(`${name}.lock`, 'kioctx.lock');
    this.ringLock = k.spinlock(`${name}.ring_lock`, 'kioctx.ring_lock');
    this.wait = init_waitqueue_head(k, `${name}.wait`, 'kioctx.wait.lock');
    this.head = k.cell(`${name}.ring.head`, 0);
    this.tail = k.cell(`${name}.ring.tail`, 0);
    this.op = {
      lock: prebuilt(spin_lock_irqsave(this.lock)),
      unlock: prebuilt(spin_unlock_irqrestore(this.lock)),
      ringLock: prebuilt(spin_lock(this.ringLock)),
      ringUnlock: prebuilt(spin_unlock(this.ringLock)),
      loadHead: prebuilt(READ_ONCE(this.head)),
      loadTail: prebuilt(READ_ONCE(this.tail)),
    };
    this.slots = [];
    for (let i = 0; i < this.nr; i++) {
      this.slots.push({
        data: k.cell(`${name}.ev${i}.data`, 0),
        obj: k.cell(`${name}.ev${i}.obj`, 0),
        res: k.cell(`${name}.ev${i}.res`, 0),
        res2: k.cell(`${name}.ev${i}.res2`, 0),
        loads: null,
      });
    }
    this.reqs = Array.from({ length: maxReqs }, (_, i) => new Kiocb(i, this));
    // Whole pages, as mapped: the bytes past the last event are user memory like any other.
    const ringLen = AIO_RING_HEADER_SIZE + this.nr * IO_EVENT_SIZE;
    this.ringBytes = new Uint8Array(Math.ceil(ringLen / PAGE_SIZE) * PAGE_SIZE);
    const dv = new DataView(this.ringBytes.buffer);
    this.ringView = dv;
    dv.setUint32(0, id, true);
    dv.setUint32(4, this.nr, true);
    dv.setUint32(8, 0, true);
    dv.setUint32(12, 0, true);
    dv.setUint32(16, AIO_RING_MAGIC, true);
    dv.setUint32(20, 1, true); // compat_features
    dv.setUint32(24, 0, true); // incompat_features
    dv.setUint32(28, AIO_RING_HEADER_SIZE, true);
  }

  /** Free ring slots (`aio_ring_avail`) given the head user space has published (an index of the ring). */
  ringAvail(head: number): number {
    return (head + this.nr - 1 - this.ktail) % this.nr;
  }

  /** Whether ring index `i` lies in [from, ktail], going round the ring. */
  private inWindow(from: number, i: number): boolean {
    const nr = this.nr;
    return (i - from + nr) % nr <= (this.ktail - from + nr) % nr;
  }

  /** The mapped word `v` if it is an index of the ring (what the kernel ever stores there), else -1. */
  private index(v: number): number {
    return Number.isInteger(v) && v >= 0 && v < this.nr ? v : -1;
  }

  /**
   * The mapped `head` word `v` as the kernel uses it (to count free slots, and under
   * `ring_lock` as the index to consume from): `v` when it is a ring index within
   * [khead, ktail] (then `khead` moves to it), else `khead`. So a head moved back, or garbage,
   * never shows an event twice and never makes room in the ring that is not there.
   */
  ring_head(v: number): number {
    this.khead = this.believed_head(v);
    return this.khead;
  }

  /** The head `ring_head(v)` would use, without moving `khead` (for checks from outside). */
  believed_head(v: number): number {
    const h = this.index(v);
    return h >= 0 && this.inWindow(this.khead, h) ? h : this.khead;
  }

  /**
   * The mapped `tail` word `v` as the index to consume up to, from `head`: `v` when it is a ring
   * index within [head, ktail] (a tail not yet seen moving is a real state of the memory model),
   * else the kernel's own `ktail`: only events the kernel completed are read, and garbage in
   * the tail hides none.
   */
  read_tail(head: number, v: number): number {
    const t = this.index(v);
    const nr = this.nr;
    return t >= 0 && (t - head + nr) % nr <= (this.ktail - head + nr) % nr ? t : this.ktail;
  }

  /** The head the kernel stores after consuming the event at `head`; it is the kernel's `khead` from now on. */
  consumed(head: number): number {
    const nh = (head + 1) % this.nr;
    this.khead = nh;
    return nh;
  }

  /** Mirrors one event into the mapped bytes. */
  mirrorEvent(i: number, data: number, obj: number, res: number, res2: number): void {
    const dv = this.ringView;
    const off = AIO_RING_HEADER_SIZE + i * IO_EVENT_SIZE;
    put64(dv, off, data);
    put64(dv, off + 8, obj);
    put64(dv, off + 16, res);
    put64(dv, off + 24, res2);
  }

  /** Mirrors head or tail into the mapped bytes. */
  mirrorIndex(which: 'head' | 'tail', v: number): void {
    this.ringView.setUint32(which === 'head' ? 8 : 12, v, true);
  }
}

const TWO_32 = 4294967296;

/**
 * Stores the integer `v` as a little-endian 64-bit field (two's complement when negative, the
 * low 64 bits when larger), the bytes `setBigInt64(BigInt(v))` would store, without a BigInt.
 */
export function put64(dv: DataView, off: number, v: number): void {
  dv.setUint32(off, v >>> 0, true);
  dv.setUint32(off + 4, Math.floor(v / TWO_32) >>> 0, true);
}

/** `aio_get_req`: a free request slot if the ring has room for its event, else null (-EAGAIN). */
export function* aio_get_req(ctx: Kioctx): KernelCode<Kiocb | null> {
  const op = ctx.op;
  yield op.lock;
  const head: number = yield op.loadHead;
  const req = aio_get_req_locked(ctx, head);
  if (head !== ctx.khead) yield ring_repair_head(ctx);
  yield op.unlock;
  return req;
}

/**
 * Stores the kernel's own head (`khead`) into the mapped `head`, after the kernel found a word
 * there it does not believe: a stale bogus value could otherwise become believable once the
 * ring moves on to it, and hide events. A trampolined call (`yield ring_repair_head(ctx)`).
 */
export function* ring_repair_head(ctx: Kioctx): KernelCode<void> {
  const h = ctx.khead;
  yield write_once_op(ctx.head, h);
  ctx.mirrorIndex('head', h);
}

/**
 * The body of `aio_get_req`, under `ctx->lock` with `head` just read (`yield op.lock; head =
 * yield op.loadHead; ...; yield op.unlock`), for a hot caller that makes those operations inline
 * (and then `yield ring_repair_head(ctx)` when `head !== ctx.khead`: a head not believed).
 */
export function aio_get_req_locked(ctx: Kioctx, head: number): Kiocb | null {
  if (ctx.dead || ctx.reqsActive >= ctx.ringAvail(ctx.ring_head(head))) return null;
  const reqs = ctx.reqs;
  // The lowest free slot: none below `freeHint` is free.
  for (let i = ctx.freeHint; i < reqs.length; i++) {
    const r = reqs[i]!;
    if (r.state !== 'free') continue;
    ctx.freeHint = i + 1;
    r.state = 'queued';
    r.nr_transferred = 0;
    r.cancel = null;
    ctx.reqsActive++;
    ctx.lim.reqsActive++;
    return r;
  }
  ctx.freeHint = reqs.length;
  return null;
}

/** Gives a request back without an event (submission failed before it was accepted). */
export function* aio_put_req(req: Kiocb): KernelCode<void> {
  const ctx = req.ctx;
  yield* spin_lock_irqsave(ctx.lock);
  releaseReq(req);
  yield* spin_unlock_irqrestore(ctx.lock);
  if (ctx.dead && ctx.reqsActive === 0) yield* wake_up_all(ctx.wait);
}

function releaseReq(req: Kiocb): void {
  const ctx = req.ctx;
  req.state = 'free';
  if (req.key < ctx.freeHint) ctx.freeHint = req.key;
  req.cancel = null;
  req.filp = null;
  ctx.reqsActive--;
  ctx.lim.reqsActive--;
}

/**
 * Moves a queued request to running (its IO is about to start): false if it was cancelled
 * meanwhile (or the slot was reused: `gen` is the submission the caller started), in which case
 * the caller must drop it without completing it.
 */
export function* aio_start(req: Kiocb, gen: number): KernelCode<boolean> {
  const op = req.ctx.op;
  yield op.lock;
  const ok = aio_start_locked(req, gen);
  yield op.unlock;
  return ok;
}

/** The body of `aio_start`, under `ctx->lock` (for a hot caller that takes it inline). */
export function aio_start_locked(req: Kiocb, gen: number): boolean {
  const ok = req.state === 'queued' && req.gen === gen;
  if (ok) {
    req.state = 'running';
    req.cancel = null;
  }
  return ok;
}

/**
 * `aio_complete(req, res, res2)`: publishes the request's event in the ring and wakes
 * `ctx->wait`. Callable from interrupt context; never sleeps. Every request gets exactly one
 * call (the state machine under `ctx->lock` makes a second one a simulator error).
 */
export function* aio_complete(req: Kiocb, res: number, res2 = 0): KernelCode<void> {
  // Few locals live across its yields (a generator saves and restores each live one at every
  // yield): the context's operations and wait queue are read again where needed, and the tail
  // and its slot live only in the block that writes the event.
  const ctx = req.ctx;
  yield ctx.op.lock;
  if (req.state === 'free' || req.state === 'done') {
    yield ctx.op.unlock;
    throw new Error(`aio_complete: request ${req.key} of ctx ${ctx.id} completed twice (state ${req.state})`);
  }
  req.state = 'done';
  {
    const tail = ctx.ktail;
    const slot = ctx.slots[tail]!;
    yield write_once_op(slot.obj, req.user_obj);
    yield write_once_op(slot.data, req.user_data);
    yield write_once_op(slot.res, res);
    yield write_once_op(slot.res2, res2);
    ctx.mirrorEvent(tail, req.user_data, req.user_obj, res, res2);
  }
  yield WMB; // the event before the tail
  ctx.ktail = (ctx.ktail + 1) % ctx.nr;
  yield write_once_op(ctx.tail, ctx.ktail);
  ctx.mirrorIndex('tail', ctx.ktail);
  yield WMB;
  const last = completed_locked(req, res);
  yield ctx.op.unlock;
  const how = ctx.lim.completeWakeup;
  if (how === 'wake_up' || last) {
    yield wake_up_all(ctx.wait);
  } else {
    if (how === 'mb+waitqueue_active') yield MB;
    // waitqueue_active(&ctx->wait), then wake_up(&ctx->wait), inline: the queue's lock, the
    // walk (a trampolined call, when there is anyone to wake) and the unlock.
    if ((yield ctx.wait.op.loadActive) !== 0) {
      yield ctx.wait.op.lock;
      if (ctx.wait.list.length !== 0) {
        // The usual waiter, one task in __io_getevents: its wake-up without the walk's frame.
        const e = lone_task_entry(ctx.wait);
        if (e !== null) wake_traced(ctx.wait, e, yield wake_normal_op(e));
        else yield __wake_up_common(ctx.wait, TASK_NORMAL, 1);
      }
      yield ctx.wait.op.unlock;
    }
  }
}

/**
 * `aio_complete` once the event is out, still under `ctx->lock`: the accounting, the request
 * slot given back. True when it was the last request of a dying context.
 */
function completed_locked(req: Kiocb, res: number): boolean {
  const ctx = req.ctx;
  const k = ctx.k;
  ctx.published++;
  req.completions++;
  req.lastObj = req.user_obj;
  k.add(AIO_COMPLETED(k));
  if (k.tracing) k.emit('aio.complete', { ctx: ctx.id, idx: req.key, res });
  releaseReq(req);
  return ctx.dead && ctx.reqsActive === 0;
}

/** One io_event read from the ring. */
export interface IoEvent {
  data: number;
  obj: number;
  res: number;
  res2: number;
}

/**
 * `aio_read_evt`: takes one event off the ring (kernel side, under the ring lock), or null.
 * It first peeks at `head` and `tail` without the lock (empty: null at once); `peeked` says the
 * caller made that peek itself, inline, and saw them differ (so it is not made twice).
 */
export function* aio_read_evt(ctx: Kioctx, peeked = false): KernelCode<IoEvent | null> {
  const op = ctx.op;
  if (!peeked) {
    const h0: number = yield op.loadHead;
    const t0: number = yield op.loadTail;
    if (h0 === t0) return null;
  }
  yield op.ringLock; // an implied read barrier
  let ev: IoEvent | null = null;
  const word: number = yield op.loadHead;
  const head = ctx.ring_head(word);
  const tail = ctx.read_tail(head, yield op.loadTail);
  if (head !== tail) {
    const l = loadsOf(ctx.slots[head]!);
    ev = { data: yield l[0], obj: yield l[1], res: yield l[2], res2: yield l[3] };
    yield MB; // the head update after the event is read
    const nh = ctx.consumed(head);
    yield write_once_op(ctx.head, nh);
    ctx.mirrorIndex('head', nh);
  } else if (word !== head) yield ring_repair_head(ctx);
  yield op.ringUnlock;
  return ev;
}

/** The kernel-wide registry of contexts (for the `aio-nr` accounting and lookups). */
export function contexts(k: Kernel): Kioctx[] {
  return aio_limits(k).contexts;
}

/** The context behind an fd of the current process, or null. */
export function ctxOfFile(f: File | null): Kioctx | null {
  if (f === null) return null;
  const c = f.private_data;
  return c instanceof Kioctx ? c : null;
}

/**
 * Builds a context for `p` directly in the kernel, its ring already mapped, as if `p` had
 * opened `/dev/aio` and called `mmap` — for scenarios and tests that start mid-flight and
 * explore only what follows.
 */
export function aio_ctx_direct(k: Kernel, p: Process, maxReqs: number): Kioctx {
  const lim = aio_limits(k);
  const ctx = new Kioctx(k, lim.nextId++, p, maxReqs);
  lim.aioNr += maxReqs;
  lim.contexts.push(ctx);
  ctx.mapAddr = p.mm.mmap(ctx.ringBytes.length, 3, 'aio-ring', ctx.ringBytes);
  return ctx;
}

/**
 * Takes a request slot of `ctx` directly and marks it running (its IO under way), as if an
 * iocb at `user_obj` with `user_data` had been submitted — the other half of `aio_ctx_direct`.
 */
export function aio_req_direct(ctx: Kioctx, user_obj: number, user_data: number, nbytes: number): Kiocb {
  const req = ctx.reqs.find((r) => r.state === 'free');
  if (req === undefined) throw new Error(`aio_req_direct: no free request slot in ctx ${ctx.id}`);
  req.state = 'running';
  req.gen++;
  req.user_obj = user_obj;
  req.user_data = user_data;
  req.nbytes = nbytes;
  ctx.reqsActive++;
  aio_limits(ctx.k).reqsActive++;
  return req;
}
