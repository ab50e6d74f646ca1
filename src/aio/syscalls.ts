/**
 * `/dev/aio` and the four syscalls of the seed: `__submit_ios`, `__io_getevents`, `__io_wait`,
 * `__io_cancel`; plus the in-kernel `io_submit(filp, req)`.
 *
 * - `open("/dev/aio", O_RDWR)` creates a context and returns its fd (the `ctx_fd`);
 *   `mmap(len, prot, ctx_fd)` maps its completion ring; `read(ctx_fd, buf, n)` returns whole
 *   io_events; `close` cancels what it can, waits for the rest, unmaps the ring and gives the
 *   accounting back (process exit closes it too).
 * - Arguments are checked in the order of the errno table in `docs/aio.md`, before anything
 *   changes.
 * - A file takes part through `AioMethods` on its `file_operations` (`aio_read`, `aio_write`,
 *   `aio_fsync`, and `aio_check` for its own argument rules); a file without them is served
 *   by its synchronous `read`/`write`/`fsync` on a keventd worker thread.
 */

import { user_region } from '../devices/kiobuf.js';
import { EAGAIN, EBADF, ECANCELED, EFAULT, EINTR, EINVAL, ENOENT, ETIME } from '../kernel/errno.js';
import { counter, type Kernel } from '../kernel/kernel.js';
import type { KernelCode } from '../kernel/ops.js';
import { done, write_once_op } from '../kernel/prebuilt.js';
import {
  File,
  type FileOperations,
  O_ACCMODE,
  O_NONBLOCK,
  O_RDONLY,
  O_WRONLY,
  PROT_READ,
  PROT_WRITE,
  type Process,
} from '../kernel/process.js';
import {
  current,
  kernel,
  schedule,
  schedule_timeout,
  set_current_state,
  signal_pending,
  TASK_INTERRUPTIBLE,
  TASK_RUNNING,
  TASK_UNINTERRUPTIBLE,
} from '../kernel/sched.js';
import { spin_lock_irqsave, spin_unlock_irqrestore } from '../kernel/spinlock.js';
import {
  register_mount,
  register_path,
  register_syscall,
  type SyscallHandler,
  syscalls,
} from '../kernel/syscalls.js';
import { schedule_task } from '../kernel/tqueue.js';
import {
  add_exclusive_locked,
  add_wait_queue,
  DECLARE_WAITQUEUE,
  init_waitqueue_entry,
  remove_locked,
  remove_wait_queue,
} from '../waitqueue/waitqueue.js';
import { aio_install_devices } from './devices.js';
import {
  AIO_RING_HEADER_SIZE,
  aio_complete,
  aio_get_req_locked,
  aio_read_evt,
  aio_start,
  ctxOfFile,
  IO_EVENT_SIZE,
  IOCB_CMD_FDSYNC,
  IOCB_CMD_FSYNC,
  IOCB_CMD_NOOP,
  IOCB_CMD_POLL,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
  IOCB_SIZE,
  type IoEvent,
  type Kiocb,
  Kioctx,
  put64,
  RING_MB,
  ring_loads,
  ring_repair_head,
} from './kioctx.js';
import { type AioOptions, aio_limits, set_aio_limits } from './limits.js';

/** The AIO members a file's operations may have (the 2.4 patch's additions). */
export interface AioMethods {
  /** Starts the read of `req`; returns 0 when `aio_complete` will follow, else the result to complete with. */
  aio_read?(file: File, req: Kiocb): KernelCode<number>;
  aio_write?(file: File, req: Kiocb): KernelCode<number>;
  aio_fsync?(file: File, req: Kiocb, datasync: boolean): KernelCode<number>;
  /** The file's own argument rules (alignment for direct IO ...): 0 or a negative errno. */
  aio_check?(file: File, opcode: number, buf: number, nbytes: number, pos: number): number;
}

function aioOps(f: File): AioMethods {
  return f.f_op as FileOperations & AioMethods;
}

/** Largest value a 64-bit field may hold here and still be an exact JS number. */
const MAX_SAFE = Number.MAX_SAFE_INTEGER;
const TWO_32 = 4294967296;

/** An iocb as read from user memory. */
export interface UserIocb {
  aio_data: number;
  aio_key: number;
  aio_reserved1: number;
  aio_lio_opcode: number;
  aio_reqprio: number;
  aio_fildes: number;
  aio_buf: bigint;
  aio_nbytes: bigint;
  aio_offset: bigint;
  aio_reserved2: bigint;
  aio_reserved3: bigint;
}

/** Decodes a 64-byte iocb (2.4 ABI, little endian). */
export function decodeIocb(b: Uint8Array): UserIocb {
  const dv = new DataView(b.buffer, b.byteOffset, IOCB_SIZE);
  return {
    aio_data: Number(dv.getBigUint64(0, true)),
    aio_key: dv.getUint32(8, true),
    aio_reserved1: dv.getUint32(12, true),
    aio_lio_opcode: dv.getUint16(16, true),
    aio_reqprio: dv.getInt16(18, true),
    aio_fildes: dv.getUint32(20, true),
    aio_buf: dv.getBigUint64(24, true),
    aio_nbytes: dv.getBigUint64(32, true),
    aio_offset: dv.getBigInt64(40, true),
    aio_reserved2: dv.getBigUint64(48, true),
    aio_reserved3: dv.getBigUint64(56, true),
  };
}

/** Encodes an io_event (for copy_to_user and read()). */
export function encodeEvent(ev: IoEvent): Uint8Array {
  const b = new Uint8Array(IO_EVENT_SIZE);
  const dv = new DataView(b.buffer);
  dv.setBigUint64(0, BigInt.asUintN(64, BigInt(ev.data)), true);
  dv.setBigUint64(8, BigInt.asUintN(64, BigInt(ev.obj)), true);
  dv.setBigInt64(16, BigInt(ev.res), true);
  dv.setBigInt64(24, BigInt(ev.res2), true);
  return b;
}

/** Scratch bytes for `put_event` (filled and copied out at once: never shared across a yield). */
const eventBytes = new Uint8Array(IO_EVENT_SIZE);
const eventView = new DataView(eventBytes.buffer);

/**
 * `copy_to_user(addr, encodeEvent(ev))` without a fresh buffer: false (-EFAULT) if
 * [addr, addr + 32) is not mapped writable.
 */
function put_event(p: Process, addr: number, ev: IoEvent): boolean {
  return put_event_fields(p, addr, ev.data, ev.obj, ev.res, ev.res2);
}

/** `put_event` of the event with these fields. */
function put_event_fields(
  p: Process,
  addr: number,
  data: number,
  obj: number,
  res: number,
  res2: number,
): boolean {
  const r = user_region(p, addr, IO_EVENT_SIZE, true);
  if (r === null) return false;
  put64(eventView, 0, data);
  put64(eventView, 8, obj);
  put64(eventView, 16, res);
  put64(eventView, 24, res2);
  r.data.set(eventBytes, addr - r.start);
  return true;
}

/** Looks up the context of `ctx_fd`: the context, or -EBADF / -EINVAL. */
function lookupCtx(p: Process, ctx_fd: number): Kioctx | number {
  const f = p.fget(ctx_fd);
  if (f === null) return -EBADF;
  const ctx = ctxOfFile(f);
  if (ctx === null || ctx.dead) return -EINVAL;
  return ctx;
}

/** Reads a `struct timespec` (16 bytes: tv_sec, tv_nsec) at `addr`: ns, or a negative errno. */
function readTimeout(p: Process, addr: number): number {
  const b = p.mm.copy_from_user(addr, 16);
  if (b === null) return -EFAULT;
  const dv = new DataView(b.buffer, b.byteOffset, 16);
  const sec = dv.getBigInt64(0, true);
  const nsec = dv.getBigInt64(8, true);
  if (sec < 0n || nsec < 0n || nsec >= 1_000_000_000n) return -EINVAL;
  const ns = sec * 1_000_000_000n + nsec;
  return ns > BigInt(MAX_SAFE) ? MAX_SAFE : Number(ns);
}

// ---------------------------------------------------------------------------------------------
// /dev/aio

const aioDevOps: FileOperations = {
  name: 'aio',
  seekable: false,
  read: aio_dev_read,
  mmap: aio_dev_mmap,
  release: aio_dev_release,
};

function* aio_dev_open(p: Process, path: string, flags: number): KernelCode<File | number> {
  const k = kernel();
  const lim = aio_limits(k);
  if ((flags & O_ACCMODE) !== 2) return -EINVAL; // O_RDWR
  // `/dev/aio` gives the default ring size; `/dev/aio/<n>` a context with n request slots.
  let nr = lim.ringNr;
  if (path !== '/dev/aio') {
    const m = /^\/dev\/aio\/(\d{1,9})$/.exec(path);
    if (m === null) return -ENOENT;
    nr = Number(m[1]);
    if (nr < 1) return -EINVAL;
  }
  if (lim.aioNr + nr > lim.aioMaxNr) return -EAGAIN;
  const ctx = new Kioctx(k, lim.nextId++, p, nr);
  lim.aioNr += nr;
  lim.contexts.push(ctx);
  return new File(aioDevOps, flags, path, ctx);
}

/**
 * Maps the ring (whole pages, whatever `len` says past the header): the same address while that
 * mapping lasts; after user space unmapped it, a new mapping of the same ring (the kernel's
 * bytes and its `head`/`tail` live on, as the ring pages do in 2.4). -ENOMEM past the
 * address-space limit.
 */
function* aio_dev_mmap(f: File, p: Process, len: number): KernelCode<number> {
  const ctx = ctxOfFile(f)!;
  if (p !== ctx.process) return -EINVAL;
  if (len < AIO_RING_HEADER_SIZE) return -EINVAL;
  if (ring_mapped(ctx)) return ctx.mapAddr;
  const a = p.mm.do_mmap(ctx.ringBytes.length, PROT_READ | PROT_WRITE, 'aio-ring', ctx.ringBytes);
  if (a < 0) return a;
  ctx.mapAddr = a;
  return a;
}

/** Whether the ring is still mapped at `ctx.mapAddr` (user space may have unmapped it). */
function ring_mapped(ctx: Kioctx): boolean {
  return ctx.mapAddr !== 0 && ctx.process.mm.find(ctx.mapAddr, 1)?.data === ctx.ringBytes;
}

function* aio_dev_read(f: File, p: Process, buf: number, count: number): KernelCode<number> {
  const ctx = ctxOfFile(f)!;
  if (count < IO_EVENT_SIZE) return -EINVAL;
  const n = Math.floor(count / IO_EVENT_SIZE);
  const nonblock = (f.f_flags & O_NONBLOCK) !== 0;
  const got = yield* read_events(ctx, p, buf, n, nonblock ? 0 : -1);
  if (got === 0 && nonblock) return -EAGAIN;
  return got < 0 ? got : got * IO_EVENT_SIZE;
}

/** Cancels every cancellable request, waits for the others, unmaps the ring, gives back the accounting. */
function* aio_dev_release(f: File, _p: Process): KernelCode<number> {
  const ctx = ctxOfFile(f)!;
  const k = ctx.k;
  ctx.dead = true;
  for (const req of ctx.reqs) {
    if (req.state === 'queued') yield* cancel_req(req, req.user_obj);
  }
  yield* wait_for_all_aios(ctx);
  if (ring_mapped(ctx)) ctx.process.mm.munmap(ctx.mapAddr);
  ctx.mapAddr = 0;
  const lim = aio_limits(k);
  lim.aioNr -= ctx.maxReqs;
  lim.contexts.splice(lim.contexts.indexOf(ctx), 1);
  return 0;
}

/** Sleeps until no request of `ctx` is in flight. */
function* wait_for_all_aios(ctx: Kioctx): KernelCode<void> {
  if (ctx.reqsActive === 0) return;
  const t = current();
  const wait = DECLARE_WAITQUEUE(`wait_for_all_aios:${t.name}`, t);
  yield* add_wait_queue(ctx.wait, wait);
  for (;;) {
    yield* set_current_state(TASK_UNINTERRUPTIBLE);
    if (ctx.reqsActive === 0) break;
    yield* schedule(`aio ctx${ctx.id}: ${ctx.reqsActive} requests in flight`);
  }
  yield* set_current_state(TASK_RUNNING);
  yield* remove_wait_queue(ctx.wait, wait);
}

// ---------------------------------------------------------------------------------------------
// Submission

/** Whether `op` is an opcode this kernel knows. */
function knownOpcode(op: number): boolean {
  return (
    op === IOCB_CMD_PREAD ||
    op === IOCB_CMD_PWRITE ||
    op === IOCB_CMD_FSYNC ||
    op === IOCB_CMD_FDSYNC ||
    op === IOCB_CMD_NOOP ||
    op === IOCB_CMD_POLL
  );
}

/** Little-endian unsigned 32-bit field of `b` at `o`. */
function le32(b: Uint8Array, o: number): number {
  return (b[o]! | (b[o + 1]! << 8) | (b[o + 2]! << 16) | (b[o + 3]! << 24)) >>> 0;
}

/** High words above this make a 64-bit field larger than `MAX_SAFE` (2^53 - 1). */
const MAX_SAFE_HI = 0x1fffff;

/**
 * `io_submit_one`: checks one iocb at `user_iocb` and starts it. Returns 0 when accepted (an
 * event will follow), else a negative errno with nothing changed.
 */
export function io_submit_one(ctx: Kioctx, p: Process, user_iocb: number): KernelCode<number> {
  return submit_one(ctx, p, user_iocb, 0);
}

/** `io_submit_one`, returning `accepted` rather than 0 when the iocb is accepted. */
function* submit_one(ctx: Kioctx, p: Process, user_iocb: number, accepted: number): KernelCode<number> {
  // The checks and the iocb's fields (read before the lock is taken), in plain code: only the
  // decoded iocb lives across this frame's operations.
  const iocb = iocb_decode(p, user_iocb);
  if (typeof iocb === 'number') return iocb;
  // aio_get_req(ctx), inline (its three operations: no frame of its own).
  const cop = ctx.op;
  yield cop.lock;
  const head: number = yield cop.loadHead;
  const req = aio_get_req_locked(ctx, head);
  if (head !== ctx.khead) yield ring_repair_head(ctx);
  yield cop.unlock;
  if (req === null) return -EAGAIN;
  const file = iocb_start(ctx, p, iocb, req);
  // Trampolined calls: the submission path runs below this frame, not through it.
  const ret: number = yield io_submit(file, req);
  if (ret !== 0) yield aio_complete(req, ret);
  return accepted;
}

/** An iocb read and checked by `io_submit_one`, until its request is taken. */
class DecodedIocb {
  readonly user_iocb: number;
  readonly file: File;
  readonly aio_data: number;
  readonly op: number;
  readonly buf: number;
  readonly nbytes: number;
  readonly pos: number;
  constructor(
    user_iocb: number,
    file: File,
    aio_data: number,
    op: number,
    buf: number,
    nbytes: number,
    pos: number,
  ) {
    this.user_iocb = user_iocb;
    this.file = file;
    this.aio_data = aio_data;
    this.op = op;
    this.buf = buf;
    this.nbytes = nbytes;
    this.pos = pos;
  }
}

/** The reading and the checks of `io_submit_one`: the iocb, or a negative errno. */
function iocb_decode(p: Process, user_iocb: number): DecodedIocb | number {
  // The iocb is read field by field from user memory (as `decodeIocb` would decode a copy of
  // it: nothing runs in between), the 64-bit fields as two 32-bit halves.
  // In place: the iocb's bytes are at `o` in its region's data (as `user_view` would check).
  const region = user_region(p, user_iocb, IOCB_SIZE);
  if (region === null) return -EFAULT;
  const b = region.data;
  const o = user_iocb - region.start;
  if (
    le32(b, o + 12) !== 0 || // aio_reserved1
    le32(b, o + 48) !== 0 ||
    le32(b, o + 52) !== 0 || // aio_reserved2
    le32(b, o + 56) !== 0 ||
    le32(b, o + 60) !== 0 // aio_reserved3
  )
    return -EINVAL;
  const bufHi = le32(b, o + 28);
  const nbytesHi = le32(b, o + 36);
  const posHi = le32(b, o + 44); // negative offsets have the top bit set: larger still
  if (bufHi > MAX_SAFE_HI || nbytesHi > MAX_SAFE_HI || posHi > MAX_SAFE_HI) return -EINVAL;
  const buf = bufHi * TWO_32 + le32(b, o + 24);
  const nbytes = nbytesHi * TWO_32 + le32(b, o + 32);
  const pos = posHi * TWO_32 + le32(b, o + 40);
  const aio_data = le32(b, o + 4) * TWO_32 + le32(b, o);
  const op = b[o + 16]! | (b[o + 17]! << 8);
  const file = p.fget(le32(b, o + 20));
  if (file === null) return -EBADF;
  if (!knownOpcode(op)) return -EINVAL;
  const mode = file.f_flags & O_ACCMODE;
  if (op === IOCB_CMD_PREAD && mode === O_WRONLY) return -EBADF;
  if (op === IOCB_CMD_PWRITE && mode === O_RDONLY) return -EBADF;
  const m = aioOps(file);
  // The synchronous fallback is not offered for an AIO context's own fd: its read() waits for
  // the context's events, so a request reading it would wait for itself (and close would hang).
  const sync: Partial<FileOperations> = ctxOfFile(file) === null ? file.f_op : NO_SYNC;
  if (op === IOCB_CMD_PREAD && m.aio_read === undefined && sync.read === undefined) return -EINVAL;
  if (op === IOCB_CMD_PWRITE && m.aio_write === undefined && sync.write === undefined) return -EINVAL;
  if (
    (op === IOCB_CMD_FSYNC || op === IOCB_CMD_FDSYNC) &&
    m.aio_fsync === undefined &&
    sync.fsync === undefined
  )
    return -EINVAL;
  if (op === IOCB_CMD_POLL) return -EINVAL; // no file here supports poll yet
  if (op === IOCB_CMD_PREAD || op === IOCB_CMD_PWRITE) {
    if (nbytes > 0) {
      const r = p.mm.find(buf, nbytes);
      if (r === undefined || (r.prot & (op === IOCB_CMD_PREAD ? PROT_WRITE : PROT_READ)) === 0)
        return -EFAULT;
    }
    const bad = m.aio_check?.(file, op, buf, nbytes, pos) ?? 0;
    if (bad < 0) return bad;
  }
  // aio_key is written back into the user's iocb: it must be writable. (As `user_region(p,
  // user_iocb + 8, 4, true)`: the key lies in the iocb's region, found above.)
  if ((region.prot & PROT_WRITE) === 0) return -EFAULT;
  return new DecodedIocb(user_iocb, file, aio_data, op, buf, nbytes, pos);
}

/**
 * What `io_submit_one` does once it has the request: fills it from the iocb, writes its key
 * back into the user's iocb, counts it. Returns the file.
 */
function iocb_start(ctx: Kioctx, p: Process, iocb: DecodedIocb, req: Kiocb): File {
  const user_iocb = iocb.user_iocb;
  const file = iocb.file;
  req.gen++;
  req.filp = file;
  req.user_obj = user_iocb;
  req.user_data = iocb.aio_data;
  req.opcode = iocb.op;
  req.buf = iocb.buf;
  req.nbytes = iocb.nbytes;
  req.pos = iocb.pos;
  const kr = user_region(p, user_iocb + 8, 4, true)!;
  const kv = kr.data;
  const ko = user_iocb + 8 - kr.start;
  const key = req.key;
  kv[ko] = key & 0xff;
  kv[ko + 1] = (key >>> 8) & 0xff;
  kv[ko + 2] = (key >>> 16) & 0xff;
  kv[ko + 3] = key >>> 24;
  ctx.submitted++;
  const k = ctx.k;
  k.add(AIO_SUBMITTED(k));
  if (k.tracing) k.emit('aio.submit', { ctx: ctx.id, idx: req.key, op: opName(iocb.op) });
  return file;
}

const NO_SYNC: Partial<FileOperations> = Object.freeze({});
const AIO_SUBMITTED = counter('aio.submitted');
const OP_NAMES: readonly string[] = ['pread', 'pwrite', 'fsync', 'fdsync', 'preadx', 'poll', 'noop'];

function opName(op: number): string {
  return OP_NAMES[op] ?? `op${op}`;
}

/**
 * `io_submit(filp, req)`: the in-kernel entry. Starts `req` on `filp`; returns 0 when the
 * request will complete later through `aio_complete`, or the result to complete it with now.
 * (A plain function handing back the method's code: one `yield*` level less on the hot path.)
 */
export function io_submit(filp: File, req: Kiocb): KernelCode<number> {
  const m = aioOps(filp);
  switch (req.opcode) {
    case IOCB_CMD_NOOP:
      return submitNoop(req);
    case IOCB_CMD_PREAD:
      if (m.aio_read !== undefined) return m.aio_read(filp, req);
      return fallback(req, 'read');
    case IOCB_CMD_PWRITE:
      if (m.aio_write !== undefined) return m.aio_write(filp, req);
      return fallback(req, 'write');
    case IOCB_CMD_FSYNC:
    case IOCB_CMD_FDSYNC: {
      const datasync = req.opcode === IOCB_CMD_FDSYNC;
      if (m.aio_fsync !== undefined) return m.aio_fsync(filp, req, datasync);
      return fallback(req, datasync ? 'fdatasync' : 'fsync');
    }
    default:
      return done(-EINVAL);
  }
}

function* submitNoop(req: Kiocb): KernelCode<number> {
  if (yield* aio_start(req, req.gen)) yield* aio_complete(req, 0);
  return 0;
}

/**
 * Files without AIO methods: the synchronous method runs on a keventd worker thread, in
 * process context, against the submitting process's memory. Cancellable until it starts.
 *
 * (2.4 had no such fallback: `io_submit_one` refused a file without the method, -EINVAL.) A
 * synchronous method that sleeps on a page lock or `i_sem` must never run here: a worktodo queued
 * on this same pool may hold it, so the worker would wait for work only a worker can run (see
 * `walk_pages` in `raw.ts`). None can: every file of the page cache — filesystem files, block
 * devices, raw devices — has all three AIO methods once `aio_init` ran, so only files with no
 * page cache (the AIO test device's absent methods are refused at submission) come here.
 */
function* fallback(req: Kiocb, what: 'read' | 'write' | 'fsync' | 'fdatasync'): KernelCode<number> {
  const gen = req.gen;
  const ctx = req.ctx;
  const file = req.filp!;
  req.cancel = function* cancelFallback() {};
  yield* schedule_task(function* aio_fallback() {
    if (!(yield* aio_start(req, gen))) return;
    let res: number;
    const ppos = { pos: req.pos };
    if (what === 'read') res = yield* file.f_op.read!(file, ctx.process, req.buf, req.nbytes, ppos);
    else if (what === 'write') res = yield* file.f_op.write!(file, ctx.process, req.buf, req.nbytes, ppos);
    else res = yield* file.f_op.fsync!(file, what === 'fdatasync');
    yield* aio_complete(req, res);
  }, `aio ${what}`);
  return 0;
}

/** `__submit_ios(ctx_fd, nr, iocbs)`: submits `nr` iocbs; the count accepted, or the first one's errno. */
export function sys_submit_ios(p: Process, ctx_fd: number, nr: number, iocbpp: number): KernelCode<number> {
  // A plain function handing back the code that submits: for one iocb, `io_submit_one` itself
  // (one frame less on the hot path).
  const c = lookupCtx(p, ctx_fd);
  if (typeof c === 'number') return done(c);
  if (!Number.isInteger(nr) || nr < 0) return done(-EINVAL);
  if (nr === 0) return done(0);
  // copy_from_user of the pointer array: its pointers are read before any is submitted (the
  // user may change the array meanwhile), in place rather than through a copy.
  const r = user_region(p, iocbpp, nr * 8);
  if (r === null) return done(-EFAULT);
  const b = r.data;
  const o = iocbpp - r.start;
  if (nr === 1) {
    const ptr = pointerAt(b, o);
    return ptr < 0 ? done(-EFAULT) : submit_one(c, p, ptr, 1);
  }
  const ptrs = new Array<number>(nr);
  for (let j = 0; j < nr; j++) ptrs[j] = pointerAt(b, o + j * 8);
  return submit_ios(c, p, ptrs);
}

/** The loop of `__submit_ios` over several iocbs: the count accepted, or the first one's errno. */
function* submit_ios(c: Kioctx, p: Process, ptrs: readonly number[]): KernelCode<number> {
  const nr = ptrs.length;
  let i = 0;
  let ret = 0;
  for (; i < nr; i++) {
    const ptr = ptrs[i]!;
    if (ptr < 0) {
      ret = -EFAULT;
      break;
    }
    ret = yield submit_one(c, p, ptr, 0); // a trampolined call
    if (ret !== 0) break;
  }
  return i > 0 ? i : ret;
}

/** The 64-bit user pointer at `o` of `b`: its value, or -1 when larger than `MAX_SAFE` (-EFAULT). */
function pointerAt(b: Uint8Array, o: number): number {
  const hi = le32(b, o + 4);
  return hi > MAX_SAFE_HI ? -1 : hi * TWO_32 + le32(b, o);
}

// ---------------------------------------------------------------------------------------------
// Reaping and waiting

/**
 * `read_events`: copies up to `nr` events to `events`, sleeping (interruptibly) until at least
 * one is there. `timeout` < 0 waits forever, 0 polls. Returns the count, 0 on timeout, or
 * -EINTR / -EFAULT.
 */
function* read_events(
  ctx: Kioctx,
  p: Process,
  events: number,
  nr: number,
  timeout: number,
): KernelCode<number> {
  // Each aio_read_evt(ctx) below is spelled `peek ? null : aio_read_evt(ctx, true)`: its
  // lockless peek at head and tail made inline (the ring is often empty: no call then). The
  // calls are trampolined (`yield f()`): a plain primitive hands its operation straight over.
  let i = 0;
  for (;;) {
    while (i < nr) {
      const ev: IoEvent | null =
        (yield ctx.op.loadHead) === (yield ctx.op.loadTail) ? null : yield aio_read_evt(ctx, true);
      if (ev === null) break;
      if (!put_event(p, events + i * IO_EVENT_SIZE, ev)) return i > 0 ? i : -EFAULT;
      i++;
    }
    // Done when it has events (after a sleep it has one), or when it only polls.
    if (i > 0 || timeout === 0) return i;
    // Sleeps for the first event (a trampolined call: its operations do not pass through
    // here), then takes without sleeping what more may have arrived.
    const ret: number = yield wait_event_one(ctx, p, events, timeout);
    if (ret !== 1) return ret;
    i = 1;
  }
}

/**
 * The sleeping part of `read_events`: waits (interruptibly, on `ctx->wait`, exclusively) until
 * an event is there and copies it to `events`. 1, 0 on timeout (`timeout` > 0 ns; < 0 waits
 * forever), -EINTR or -EFAULT. `add_wait_queue_exclusive` and `remove_wait_queue` are made
 * inline (their operations, no frames); the wait entry is the context's, kept for its task.
 */
function* wait_event_one(ctx: Kioctx, p: Process, events: number, timeout: number): KernelCode<number> {
  // Few locals live across its yields (a generator saves and restores each live one at every
  // yield): the kernel, the task and the context's operations are read again where needed.
  const deadline = timeout < 0 ? -1 : ctx.k.now + timeout;
  let wait = ctx.eventsWait;
  {
    const t = current();
    if (wait === null || wait.private !== t || wait.on !== null) {
      wait = DECLARE_WAITQUEUE(`getevents:${t.name}`, t);
      ctx.eventsWait = wait;
    } else init_waitqueue_entry(wait, t);
  }
  // add_wait_queue_exclusive(&ctx->wait, &wait)
  yield ctx.wait.op.lock;
  if (add_exclusive_locked(ctx.wait, wait)) yield ctx.wait.op.setActive[1];
  yield ctx.wait.op.unlock;
  let ret: number;
  for (;;) {
    yield set_current_state(TASK_INTERRUPTIBLE);
    if ((yield ctx.op.loadHead) !== (yield ctx.op.loadTail)) {
      // aio_read_evt(ctx, true), inline (the event it wakes for: no frame, no event object).
      yield ctx.op.ringLock; // an implied read barrier
      const word: number = yield ctx.op.loadHead;
      const head = ctx.ring_head(word);
      if (head !== ctx.read_tail(head, yield ctx.op.loadTail)) {
        const l = ring_loads(ctx, head);
        const data: number = yield l[0];
        const obj: number = yield l[1];
        const res: number = yield l[2];
        const res2: number = yield l[3];
        yield RING_MB; // the head update after the event is read
        const nh = ctx.consumed(head);
        yield write_once_op(ctx.head, nh);
        ctx.mirrorIndex('head', nh);
        yield ctx.op.ringUnlock;
        ret = put_event_fields(p, events, data, obj, res, res2) ? 1 : -EFAULT;
        break;
      }
      if (word !== head) yield ring_repair_head(ctx);
      yield ctx.op.ringUnlock;
    }
    if (deadline >= 0 && ctx.k.now >= deadline) {
      ret = 0;
      break;
    }
    if (deadline < 0) yield schedule(ctx.eventsWaitName);
    else yield schedule_timeout(deadline - ctx.k.now, ctx.eventsWaitName);
    if (signal_pending(current())) {
      ret = -EINTR;
      break;
    }
  }
  yield set_current_state(TASK_RUNNING);
  // remove_wait_queue(&ctx->wait, &wait)
  yield ctx.wait.op.lock;
  if (remove_locked(ctx.wait, wait)) yield ctx.wait.op.setActive[0];
  yield ctx.wait.op.unlock;
  return ret;
}

/**
 * `__io_getevents(ctx_fd, events, nr, timeout)`. (A plain function handing back
 * `read_events`: one `yield*` level less on the hot path.)
 */
export function sys_io_getevents(
  p: Process,
  ctx_fd: number,
  events: number,
  nr: number,
  timeout: number,
): KernelCode<number> {
  const c = lookupCtx(p, ctx_fd);
  if (typeof c === 'number') return done(c);
  if (!Number.isInteger(nr) || nr < 0) return done(-EINVAL);
  if (nr === 0) return done(0);
  if (user_region(p, events, nr * IO_EVENT_SIZE, true) === null) return done(-EFAULT);
  let ns = -1;
  if (timeout !== 0) {
    ns = readTimeout(p, timeout);
    if (ns < 0) return done(ns);
  }
  return read_events(c, p, events, nr, ns);
}

/**
 * `__io_wait(ctx_fd, event_idx, key, timeout)`: waits until request `event_idx` (submitted from
 * the iocb at `key`) has completed — its event is in the ring, still to be reaped. 0 when it
 * has; -ETIME on timeout; -EINTR on a signal; -EINVAL if no such request.
 */
export function* sys_io_wait(
  p: Process,
  ctx_fd: number,
  event_idx: number,
  key: number,
  timeout: number,
): KernelCode<number> {
  const c = lookupCtx(p, ctx_fd);
  if (typeof c === 'number') return c;
  if (!Number.isInteger(event_idx) || event_idx < 0 || event_idx >= c.maxReqs) return -EINVAL;
  let ns = -1;
  if (timeout !== 0) {
    ns = readTimeout(p, timeout);
    if (ns < 0) return ns;
  }
  const req = c.reqs[event_idx]!;
  // The request's state is read under ctx->lock, as lookup_kiocb does.
  const pending = (): boolean => req.state !== 'free' && req.state !== 'done' && req.user_obj === key;
  yield* spin_lock_irqsave(c.lock);
  const wasPending = pending();
  const gen = req.gen;
  const completedBefore = req.completions > 0 && req.lastObj === key;
  yield* spin_unlock_irqrestore(c.lock);
  if (!wasPending) return completedBefore ? 0 : -EINVAL;
  const isDone = function* (): KernelCode<boolean> {
    yield* spin_lock_irqsave(c.lock);
    const d = req.gen !== gen || !pending();
    yield* spin_unlock_irqrestore(c.lock);
    return d;
  };
  const k = c.k;
  const t = current();
  const deadline = ns < 0 ? -1 : k.now + ns;
  const wait = DECLARE_WAITQUEUE(`io_wait:${t.name}`, t);
  let ret = 0;
  yield* add_wait_queue(c.wait, wait);
  for (;;) {
    yield* set_current_state(TASK_INTERRUPTIBLE);
    if (yield* isDone()) break;
    if (deadline >= 0 && k.now >= deadline) {
      ret = -ETIME;
      break;
    }
    if (deadline < 0) yield* schedule(`aio ctx${c.id} request ${event_idx}`);
    else yield* schedule_timeout(deadline - k.now, `aio ctx${c.id} request ${event_idx}`);
    if (signal_pending(t)) {
      ret = (yield* isDone()) ? 0 : -EINTR;
      break;
    }
  }
  yield* set_current_state(TASK_RUNNING);
  yield* remove_wait_queue(c.wait, wait);
  return ret;
}

/** Cancels `req` if it is still queued: its event (res -ECANCELED) goes to the ring. 0, or -EAGAIN. */
function* cancel_req(req: Kiocb, key: number): KernelCode<number> {
  const ctx = req.ctx;
  yield* spin_lock_irqsave(ctx.lock);
  const hook = req.cancel;
  const ok = req.state === 'queued' && req.user_obj === key && hook !== null;
  if (ok) {
    req.state = 'running'; // claimed by the canceller: the IO path's aio_start now fails
    req.cancel = null;
  }
  yield* spin_unlock_irqrestore(ctx.lock);
  if (!ok) return -EAGAIN;
  yield* hook!();
  ctx.k.emit('aio.cancel', { ctx: ctx.id, idx: req.key, res: -ECANCELED });
  ctx.k.count('aio.cancelled');
  yield* aio_complete(req, -ECANCELED);
  return 0;
}

/** `__io_cancel(ctx_fd, event_idx, key)`: 0 when cancelled (its event is in the ring), else -EAGAIN. */
export function* sys_io_cancel(
  p: Process,
  ctx_fd: number,
  event_idx: number,
  key: number,
): KernelCode<number> {
  const c = lookupCtx(p, ctx_fd);
  if (typeof c === 'number') return c;
  if (!Number.isInteger(event_idx) || event_idx < 0 || event_idx >= c.maxReqs) return -EINVAL;
  return yield* cancel_req(c.reqs[event_idx]!, key);
}

/**
 * Registers `/dev/aio` and the four syscalls (idempotent); applies `opts` to the limits; installs
 * the AIO members of the devices layer's file operations (`aio_install_devices`).
 */
export function aio_init(k: Kernel, opts: AioOptions = {}): void {
  set_aio_limits(k, opts);
  aio_install_devices();
  const st = syscalls(k);
  if (st.paths.has('/dev/aio')) return;
  register_path(k, '/dev/aio', aio_dev_open);
  register_mount(k, '/dev/aio/', aio_dev_open);
  register_syscall(k, '__submit_ios', sys_submit_ios as SyscallHandler);
  register_syscall(k, '__io_getevents', sys_io_getevents as SyscallHandler);
  register_syscall(k, '__io_wait', sys_io_wait as SyscallHandler);
  register_syscall(k, '__io_cancel', sys_io_cancel as SyscallHandler);
}
