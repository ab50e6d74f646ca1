/**
 * The interpreter: runs one fuzz program on its machine and reports what went wrong.
 *
 * Each process of the program is a user process whose code makes the program's syscalls in
 * order, resolving symbolic arguments (the i-th fd it opened, its private buffer ...) at the
 * moment of the call. Around each call it applies the checks of `checks.ts`: the return value,
 * the events reaped (each accepted request's event exactly once), the bytes read against the
 * byte model. After the run: the run ended, no violation, accounting back to zero.
 *
 * The interpreter peeks at kernel state only to keep a program well-defined (is anything of
 * this process in flight; would this wait block forever), never to decide a check's outcome.
 */

import {
  ctxOfFile,
  IO_EVENT_SIZE,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
  IOCB_SIZE,
  type IoEvent,
  type Kioctx,
} from '../aio/kioctx.js';
import { aio_ring_reap, user_ring } from '../aio/libaio.js';
import { aio_limits } from '../aio/limits.js';
import { aio_stats } from '../aio/stats.js';
import type { Cell } from '../kernel/cell.js';
import type { Kernel } from '../kernel/kernel.js';
import { type KernelCode, READ_ONCE, WRITE_ONCE } from '../kernel/ops.js';
import { O_ACCMODE, O_APPEND, O_NONBLOCK, O_RDONLY, O_TRUNC, type Process } from '../kernel/process.js';
import { create_process, syscall } from '../kernel/syscalls.js';
import {
  type ContextEnd,
  checkAccounting,
  checkEventData,
  checkEventRes,
  checkReadBytes,
  checkReturn,
  type ReturnBounds,
} from './checks.js';
import { buildMachine, type ProcTargets } from './machine.js';
import type { ByteModel } from './model.js';
import {
  type BufArg,
  type FdArg,
  formatOperation,
  type Operation,
  type Program,
  type TimeoutArg,
} from './program.js';

/** Options of a run. */
export interface RunProgramOptions {
  /** Step budget of the run (default 400,000). */
  readonly maxSteps?: number;
}

/** One thing that went wrong. */
export interface Failure {
  /** `exception`, `return`, `event`, `data`, `accounting`, `run`, `violation`. */
  readonly kind: string;
  readonly message: string;
  /** Process and operation index, when the failure belongs to one. */
  readonly at?: string;
}

/** What a run of a program gave. */
export interface ProgramResult {
  readonly failures: readonly Failure[];
  readonly syscalls: number;
}

const PRIV_BYTES = 64 * 1024;
const SLOT_BYTES = 16 * 1024;
const NSLOTS = 8;
const SCRATCH_BYTES = 8192;
const ARR_OFF = 512;
const EVENTS_OFF = 1024;
const TIMESPEC_OFF = 4096 - 16;

/** An accepted request the interpreter follows. */
interface Accepted {
  readonly ctx: Kioctx;
  readonly fd: number;
  readonly key: number;
  readonly obj: number;
  readonly data: number;
  /** For a read whose bytes the model predicts: where it reads into and what it should find. */
  readonly check: {
    readonly model: ByteModel;
    readonly epoch: number;
    readonly addr: number;
    readonly want: { n: number; data: Uint8Array; known: Uint8Array };
  } | null;
  readonly slot: number;
  /** For a read, the user memory it writes: [start, end). */
  readonly dest: readonly [number, number] | null;
}

/** Runs `prog`; never throws for anything the program does. */
export function runProgram(prog: Program, opts: RunProgramOptions = {}): ProgramResult {
  const failures: Failure[] = [];
  let k: Kernel;
  let targets: ProcTargets[];
  try {
    ({ k, targets } = buildMachine(prog));
  } catch (e) {
    return {
      failures: [{ kind: 'exception', message: `building the machine: ${describe(e)}` }],
      syscalls: 0,
    };
  }
  const contexts = new Set<Kioctx>();
  const procs: Process[] = [];
  const counter = { syscalls: 0 };
  const env: Env = { k, targets, procs, contexts, failures, counter };
  prog.procs.forEach((proc, i) => {
    procs.push(create_process(k, `P${i}`, (p) => new Interp(env, p, i).run(proc.ops)));
  });
  try {
    const r = k.run({ maxSteps: opts.maxSteps ?? 400_000 });
    // A program may sleep past the end of the clock (a huge timeout: with no time limit given,
    // 'until' is CLOCK_MAX) or wait for events it never asked for: what it left in flight is
    // not checked then.
    if (r.status === 'until' || (r.status === 'hang' && waitsForNothing(k, contexts)))
      return { failures, syscalls: counter.syscalls };
    if (r.status !== 'done') failures.push({ kind: 'run', message: `the run ended '${r.status}'` });
    for (const v of r.violations) failures.push({ kind: 'violation', message: `${v.kind}: ${v.message}` });
    if (r.status === 'done') {
      const ends: ContextEnd[] = [...contexts].map((c) => ({
        id: c.id,
        dead: c.dead,
        reqsActive: c.reqsActive,
        submitted: c.submitted,
        published: c.published,
      }));
      const end = {
        contexts: ends,
        stats: aio_stats(k),
        procs: procs.map((p) => ({
          name: p.name,
          openFiles: p.files.filter((f) => f != null).length,
          pinned: p.mm.regions.reduce((n, r) => n + r.pinned, 0),
        })),
      };
      for (const m of checkAccounting(end)) failures.push({ kind: 'accounting', message: m });
    }
  } catch (e) {
    failures.push({ kind: 'exception', message: describe(e) });
  }
  return { failures, syscalls: counter.syscalls };
}

/**
 * Whether a hang is the program's own doing: every task left sleeps in `__io_getevents` on a
 * context with no request in flight and no event the kernel knows unconsumed (the program
 * waits, with no timeout, for events it never asked for or already took, or moved the ring's
 * head past), so nothing could ever wake it. A real kernel sleeps there forever too. Anything
 * else that hangs (an event there and nobody woken) is a lost wake-up.
 */
function waitsForNothing(k: Kernel, contexts: ReadonlySet<Kioctx>): boolean {
  const idle = new Set(
    [...contexts]
      .filter((c) => c.reqsActive === 0 && c.believed_head(c.head.value) === c.ktail)
      .map((c) => c.eventsWaitName),
  );
  return k.tasks.every((t) => t.exited || t.daemon || (t.sleeping && idle.has(t.waitingOn)));
}

/** An exception as one line: its class, message and innermost frame of the simulator. */
function describe(e: unknown): string {
  if (!(e instanceof Error)) return `thrown: ${String(e)}`;
  const frame = (e.stack ?? '').split('\n').find((l) => /\/(src|dist)\//.test(l));
  const where =
    frame === undefined
      ? ''
      : ` (${frame
          .trim()
          .replace(/^at /, '')
          .replace(/.*\/(src|dist)\//, '$1/')})`;
  return `${e.name}: ${e.message}${where}`;
}

/** Stores `v` as a 64-bit little-endian field as a C program's conversion would (garbage stays garbage). */
function put64any(dv: DataView, off: number, v: number): void {
  const b = Number.isFinite(v) ? BigInt.asUintN(64, BigInt(Math.trunc(v))) : 0xffff_ffff_ffff_ffffn;
  dv.setBigUint64(off, b, true);
}

/** What the interpreters of one run share. */
interface Env {
  readonly k: Kernel;
  readonly targets: readonly ProcTargets[];
  readonly procs: readonly Process[];
  /** Every context the program opened. */
  readonly contexts: Set<Kioctx>;
  readonly failures: Failure[];
  readonly counter: { syscalls: number };
}

/** The interpreter of one process. */
class Interp {
  private readonly fds: number[] = [];
  /** The fds of the AIO contexts it opened, and of everything else it opened. */
  private readonly ctxFds: number[] = [];
  private readonly dataFds: number[] = [];
  private readonly maps: number[] = [];
  private readonly rings: number[] = [];
  private readonly accepted: Accepted[] = [];
  /** Per context, the `aio_data` of accepted requests not yet reaped (with their count). */
  private readonly pending = new Map<Kioctx, Map<number, number>>();
  /** Contexts whose ring head or tail this process wrote: their events are the user's to make sense of. */
  private readonly ringTouched = new Set<Kioctx>();
  private readonly slotBusy: (Accepted | null)[] = new Array(NSLOTS).fill(null);
  private priv = 0;
  private slots = 0;
  private scratch = 0;
  private nextData: number;
  private opIndex = 0;
  private fill = 1;

  private readonly k: Kernel;
  private readonly p: Process;
  private readonly index: number;
  private readonly tg: ProcTargets;
  private readonly env: Env;

  constructor(env: Env, p: Process, index: number) {
    this.env = env;
    this.k = env.k;
    this.p = p;
    this.index = index;
    this.tg = env.targets[index]!;
    this.nextData = (index + 1) * 1_000_000;
  }

  private fail(kind: string, message: string): void {
    this.env.failures.push({ kind, message, at: `P${this.index} op ${this.opIndex}` });
  }

  *run(ops: readonly Operation[]): KernelCode<void> {
    const mm = this.p.mm;
    this.priv = mm.mmap(PRIV_BYTES);
    this.slots = mm.mmap(SLOT_BYTES * NSLOTS);
    this.scratch = mm.mmap(SCRATCH_BYTES);
    for (const [i, op] of ops.entries()) {
      this.opIndex = i;
      if (op.t === 'exit') return;
      yield* this.step(op);
    }
  }

  /** A syscall, counted, with its return value checked. */
  private *sys(name: string, bounds: ReturnBounds, ...args: unknown[]): KernelCode<number> {
    this.env.counter.syscalls++;
    const r = yield* syscall(name, ...args);
    const bad = checkReturn(name, r, bounds);
    if (bad !== null) this.fail('return', bad);
    return r;
  }

  // --- argument resolution -----------------------------------------------------------------

  private fd(a: FdArg | null): number {
    if (a === null) return -1;
    if (a.k === 'raw') return a.v;
    const list = a.k === 'fd' ? this.fds : a.k === 'ctx' ? this.ctxFds : this.dataFds;
    if (list.length === 0) return this.fds.length === 0 ? a.i : this.fds[a.i % this.fds.length]!;
    return list[a.i % list.length]!;
  }

  private inPrivate(addr: number): boolean {
    const lo = Math.min(this.priv, this.slots, this.scratch);
    const hi = Math.max(
      this.priv + PRIV_BYTES,
      this.slots + SLOT_BYTES * NSLOTS,
      this.scratch + SCRATCH_BYTES,
    );
    return addr >= lo && addr < hi;
  }

  private isRing(addr: number): boolean {
    return this.p.mm.find(addr, 1)?.what === 'aio-ring';
  }

  private buf(a: BufArg): number {
    if (a.k === 'priv') return this.priv;
    // A wild address never lands in the memory the model follows (the private buffer, the slots).
    if (a.k === 'raw') return this.inPrivate(a.v) ? 0 : a.v;
    if (this.maps.length === 0) return this.inPrivate(a.off) ? 0 : a.off;
    return this.maps[a.i % this.maps.length]! + a.off;
  }

  /** The model of what `fd` refers to, when this process owns it. */
  private target(fd: number): { model: ByteModel; append: boolean; pos: number } | null {
    const f = this.p.fget(fd);
    if (f === null) return null;
    const model =
      f.path === this.tg.file
        ? this.tg.fileModel
        : f.path === this.tg.disk || f.path === this.tg.raw
          ? this.tg.diskModel
          : null;
    // A block device ignores O_APPEND: only the file's writes go to its end.
    const append = (f.f_flags & O_APPEND) !== 0 && model === this.tg.fileModel;
    return model === null ? null : { model, append, pos: f.f_pos };
  }

  /** Whether a request of this process is in flight. */
  private quiet(): boolean {
    for (const c of aio_limits(this.k).contexts) if (c.process === this.p && c.reqsActive > 0) return false;
    return true;
  }

  private ctxOf(fd: number): Kioctx | null {
    return ctxOfFile(this.p.fget(fd));
  }

  /**
   * Whether a wait for events of `c` could never end (nothing in flight, nothing in the ring).
   * The ring's head and tail are taken as they will be once every store buffer drained: a head
   * the process moved by reaping may not have reached memory yet, but the kernel on its CPU
   * already reads it.
   */
  private wouldBlockForever(c: Kioctx | null): boolean {
    return (
      c !== null &&
      !c.dead &&
      c.reqsActive === 0 &&
      this.eventual(c.head) === this.eventual(c.tail) &&
      !this.p.tasks.some((t) => t.sigpending)
    );
  }

  /** The value `cell` will hold once the store buffers drained: a buffered store to it, else memory. */
  private eventual(cell: Cell): number {
    for (const cpu of this.k.cpus) {
      const v = cpu.sb.lookup(cell);
      if (v !== undefined) return v;
    }
    return cell.value;
  }

  /** Lays a timeout argument out in scratch memory: the pointer to pass. */
  private timeout(a: TimeoutArg, c: Kioctx | null): number {
    const at = this.scratch + TIMESPEC_OFF;
    const dv = new DataView(
      this.p.mm.user_view(at, 16, true)!.buffer,
      this.p.mm.user_view(at, 16, true)!.byteOffset,
      16,
    );
    let ptr: number;
    switch (a.k) {
      case 'none':
        ptr = 0;
        break;
      case 'ns':
        put64any(dv, 0, Math.floor(a.ns / 1e9));
        put64any(dv, 8, a.ns % 1e9);
        return at;
      case 'timespec':
        put64any(dv, 0, a.sec);
        put64any(dv, 8, a.nsec);
        return at;
      default:
        ptr = a.v;
    }
    // No timeout (a NULL pointer) waits forever: a poll instead where nothing could end the wait.
    if (ptr !== 0 || !this.wouldBlockForever(c)) return ptr;
    put64any(dv, 0, 0);
    put64any(dv, 8, 0);
    return at;
  }

  // --- events ------------------------------------------------------------------------------

  private pendingOf(c: Kioctx): Map<number, number> {
    let m = this.pending.get(c);
    if (m === undefined) this.pending.set(c, (m = new Map()));
    return m;
  }

  /** Events of `c` the process got (from `__io_getevents`, `read` or the mapped ring). */
  private onEvents(c: Kioctx, evs: readonly IoEvent[]): void {
    for (const ev of evs) {
      const bad = checkEventRes(ev.res);
      if (bad !== null) this.fail('event', bad);
      if (this.ringTouched.has(c)) continue;
      const stray = checkEventData(this.pendingOf(c), ev.data);
      if (stray !== null) {
        this.fail('event', `ctx ${c.id}: ${stray}`);
        continue;
      }
      const ai = this.accepted.findIndex((a) => a.ctx === c && a.data === ev.data);
      if (ai < 0) continue;
      const a = this.accepted[ai]!;
      this.accepted.splice(ai, 1);
      if (a.slot >= 0) this.slotBusy[a.slot] = null;
      if (a.check !== null && a.check.model.epoch === a.check.epoch && ev.res >= 0) {
        const got =
          this.p.mm.copy_from_user(a.check.addr, Math.max(0, Math.min(ev.res, a.check.want.n))) ??
          new Uint8Array(0);
        const d = checkReadBytes(`AIO read (aio_data ${a.data})`, ev.res, got, a.check.want);
        if (d !== null) this.fail('data', d);
      }
    }
  }

  /**
   * Decodes `n` io_events at `addr` (if the process can read them, and nothing may have written
   * over them since the kernel put them there: a read of its own still in flight, or the kernel
   * itself when they lie in a ring mapping, whose head it moves and whose events it publishes).
   */
  private eventsAt(addr: number, n: number): IoEvent[] | null {
    const end = addr + n * IO_EVENT_SIZE;
    if (this.accepted.some((a) => a.dest !== null && a.dest[0] < end && addr < a.dest[1])) return null;
    if (this.isRing(addr)) return null;
    const b = this.p.mm.copy_from_user(addr, n * IO_EVENT_SIZE);
    if (b === null || b.length !== n * IO_EVENT_SIZE) return null;
    const dv = new DataView(b.buffer);
    const out: IoEvent[] = [];
    for (let i = 0; i < n; i++) {
      const o = i * IO_EVENT_SIZE;
      out.push({
        data: Number(dv.getBigUint64(o, true)),
        obj: Number(dv.getBigUint64(o + 8, true)),
        res: Number(dv.getBigInt64(o + 16, true)),
        res2: Number(dv.getBigInt64(o + 24, true)),
      });
    }
    return out;
  }

  /** A context's fd was closed (or the process is leaving): its requests are done with. */
  private forget(c: Kioctx): void {
    for (let i = this.accepted.length - 1; i >= 0; i--) {
      const a = this.accepted[i]!;
      if (a.ctx !== c) continue;
      if (a.slot >= 0) this.slotBusy[a.slot] = null;
      this.accepted.splice(i, 1);
    }
    this.pending.delete(c);
  }

  // --- operations --------------------------------------------------------------------------

  private *step(op: Operation): KernelCode<void> {
    const p = this.p;
    switch (op.t) {
      case 'open':
        return yield* this.open(op.path, op.flags);
      case 'close': {
        const fd = this.fd(op.fd);
        const c = this.ctxOf(fd);
        const r = yield* this.sys('close', { exact: 0 }, fd);
        if (r === 0 && c !== null && c.dead) this.forget(c);
        return;
      }
      case 'read':
      case 'write':
      case 'pread':
      case 'pwrite':
        return yield* this.rw(op.t, this.fd(op.fd), op.buf, op.count, op.pos);
      case 'lseek':
        yield* this.sys('lseek', {}, this.fd(op.fd), op.off, op.whence);
        return;
      case 'fsync':
      case 'fdatasync':
        yield* this.sys(op.t, { exact: 0 }, this.fd(op.fd));
        return;
      case 'ftruncate': {
        const fd = this.fd(op.fd);
        const tg = this.target(fd);
        const quiet = this.quiet();
        const r = yield* this.sys('ftruncate', { exact: 0 }, fd, op.len);
        if (r === 0 && tg !== null) {
          if (quiet) tg.model.truncate(op.len);
          else tg.model.blurTruncate(op.len);
        }
        return;
      }
      case 'mmap': {
        const fd = this.fd(op.fd);
        const c = this.ctxOf(fd);
        const r = yield* this.sys('mmap', {}, op.len, op.prot, fd);
        if (r >= 0) {
          if (p.mm.find(r, 1) === undefined)
            this.fail('return', `mmap returned 0x${r.toString(16)}, which is not mapped`);
          this.maps.push(r);
          if (c !== null) this.rings.push(r);
        }
        return;
      }
      case 'munmap': {
        const addr = this.buf(op.addr);
        yield* this.sys('munmap', {}, addr);
        return;
      }
      case 'getpid':
        yield* this.sys('getpid', { exact: p.pid });
        return;
      case 'nosys':
        yield* this.sys('sys_fuzz_unknown', {});
        return;
      case 'nanosleep':
        yield* this.sys('nanosleep', Number.isFinite(op.ns) ? { max: op.ns } : {}, op.ns);
        return;
      case 'kill': {
        const q = this.env.procs[op.proc];
        yield* this.sys('kill', { exact: 0 }, q === undefined ? 99999 : q.pid);
        return;
      }
      case 'submit':
        return yield* this.submit(op);
      case 'getevents': {
        const fd = this.fd(op.ctx);
        const c = this.ctxOf(fd);
        const events = op.events === null ? this.scratch + EVENTS_OFF : this.buf(op.events);
        const to = this.timeout(op.timeout, c);
        const r = yield* this.sys(
          '__io_getevents',
          Number.isInteger(op.nr) ? { max: op.nr } : {},
          fd,
          events,
          op.nr,
          to,
        );
        if (r > 0 && c !== null) {
          const evs = this.eventsAt(events, r);
          if (evs !== null) this.onEvents(c, evs);
        }
        return;
      }
      case 'io_wait':
      case 'io_cancel': {
        const fd = this.fd(op.ctx);
        const c = this.ctxOf(fd);
        let idx: number;
        let key: number;
        if (op.req.k === 'raw') ({ idx, key } = op.req);
        else {
          const a = this.accepted.length === 0 ? undefined : this.accepted[op.req.i % this.accepted.length];
          idx = a?.key ?? 0;
          key = a?.obj ?? 0;
        }
        if (op.t === 'io_cancel') {
          yield* this.sys('__io_cancel', { exact: 0 }, fd, idx, key);
          return;
        }
        const to = this.timeout(op.timeout, c);
        yield* this.sys('__io_wait', { exact: 0 }, fd, idx, key, to);
        return;
      }
      case 'ring-write':
        return yield* this.ringWrite(op.ring, op.which, op.v);
      case 'ring-reap':
        return yield* this.ringReap(op.ring, op.max);
      default:
        throw new Error(`fuzz interpreter: no case for ${formatOperation(op)}`);
    }
  }

  private *open(path: string, flags: number): KernelCode<void> {
    const i = this.index;
    const real =
      path === 'file'
        ? this.tg.file
        : path === 'disk'
          ? this.tg.disk
          : path === 'raw'
            ? this.tg.raw
            : path === 'aio'
              ? '/dev/aio'
              : path === 'aio-small'
                ? '/dev/aio/2'
                : path === 'aiotest'
                  ? '/dev/aiotest'
                  : path === 'other-file'
                    ? `/mnt/new${i}`
                    : path === 'bogus'
                      ? '/nope'
                      : path === 'aio-bad'
                        ? '/dev/aio/0'
                        : '';
    const quiet = this.quiet();
    const r = yield* this.sys('open', { max: this.p.maxFiles - 1 }, real, flags);
    this.fds.push(r);
    if (r < 0) return;
    const c = this.ctxOf(r);
    if (c !== null) this.env.contexts.add(c);
    (c === null ? this.dataFds : this.ctxFds).push(r);
    if (real === this.tg.file && (flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== O_RDONLY) {
      if (quiet) this.tg.fileModel.truncate(0);
      else this.tg.fileModel.blurTruncate(0);
    }
  }

  private *rw(
    name: 'read' | 'write' | 'pread' | 'pwrite',
    fd: number,
    bufArg: BufArg,
    count: number,
    pos: number,
  ): KernelCode<void> {
    const p = this.p;
    const buf = this.buf(bufArg);
    const isWrite = name === 'write' || name === 'pwrite';
    const c = this.ctxOf(fd);
    if (!isWrite && c !== null) {
      // read() of a context waits for its events: not when none can come.
      const f = p.fget(fd)!;
      if ((f.f_flags & O_NONBLOCK) === 0 && this.wouldBlockForever(c)) return;
    }
    const tg = this.target(fd);
    const quiet = this.quiet();
    const at = name === 'pread' || name === 'pwrite' ? pos : (tg?.pos ?? 0);
    let data: Uint8Array | null = null;
    if (isWrite && Number.isInteger(count) && count > 0) {
      if (bufArg.k === 'priv' && count <= PRIV_BYTES) {
        const b = new Uint8Array(count);
        const s = this.fill++;
        for (let j = 0; j < count; j++) b[j] = (s * 37 + j * 13 + (j >> 8)) & 255;
        p.mm.copy_to_user(buf, b);
      }
      if (!this.isRing(buf)) data = p.mm.copy_from_user(buf, count);
    }
    // What a read should return, predicted before it runs (nothing of the program changes the
    // model meanwhile: the process is in this call).
    let want: { n: number; data: Uint8Array; known: Uint8Array } | null = null;
    const epoch = tg?.model.epoch ?? 0;
    if (!isWrite && tg !== null && Number.isInteger(at) && at >= 0 && Number.isInteger(count) && count >= 0)
      if (bufArg.k === 'priv' || quiet) want = tg.model.expect(at, count);
    const bounds = Number.isInteger(count) && count >= 0 ? { max: count } : {};
    const r =
      name === 'read' || name === 'write'
        ? yield* this.sys(name, bounds, fd, buf, count)
        : yield* this.sys(name, bounds, fd, buf, count, pos);
    if (tg === null || r < 0) {
      if (r > 0 && c !== null && !isWrite) {
        const evs = this.eventsAt(buf, Math.floor(r / IO_EVENT_SIZE));
        if (evs !== null) this.onEvents(c, evs);
      }
      return;
    }
    if (isWrite) {
      const wpos = tg.append ? tg.model.size : at;
      if (r > 0 && quiet && data !== null && (!tg.append || tg.model.sizeKnown))
        tg.model.write(wpos, data.subarray(0, r));
      else if (r > 0) {
        if (tg.append) tg.model.blurTruncate(tg.model.size);
        else tg.model.blur(at, count);
      }
      return;
    }
    if (want !== null && tg.model.epoch === epoch) {
      const got = p.mm.copy_from_user(buf, Math.max(0, Math.min(r, want.n))) ?? new Uint8Array(0);
      const d = checkReadBytes(
        `${name}(${this.tg.file === p.fget(fd)?.path ? 'file' : 'disk'} @${at}, ${count})`,
        r,
        got,
        want,
      );
      if (d !== null) this.fail('data', d);
    }
  }

  private *submit(op: Extract<Operation, { t: 'submit' }>): KernelCode<void> {
    const p = this.p;
    const fd = this.fd(op.ctx);
    const c = this.ctxOf(fd);
    interface Laid {
      readonly addr: number;
      readonly data: number;
      readonly slot: number;
      readonly tg: ReturnType<Interp['target']>;
      readonly op: number;
      readonly buf: number;
      readonly len: number;
      readonly pos: number;
      /** Whether the model can follow its length and offset. */
      readonly exact: boolean;
    }
    const laid: Laid[] = [];
    const taken = new Set<number>();
    for (const [j, a] of op.iocbs.entries()) {
      const addr = this.scratch + j * IOCB_SIZE;
      const v = p.mm.user_view(addr, IOCB_SIZE, true)!;
      if (a.k === 'ptr') {
        laid.push({ addr: a.v, data: -1, slot: -1, tg: null, exact: false, op: -1, buf: 0, len: 0, pos: 0 });
        continue;
      }
      if (a.k === 'bytes') {
        v.set(a.bytes);
        laid.push({ addr, data: -1, slot: -1, tg: null, exact: false, op: -1, buf: 0, len: 0, pos: 0 });
        continue;
      }
      // The kernel reads aio_fildes as 32 bits: a wider fd names the file of its low word.
      const ifd = this.fd(a.fd);
      const kfd = Number.isFinite(ifd) ? Math.trunc(ifd) >>> 0 : 0xffffffff;
      let buf: number;
      let slot = -1;
      if (a.buf.k === 'priv') {
        // A request that fits a slot gets one of its own (none of the batch's, none a request in
        // flight reads into); the others share the last slot, whose bytes are never checked.
        const fits = Number.isInteger(a.len) && a.len >= 0 && a.len <= SLOT_BYTES;
        slot = fits ? this.slotBusy.findIndex((b, i) => b === null && i < NSLOTS - 1 && !taken.has(i)) : -1;
        if (slot >= 0) taken.add(slot);
        buf = this.slots + (slot < 0 ? NSLOTS - 1 : slot) * SLOT_BYTES;
        if (a.op === IOCB_CMD_PWRITE && Number.isInteger(a.len) && a.len > 0 && a.len <= SLOT_BYTES) {
          const b = new Uint8Array(a.len);
          const s = this.fill++;
          for (let i = 0; i < a.len; i++) b[i] = (s * 53 + i * 7 + (i >> 9)) & 255;
          p.mm.copy_to_user(buf, b);
        }
      } else buf = this.buf(a.buf);
      const data = this.nextData++;
      const dv = new DataView(v.buffer, v.byteOffset, IOCB_SIZE);
      v.fill(0);
      put64any(dv, 0, data);
      dv.setUint16(16, a.op & 0xffff, true);
      dv.setUint32(20, kfd, true);
      put64any(dv, 24, buf);
      put64any(dv, 32, a.len);
      put64any(dv, 40, a.pos);
      // The length and offset as the kernel reads them (a fraction truncated, a negative length
      // wrapped); the model follows a request only where they are plain numbers.
      const len = Number(dv.getBigUint64(32, true));
      const pos = Number(dv.getBigInt64(40, true));
      const exact = Number.isSafeInteger(len) && Number.isSafeInteger(pos) && pos >= 0;
      laid.push({ addr, data, slot, tg: this.target(kfd), exact, op: a.op, buf, len, pos });
    }
    const arr = op.arr === null ? this.scratch + ARR_OFF : this.buf(op.arr);
    const av = p.mm.user_view(arr, 8 * laid.length, true);
    // (A view comes back short where a mapping is not backed to its end: nothing is laid there.)
    if (av !== null && av.length === 8 * laid.length) {
      const dv = new DataView(av.buffer, av.byteOffset, 8 * laid.length);
      for (const [j, l] of laid.entries()) put64any(dv, 8 * j, l.addr);
    }
    const nr = laid.length + op.nrDelta;
    // What the kernel will find: the pointers and the iocbs they point at, whether laid by this
    // call or left in memory by an earlier one.
    interface Seen {
      readonly ptr: number;
      readonly data: number;
      readonly op: number;
      readonly fd: number;
      readonly len: number;
      readonly pos: number;
      /** For a read, the user memory it writes: [start, end). */
      readonly dest: readonly [number, number] | null;
    }
    const seen: Seen[] = [];
    const span = Number.isInteger(nr) && nr > 0 ? Math.min(nr, 64) : 0;
    const ptrs = p.mm.copy_from_user(arr, 8 * span);
    // (A copy may come back short where a mapping is not backed to its end: the kernel's own
    // accesses there are what the checks look at.)
    if (ptrs !== null && ptrs.length === 8 * span)
      for (let j = 0; j < span; j++) {
        const ptr = Number(new DataView(ptrs.buffer).getBigUint64(8 * j, true));
        const iocb = p.mm.copy_from_user(ptr, IOCB_SIZE);
        if (iocb === null || iocb.length !== IOCB_SIZE) {
          seen.push({ ptr, data: -1, op: -1, fd: -1, len: 0, pos: 0, dest: null });
          continue;
        }
        const iv = new DataView(iocb.buffer);
        const op = iv.getUint16(16, true);
        const buf = iv.getBigUint64(24, true);
        const len = iv.getBigUint64(32, true);
        seen.push({
          ptr,
          data: Number(iv.getBigUint64(0, true)),
          op,
          fd: iv.getUint32(20, true),
          len: Number(len),
          pos: Number(iv.getBigInt64(40, true)),
          dest: op === IOCB_CMD_PREAD ? [Number(buf), Number(buf + len)] : null,
        });
      }
    const quietBefore = this.quiet();
    const r = yield* this.sys(
      '__submit_ios',
      Number.isInteger(nr) && nr >= 0 ? { max: nr } : {},
      fd,
      nr,
      arr,
    );
    if (r <= 0 || c === null) return;
    for (let j = 0; j < r; j++) {
      const s = seen[j];
      if (s === undefined) continue;
      const pend = this.pendingOf(c);
      pend.set(s.data, (pend.get(s.data) ?? 0) + 1);
      const l = laid.find((x) => x.addr === s.ptr && x.data === s.data);
      const key = new DataView(
        p.mm.copy_from_user(s.ptr, IOCB_SIZE)?.buffer ?? new ArrayBuffer(IOCB_SIZE),
      ).getUint32(8, true);
      let check: Accepted['check'] = null;
      let slot = -1;
      const wtg = s.op === IOCB_CMD_PWRITE ? this.target(s.fd) : null;
      if (wtg !== null) {
        // An appending request may land at the end or, on the direct path, where it was aimed; one
        // the model cannot follow, anywhere.
        if (!Number.isSafeInteger(s.len) || !Number.isSafeInteger(s.pos) || s.pos < 0)
          wtg.model.blurTruncate(0);
        else wtg.model.blur(s.pos, s.len);
        if (wtg.append) wtg.model.blurTruncate(wtg.model.size);
      }
      if (l !== undefined && l.slot >= 0 && l.op === IOCB_CMD_PREAD) {
        slot = l.slot;
        const want = l.tg !== null && l.exact ? l.tg.model.expect(l.pos, l.len) : null;
        if (want !== null) check = { model: l.tg!.model, epoch: -1, addr: l.buf, want };
      }
      const acc: Accepted = { ctx: c, fd, key, obj: s.ptr, data: s.data, check, slot, dest: s.dest };
      this.accepted.push(acc);
      if (slot >= 0) this.slotBusy[slot] = acc;
    }
    // A read's prediction holds only if no write of this batch or later lands first: the epoch
    // after this batch's own writes.
    for (const a of this.accepted)
      if (a.check !== null && a.check.epoch === -1) {
        const batchWrites = seen
          .slice(0, r)
          .some((s) => s.op === IOCB_CMD_PWRITE && this.target(s.fd)?.model === a.check!.model);
        (a as { check: Accepted['check'] }).check =
          batchWrites || !quietBefore ? null : { ...a.check, epoch: a.check.model.epoch };
      }
  }

  /** The context whose ring is mapped at the i-th ring address, if it still is. */
  private ringCtx(i: number): { c: Kioctx; addr: number } | null {
    if (this.rings.length === 0) return null;
    const addr = this.rings[i % this.rings.length]!;
    const c = aio_limits(this.k).contexts.find((x) => x.process === this.p && x.mapAddr === addr);
    return c === undefined || !this.isRing(addr) ? null : { c, addr };
  }

  private *ringWrite(i: number, which: 'head' | 'tail', v: number): KernelCode<void> {
    const rc = this.ringCtx(i);
    if (rc === null) return;
    this.ringTouched.add(rc.c);
    const ur = user_ring(this.p, rc.addr);
    yield* WRITE_ONCE(which === 'head' ? ur.head : ur.tail, v);
    const bytes = this.p.mm.user_view(rc.addr + (which === 'head' ? 8 : 12), 4, true);
    if (bytes !== null)
      new DataView(bytes.buffer, bytes.byteOffset, 4).setUint32(
        0,
        Number.isFinite(v) ? Math.trunc(v) >>> 0 : 0,
        true,
      );
  }

  private *ringReap(i: number, max: number): KernelCode<void> {
    const rc = this.ringCtx(i);
    if (rc === null) return;
    const ur = user_ring(this.p, rc.addr);
    // A reaper reads the ring's header first; a head or tail it cannot use is left alone.
    const ok = (x: number) => Number.isInteger(x) && x >= 0 && x < ur.nr;
    if (!ok(yield* READ_ONCE(ur.head)) || !ok(yield* READ_ONCE(ur.tail))) return;
    const evs = yield* aio_ring_reap(ur, max);
    this.onEvents(rc.c, evs);
  }
}
