/**
 * The block layer (2.4's `drivers/block/ll_rw_blk.c` and the buffer-head IO entry points of
 * `fs/buffer.c`), on disks that hold real bytes.
 *
 * - `SparseStore`: a device's bytes, a Map from 4 KiB chunk to bytes, allocated on first write;
 *   unwritten bytes read as zeros (a 1 TiB device costs nothing until written).
 * - `BlockDevice`: what `generic_make_request` submits to. A device's `make_request` either
 *   queues the buffer (a disk) or remaps `b_rdev`/`b_rsector` and asks for a resubmit (RAID0).
 * - `Disk`: a request queue (`RequestQueue`) with plugging (unplugged through `tq_disk`), back
 *   and front merging of adjacent buffers into requests of up to `maxSectors`, an elevator
 *   (`noop`: FIFO; `sorted`: one-way C-SCAN by sector), one request in service at a time whose
 *   service time comes from the device's `LatencyModel`; completion is a timed event that raises
 *   the disk's interrupt, whose handler moves the bytes, starts the next request and calls each
 *   buffer's `b_end_io` in interrupt context.
 * - `submit_bh` (and its parts, for hot callers that make it inline: `submit_bh_check`,
 *   `submit_bh_route`, `bh_device`), `generic_make_request`, `ll_rw_block`,
 *   `end_buffer_io_sync`.
 *
 * Every request keeps the run alive (`k.hold()`) from its creation to its completion; a disk
 * reuses its served requests (and their completion events) for new ones.
 */
import { EIO } from '../kernel/errno.js';
import { counter, type Kernel } from '../kernel/kernel.js';
import { cpu, type KernelCode, type Op, set_bit, test_and_set_bit } from '../kernel/ops.js';
import { prebuilt } from '../kernel/prebuilt.js';
import { kernel } from '../kernel/sched.js';
import type { Spinlock } from '../kernel/spinlock.js';
import { spin_lock_irqsave, spin_unlock_irqrestore } from '../kernel/spinlock.js';
import { queue_task, tq_disk } from '../kernel/tqueue.js';
import {
  BH_Lock,
  BH_Req,
  type BufferHead,
  buffer_uptodate,
  mark_buffer_clean,
  mark_buffer_uptodate,
  test_clear_buffer_dirty,
  unlock_buffer,
  wait_on_buffer,
} from './buffer.js';
import { LatencyModel, type LatencyParams } from './latency.js';

/** Counters of `stats` this module adds to on hot paths. */
const BH_READ = counter('bh.read');
const BH_WRITE = counter('bh.write');
const BLK_READ_REQUESTS = counter('blk.readRequests');
const BLK_WRITE_REQUESTS = counter('blk.writeRequests');
const BLK_BYTES_READ = counter('blk.bytesRead');
const BLK_BYTES_WRITTEN = counter('blk.bytesWritten');

/** Transfer directions (2.4's values). */
export const READ = 0;
export const WRITE = 1;
/** A transfer direction. */
export type Rw = typeof READ | typeof WRITE;

/** Bytes in a hardware sector. */
export const SECTOR_SIZE = 512;
/** Bytes in a storage chunk of `SparseStore`. */
export const STORE_CHUNK = 4096;

/** CPU costs of the block layer in timed runs (ns). */
export interface BlockCosts {
  /** `submit_bh` / `__make_request` per buffer. */
  readonly submitNs: number;
  /** Interrupt handler, per request. */
  readonly irqNs: number;
  /** Interrupt handler, per buffer completed. */
  readonly irqPerBhNs: number;
}

/** Default block-layer costs (a 2001-era CPU). */
export const DEFAULT_BLOCK_COSTS: BlockCosts = Object.freeze({
  submitNs: 500,
  irqNs: 2_000,
  irqPerBhNs: 100,
});

/**
 * An unwritten chunk's bytes, copied out with `set` (a copy stays in generated code; `fill` is
 * a call into the runtime). Never written.
 */
const ZERO_CHUNK = new Uint8Array(STORE_CHUNK);

/** A device's bytes, allocated sparsely in 4 KiB chunks. */
export class SparseStore {
  readonly chunks = new Map<number, Uint8Array>();
  /** Copies [off, off+dst.length) into `dst`; unwritten bytes are zeros. */
  read(off: number, dst: Uint8Array): void {
    let done = 0;
    while (done < dst.length) {
      const pos = off + done;
      const ci = Math.floor(pos / STORE_CHUNK);
      const co = pos - ci * STORE_CHUNK;
      const n = Math.min(STORE_CHUNK - co, dst.length - done);
      const c = this.chunks.get(ci);
      if (c === undefined) dst.set(n === STORE_CHUNK ? ZERO_CHUNK : ZERO_CHUNK.subarray(0, n), done);
      else dst.set(n === STORE_CHUNK ? c : c.subarray(co, co + n), done);
      done += n;
    }
  }
  /** Copies `src` to [off, off+src.length). */
  write(off: number, src: Uint8Array): void {
    let done = 0;
    while (done < src.length) {
      const pos = off + done;
      const ci = Math.floor(pos / STORE_CHUNK);
      const co = pos - ci * STORE_CHUNK;
      const n = Math.min(STORE_CHUNK - co, src.length - done);
      let c = this.chunks.get(ci);
      if (c === undefined) {
        c = new Uint8Array(STORE_CHUNK);
        this.chunks.set(ci, c);
      }
      c.set(src.subarray(done, done + n), co);
      done += n;
    }
  }
  /** Zeroes [off, off+len) (whole chunks are dropped). */
  discard(off: number, len: number): void {
    const z = new Uint8Array(len);
    let done = 0;
    while (done < len) {
      const pos = off + done;
      const ci = Math.floor(pos / STORE_CHUNK);
      const co = pos - ci * STORE_CHUNK;
      const n = Math.min(STORE_CHUNK - co, len - done);
      if (co === 0 && n === STORE_CHUNK) this.chunks.delete(ci);
      else if (this.chunks.has(ci)) this.write(pos, z.subarray(0, n));
      done += n;
    }
  }
  /** Bytes allocated. */
  get allocatedBytes(): number {
    return this.chunks.size * STORE_CHUNK;
  }
}

/** A block device. */
export interface BlockDevice {
  readonly name: string;
  /** Size in bytes (a multiple of 4096). */
  readonly sizeBytes: number;
  /** Object id for visible steps on the device's plain state. */
  readonly obj: number;
  /**
   * Handles a buffer submitted to this device (`b_rdev`/`b_rsector` name the target). Returns
   * true when it remapped the buffer to another device, which `generic_make_request` then
   * submits it to.
   */
  make_request(rw: Rw, bh: BufferHead): KernelCode<boolean>;
  /** Reads bytes directly (outside the simulation: checks, scenario setup). */
  peek(off: number, len: number): Uint8Array;
  /** Writes bytes directly (outside the simulation: scenario setup). */
  poke(off: number, data: Uint8Array): void;
  /** Zeroes a range at once (a discard: the filesystem zeroes newly allocated blocks). */
  discard(off: number, len: number): void;
}

/** `struct request`: adjacent buffers of one direction, served as one transfer. */
export class Request {
  id: number;
  rw: Rw;
  sector: number;
  nsectors: number;
  readonly bhs: BufferHead[];
  /**
   * The disk's completion event for this request (it raises the interrupt), made on its first
   * service (a disk reuses its served requests: see `Disk.newRequest`).
   */
  onDone: (() => void) | null = null;
  constructor(id: number, rw: Rw, bh: BufferHead) {
    this.id = id;
    this.rw = rw;
    this.sector = bh.b_rsector;
    this.nsectors = bh.b_size >> 9;
    this.bhs = [bh];
  }
}

/** Added to the sort key of a request behind the head (`Disk.pick`): more than any sector. */
const BEHIND = 2 ** 52;

/** Elevators. */
export type Elevator = 'noop' | 'sorted';

/** `request_queue_t`. */
export class RequestQueue {
  readonly lock: Spinlock;
  /** Requests waiting for the device (not yet in service). */
  readonly pending: Request[] = [];
  /** The request in service, or null. */
  busy: Request | null = null;
  /** Plugged: requests gather until `tq_disk` runs the unplug routine. */
  plugged = false;
  readonly elevator: Elevator;
  /** Largest request, in sectors (2.4: 255 ~ 128 KiB). */
  maxSectors = 256;
  /** `spin_lock_irqsave(lock)` and its unlock, prebuilt (`prebuilt.ts`). */
  readonly lockOp: Op;
  readonly unlockOp: Op;
  constructor(lock: Spinlock, elevator: Elevator) {
    this.lock = lock;
    this.elevator = elevator;
    this.lockOp = prebuilt(spin_lock_irqsave(lock));
    this.unlockOp = prebuilt(spin_unlock_irqrestore(lock));
  }
}

/** Options of a disk. */
export interface DiskOptions {
  readonly sizeBytes: number;
  readonly model: LatencyParams;
  readonly jitter?: number;
  readonly elevator?: Elevator;
  readonly costs?: BlockCosts;
  /** Plugging on (default true). */
  readonly plug?: boolean;
}

/** A disk: sparse bytes, a request queue, a latency model and an interrupt. */
export class Disk implements BlockDevice {
  readonly name: string;
  readonly sizeBytes: number;
  readonly obj: number;
  readonly store = new SparseStore();
  readonly queue: RequestQueue;
  readonly model: LatencyModel;
  readonly costs: BlockCosts;
  readonly plug: boolean;
  private readonly k: Kernel;
  /** `cpu(costs.submitNs)` and the interrupt's cost for one buffer, prebuilt. */
  private readonly submitCostOp: Op;
  private readonly irqCost1Op: Op;
  /** Served requests, reused for new ones (nothing refers to a request once served). */
  private readonly idle: Request[] = [];
  /** The latency model's jitter draw (`k.choose(n, 'jitter')`), made once. */
  private readonly chooseJitter: (n: number) => number;
  /** The label of a request's completion event, before the request's id: `<name> req`. */
  private readonly reqLabel: string;
  /** Counters: requests served, bytes moved, busy time. */
  requests = 0;
  merges = 0;
  bytesRead = 0;
  bytesWritten = 0;
  busyNs = 0;
  constructor(k: Kernel, name: string, opts: DiskOptions) {
    if (!Number.isInteger(opts.sizeBytes) || opts.sizeBytes <= 0 || opts.sizeBytes % 4096 !== 0)
      throw new Error(`disk '${name}': size must be a positive multiple of 4096, got ${opts.sizeBytes}`);
    this.k = k;
    this.name = name;
    this.reqLabel = `${name} req`;
    this.sizeBytes = opts.sizeBytes;
    this.obj = k.newObjectId();
    this.queue = new RequestQueue(
      k.spinlock(`${name}.queue_lock`, 'io_request_lock'),
      opts.elevator ?? 'sorted',
    );
    this.model = new LatencyModel(opts.model, opts.jitter ?? 0);
    this.costs = opts.costs ?? DEFAULT_BLOCK_COSTS;
    this.plug = opts.plug ?? true;
    this.submitCostOp = prebuilt(cpu(this.costs.submitNs));
    this.irqCost1Op = prebuilt(cpu(this.costs.irqNs + this.costs.irqPerBhNs));
    this.chooseJitter = (n) => k.choose(n, 'jitter');
  }

  /** `new Request(id, rw, bh)`, reusing a served one when there is one. */
  private newRequest(id: number, rw: Rw, bh: BufferHead): Request {
    const req = this.idle.pop();
    if (req === undefined) return new Request(id, rw, bh);
    req.id = id;
    req.rw = rw;
    req.sector = bh.b_rsector;
    req.nsectors = bh.b_size >> 9;
    const bhs = req.bhs;
    if (bhs.length === 1) bhs[0] = bh;
    else {
      bhs.length = 0;
      bhs.push(bh);
    }
    return req;
  }

  peek(off: number, len: number): Uint8Array {
    const out = new Uint8Array(len);
    this.store.read(off, out);
    return out;
  }
  poke(off: number, data: Uint8Array): void {
    this.store.write(off, data);
  }
  discard(off: number, len: number): void {
    this.store.discard(off, len);
  }

  /** `__make_request`: merges the buffer into a pending request or queues a new one. */
  *make_request(rw: Rw, bh: BufferHead): KernelCode<boolean> {
    const k = this.k;
    const q = this.queue;
    const sector = bh.b_rsector;
    const ns = bh.b_size >> 9;
    if (sector < 0 || (sector + ns) * SECTOR_SIZE > this.sizeBytes) {
      k.count('blk.errors');
      if (bh.b_end_io !== null) yield* bh.b_end_io(bh, false);
      return false;
    }
    if (k.config.timed) yield this.submitCostOp;
    yield q.lockOp;
    // The queue's work under its lock, in plain code (`queue_locked`). A new request that finds
    // the device idle plugs the queue (the routine goes on `tq_disk`); else it may start now.
    const wasIdle = q.pending.length === 0 && q.busy === null;
    const req = this.queue_locked(rw, bh, sector, ns);
    if (req !== null) {
      if (wasIdle && this.plug && !q.plugged) {
        q.plugged = true;
        k.count('blk.plugs');
        yield queue_task(tq_disk(k), () => this.unplug(), `unplug ${this.name}`);
      } else {
        this.start_next();
      }
    }
    if (k.tracing)
      k.emit('io.submit', {
        dev: this.name,
        rw: rw === READ ? 'read' : 'write',
        sector,
        bytes: bh.b_size,
        req: req === null ? -1 : req.id,
      });
    yield q.unlockOp;
    return false;
  }

  /**
   * `__make_request` under the queue lock: merges `bh` into a pending request (null), or
   * queues a new one (returned; the caller plugs the queue or starts the device).
   */
  private queue_locked(rw: Rw, bh: BufferHead, sector: number, ns: number): Request | null {
    const k = this.k;
    const q = this.queue;
    const pending = q.pending;
    for (let i = pending.length - 1; i >= 0; i--) {
      const r = pending[i]!;
      if (r.rw !== rw || r.nsectors + ns > q.maxSectors) continue;
      if (r.sector + r.nsectors === sector) {
        r.bhs.push(bh);
        r.nsectors += ns;
      } else if (sector + ns === r.sector) {
        r.bhs.unshift(bh);
        r.sector = sector;
        r.nsectors += ns;
      } else continue;
      this.merges++;
      k.count('blk.merges');
      return null;
    }
    const req = this.newRequest(k.nextId('blk.request'), rw, bh);
    k.hold();
    this.insert(req);
    return req;
  }

  /** The elevator's insertion. */
  private insert(req: Request): void {
    this.queue.pending.push(req);
  }

  /** The elevator's choice of the next request (removes it from `pending`). */
  private pick(): Request | undefined {
    const q = this.queue;
    if (q.pending.length === 0) return undefined;
    if (q.elevator === 'noop') return q.pending.shift();
    // One-way C-SCAN: the lowest sector at or after the head, else the lowest overall (the
    // first such request on a tie).
    const head = this.model.head;
    const pending = q.pending;
    const n = pending.length;
    // One scan for the lowest key, the first on a tie: a sector behind the head counts BEHIND
    // more, so any request ahead comes first. (Arithmetic rather than a branch on `s < head`,
    // which random sectors make the processor mispredict half the time.)
    let i = 0;
    let bestKey = Number.POSITIVE_INFINITY;
    for (let j = 0; j < n; j++) {
      const s = pending[j]!.sector;
      const key = s + BEHIND * +(s < head);
      if (key < bestKey) {
        i = j;
        bestKey = key;
      }
    }
    // Removed in place, the others keeping their order (as `splice`, without its result array).
    const req = pending[i]!;
    for (let j = i + 1; j < n; j++) pending[j - 1] = pending[j]!;
    pending.pop();
    return req;
  }

  /** `generic_unplug_device`: the routine queued on `tq_disk`. */
  *unplug(): KernelCode<void> {
    const q = this.queue;
    yield* spin_lock_irqsave(q.lock);
    q.plugged = false;
    this.start_next();
    yield* spin_unlock_irqrestore(q.lock);
  }

  /** `request_fn`: starts the next request if the device is idle (caller holds the queue lock). */
  private start_next(): void {
    const q = this.queue;
    if (q.busy !== null || q.plugged) return;
    const req = this.pick();
    if (req === undefined) return;
    q.busy = req;
    const k = this.k;
    const ns = this.model.service(k.now, req.rw === WRITE, req.sector, req.nsectors, this.chooseJitter);
    this.busyNs += ns;
    if (k.tracing)
      k.emit('io.start', {
        dev: this.name,
        rw: req.rw === READ ? 'read' : 'write',
        sector: req.sector,
        bytes: req.nsectors * SECTOR_SIZE,
        req: req.id,
      });
    let onDone = req.onDone;
    if (onDone === null) {
      const onIrq = () => this.irq(req);
      onDone = () => {
        k.raise_irq(this.name, onIrq);
      };
      req.onDone = onDone;
    }
    k.after(ns, this.reqLabel, onDone, false, req.id);
  }

  /**
   * The interrupt's work under the queue lock: moves the bytes of `req`, accounts for it and
   * starts the next request.
   */
  private serve_locked(req: Request): void {
    const k = this.k;
    this.queue.busy = null;
    const bhs = req.bhs;
    for (let i = 0; i < bhs.length; i++) {
      const bh = bhs[i]!;
      const off = bh.b_rsector * SECTOR_SIZE;
      const data = bh.b_data.length === bh.b_size ? bh.b_data : bh.b_data.subarray(0, bh.b_size);
      if (req.rw === READ) this.store.read(off, data);
      else this.store.write(off, data);
    }
    const bytes = req.nsectors * SECTOR_SIZE;
    this.requests++;
    if (req.rw === READ) this.bytesRead += bytes;
    else this.bytesWritten += bytes;
    k.add((req.rw === READ ? BLK_READ_REQUESTS : BLK_WRITE_REQUESTS)(k));
    k.add((req.rw === READ ? BLK_BYTES_READ : BLK_BYTES_WRITTEN)(k), bytes);
    if (k.tracing)
      k.emit('io.complete', {
        dev: this.name,
        rw: req.rw === READ ? 'read' : 'write',
        sector: req.sector,
        bytes,
        req: req.id,
        res: bytes,
      });
    this.start_next();
  }

  /** The disk interrupt: completes `req` and starts the next one. */
  private *irq(req: Request): KernelCode<void> {
    // (The kernel and the queue are read again after each operation rather than kept in
    // locals: a generator saves and restores its live locals at every yield.)
    if (this.k.config.timed) {
      if (req.bhs.length === 1) yield this.irqCost1Op;
      else yield* cpu(this.costs.irqNs + this.costs.irqPerBhNs * req.bhs.length);
    }
    yield this.queue.lockOp;
    this.serve_locked(req);
    yield this.queue.unlockOp;
    for (let i = 0; i < req.bhs.length; i++) {
      const bh = req.bhs[i]!;
      if (bh.b_end_io === null) throw new Error(`buffer ${bh.name} completed without a b_end_io`);
      yield bh.b_end_io(bh, true); // a trampolined call
    }
    this.k.release();
    // Served: nothing refers to it any more (its event fired, its interrupt ends here).
    if (this.idle.length < 1024) this.idle.push(req);
  }
}

/** `generic_make_request(rw, bh)`: submits to `b_rdev`, following remaps (RAID0). */
export function* generic_make_request(rw: Rw, bh: BufferHead): KernelCode<void> {
  for (let guard = 0; guard < 64; guard++) {
    const dev = bh.b_rdev as BlockDevice | null;
    if (dev === null) throw new Error(`generic_make_request: buffer ${bh.name} has no device`);
    if (!(yield* dev.make_request(rw, bh))) return;
  }
  throw new Error(`generic_make_request: buffer ${bh.name} was remapped 64 times (a remap loop)`);
}

/**
 * `submit_bh(rw, bh)`: sends a locked buffer to its device (`b_dev`, block `b_blocknr` in units
 * of `b_size`); `b_end_io` runs (in interrupt context) when the IO is done. Never sleeps on the
 * IO: callers wait with `wait_on_buffer`, or let `b_end_io` continue their work (the AIO path).
 * The request may sit in a plugged queue until `tq_disk` runs.
 *
 * A hot caller makes it inline: `submit_bh_check(bh)`, `yield set_req_op(bh)` (the `set_bit`),
 * `submit_bh_route(rw, bh)`, then `yield bh_device(bh, guard).make_request(rw, bh)` for guard =
 * 0, 1 ... until it returns false (`generic_make_request`).
 */
export function* submit_bh(rw: Rw, bh: BufferHead): KernelCode<void> {
  submit_bh_check(bh);
  yield* set_bit(BH_Req, bh.b_state);
  submit_bh_route(rw, bh);
  // generic_make_request(rw, bh), inline (one `yield*` level less on every submission).
  for (let guard = 0; ; guard++) {
    const remapped: boolean = yield bh_device(bh, guard).make_request(rw, bh); // a trampolined call
    if (!remapped) return;
  }
}

/** The checks `submit_bh` makes first (a buffer without a device or a `b_end_io` is a misuse). */
export function submit_bh_check(bh: BufferHead): void {
  if (bh.b_dev === null) throw new Error(`submit_bh: buffer ${bh.name} has no b_dev`);
  if (bh.b_end_io === null) throw new Error(`submit_bh: buffer ${bh.name} has no b_end_io`);
}

/** What `submit_bh` does once BH_Req is set: the real device and sector, and the count. */
export function submit_bh_route(rw: Rw, bh: BufferHead): void {
  bh.b_rdev = bh.b_dev;
  bh.b_rsector = bh.b_blocknr * (bh.b_size >> 9);
  const k = kernel();
  k.add((rw === READ ? BH_READ : BH_WRITE)(k));
}

/**
 * The device `generic_make_request` submits `bh` to at its `guard`-th round (`b_rdev`); throws
 * when there is none, or after 64 remaps (a remap loop).
 */
export function bh_device(bh: BufferHead, guard: number): BlockDevice {
  if (guard >= 64)
    throw new Error(`generic_make_request: buffer ${bh.name} was remapped 64 times (a remap loop)`);
  const dev = bh.b_rdev as BlockDevice | null;
  if (dev === null) throw new Error(`generic_make_request: buffer ${bh.name} has no device`);
  return dev;
}

/** `end_buffer_io_sync`: the completion of `ll_rw_block` and synchronous buffer IO. */
export function* end_buffer_io_sync(bh: BufferHead, uptodate: boolean): KernelCode<void> {
  yield* mark_buffer_uptodate(bh, uptodate);
  yield* unlock_buffer(bh);
}

/**
 * `ll_rw_block(rw, bhs)`: starts IO on each buffer that needs it: locks it (skipping buffers
 * already locked), skips reads of up-to-date buffers and writes of clean ones, and submits the
 * rest with `end_buffer_io_sync`. Callers then `wait_on_buffer` each.
 */
export function* ll_rw_block(rw: Rw, bhs: readonly BufferHead[]): KernelCode<number> {
  let started = 0;
  for (const bh of bhs) {
    if ((yield* test_and_set_bit(BH_Lock, bh.b_state)) !== 0) continue;
    if (rw === WRITE ? !(yield* test_clear_buffer_dirty(bh)) : yield* buffer_uptodate(bh)) {
      yield* unlock_buffer(bh);
      continue;
    }
    bh.b_end_io = end_buffer_io_sync;
    yield* submit_bh(rw, bh);
    started++;
  }
  return started;
}

/** Reads or writes one buffer and waits for it: 0 or -EIO. */
/** The caller holds BH_Lock (as for `submit_bh`). */
export function* sync_bh_io(rw: Rw, bh: BufferHead): KernelCode<number> {
  bh.b_end_io = end_buffer_io_sync;
  if (rw === WRITE) yield* mark_buffer_clean(bh);
  yield* submit_bh(rw, bh);
  yield* wait_on_buffer(bh);
  return (yield* buffer_uptodate(bh)) ? 0 : -EIO;
}
