/**
 * A small user-space library in the manner of early libaio, for scenarios and users.
 *
 * - `io_setup(p)`: opens `/dev/aio` and maps its ring; returns the context fd and ring address.
 * - `io_prep_pread/pwrite/fsync/fdsync/noop`: lay a 64-byte iocb out in user memory.
 * - `io_iocb_array`: writes the array of iocb pointers `__submit_ios` takes.
 * - `user_ring(p, ringAddr)` and `aio_ring_reap`: reap events straight from the mapped ring —
 *   read `tail`, `smp_rmb()`, copy the events, publish the new `head` — the way a user-space
 *   event loop avoids a syscall per event.
 * - `read_event` / `timespec`: helpers for events copied out by `__io_getevents` and for the
 *   timeout argument.
 *
 * These run in the calling process's context; user memory is written directly (user code
 * owns it), and the ring's shared words are read through the memory model.
 */
import type { Cell } from '../kernel/cell.js';
import { type KernelCode, READ_ONCE, smp_rmb, smp_store_release } from '../kernel/ops.js';
import { O_RDWR, type Process } from '../kernel/process.js';
import { kernel } from '../kernel/sched.js';
import { syscall } from '../kernel/syscalls.js';
import {
  IO_EVENT_SIZE,
  IOCB_CMD_FDSYNC,
  IOCB_CMD_FSYNC,
  IOCB_CMD_NOOP,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
  IOCB_SIZE,
  type IoEvent,
  type Kioctx,
  type RingSlot,
} from './kioctx.js';
import { aio_limits } from './limits.js';

function view(p: Process, addr: number, len: number): DataView {
  const v = p.mm.user_view(addr, len, true);
  if (v === null)
    throw new Error(`libaio: address 0x${addr.toString(16)} (+${len}) is not mapped writable in ${p.name}`);
  return new DataView(v.buffer, v.byteOffset, len);
}

/** Lays out an iocb at `addr`. */
export function io_prep(
  p: Process,
  addr: number,
  opcode: number,
  fd: number,
  buf: number,
  nbytes: number,
  offset: number,
  data = 0,
): void {
  const dv = view(p, addr, IOCB_SIZE);
  for (let i = 0; i < IOCB_SIZE; i += 4) dv.setUint32(i, 0, true);
  dv.setBigUint64(0, BigInt(data), true);
  dv.setUint16(16, opcode, true);
  dv.setUint32(20, fd >>> 0, true);
  dv.setBigUint64(24, BigInt(buf), true);
  dv.setBigUint64(32, BigInt(nbytes), true);
  dv.setBigInt64(40, BigInt(offset), true);
}

/** `io_prep_pread(iocb, fd, buf, count, offset)`. */
export function io_prep_pread(
  p: Process,
  iocb: number,
  fd: number,
  buf: number,
  count: number,
  offset: number,
  data = 0,
): void {
  io_prep(p, iocb, IOCB_CMD_PREAD, fd, buf, count, offset, data);
}
/** `io_prep_pwrite(iocb, fd, buf, count, offset)`. */
export function io_prep_pwrite(
  p: Process,
  iocb: number,
  fd: number,
  buf: number,
  count: number,
  offset: number,
  data = 0,
): void {
  io_prep(p, iocb, IOCB_CMD_PWRITE, fd, buf, count, offset, data);
}
/** `io_prep_fsync(iocb, fd)`. */
export function io_prep_fsync(p: Process, iocb: number, fd: number, data = 0): void {
  io_prep(p, iocb, IOCB_CMD_FSYNC, fd, 0, 0, 0, data);
}
/** `io_prep_fdsync(iocb, fd)`. */
export function io_prep_fdsync(p: Process, iocb: number, fd: number, data = 0): void {
  io_prep(p, iocb, IOCB_CMD_FDSYNC, fd, 0, 0, 0, data);
}
/** A no-op request on `fd` (completes at once with res 0). */
export function io_prep_noop(p: Process, iocb: number, fd: number, data = 0): void {
  io_prep(p, iocb, IOCB_CMD_NOOP, fd, 0, 0, 0, data);
}

/** The `aio_key` the kernel wrote into an iocb at submission (its `event_idx`). */
export function iocb_key(p: Process, iocb: number): number {
  return view(p, iocb, IOCB_SIZE).getUint32(8, true);
}

/** Writes the pointer array for `__submit_ios` at `addr` (8 bytes per iocb). */
export function io_iocb_array(p: Process, addr: number, iocbs: readonly number[]): void {
  const dv = view(p, addr, 8 * iocbs.length);
  iocbs.forEach((a, i) => {
    dv.setBigUint64(8 * i, BigInt(a), true);
  });
}

/** Writes a `struct timespec` for `ns` at `addr`. */
export function timespec(p: Process, addr: number, ns: number): void {
  const dv = view(p, addr, 16);
  dv.setBigInt64(0, BigInt(Math.floor(ns / 1e9)), true);
  dv.setBigInt64(8, BigInt(ns % 1e9), true);
}

/** Reads the i-th io_event of an array copied out by `__io_getevents`. */
export function read_event(p: Process, events: number, i: number): IoEvent {
  const dv = view(p, events + i * IO_EVENT_SIZE, IO_EVENT_SIZE);
  return {
    data: Number(dv.getBigUint64(0, true)),
    obj: Number(dv.getBigUint64(8, true)),
    res: Number(dv.getBigInt64(16, true)),
    res2: Number(dv.getBigInt64(24, true)),
  };
}

/** `io_setup`: opens a context and maps its ring: `{ fd, ring }`, or a negative errno in `fd`. */
export function* io_setup(): KernelCode<{ fd: number; ring: number }> {
  const fd = yield* syscall('open', '/dev/aio', O_RDWR);
  if (fd < 0) return { fd, ring: 0 };
  const ring = yield* syscall('mmap', 4096, 3, fd);
  return { fd, ring };
}

/** The shared words of a mapped ring, as user space sees them. */
export interface UserRing {
  readonly nr: number;
  readonly head: Cell;
  readonly tail: Cell;
  readonly slots: readonly RingSlot[];
  /** Mirrors a head user space published into the mapped bytes (the ring header's `head`). */
  readonly mirrorHead?: (head: number) => void;
}

/** The ring mapped at `ringAddr` in `p`. */
export function user_ring(p: Process, ringAddr: number): UserRing {
  const k = kernel();
  const ctx = aio_limits(k).contexts.find((c: Kioctx) => c.process === p && c.mapAddr === ringAddr);
  if (ctx === undefined)
    throw new Error(`user_ring: no AIO ring is mapped at 0x${ringAddr.toString(16)} in ${p.name}`);
  return {
    nr: ctx.nr,
    head: ctx.head,
    tail: ctx.tail,
    slots: ctx.slots,
    mirrorHead: (h) => ctx.mirrorIndex('head', h),
  };
}

/**
 * Reaps up to `max` events from the mapped ring without a syscall: reads `tail`, then (unless
 * `rmb` is false — the bug `aio-ring-reap` shows) `smp_rmb()`, copies the events, and publishes
 * the new `head` with a release store. `head` and `tail` are read as the 32-bit words they are,
 * modulo `nr`, whatever was stored in them.
 */
export function* aio_ring_reap(ring: UserRing, max: number, rmb = true): KernelCode<IoEvent[]> {
  const out: IoEvent[] = [];
  let head = ((yield* READ_ONCE(ring.head)) >>> 0) % ring.nr;
  const tail = ((yield* READ_ONCE(ring.tail)) >>> 0) % ring.nr;
  if (head === tail) return out;
  if (rmb) yield* smp_rmb();
  while (head !== tail && out.length < max) {
    const s = ring.slots[head]!;
    out.push({
      data: yield* READ_ONCE(s.data),
      obj: yield* READ_ONCE(s.obj),
      res: yield* READ_ONCE(s.res),
      res2: yield* READ_ONCE(s.res2),
    });
    head = (head + 1) % ring.nr;
  }
  yield* smp_store_release(ring.head, head);
  ring.mirrorHead?.(head);
  return out;
}
