/**
 * AIO data integrity, as a fast-check property: random mixes of asynchronous reads and writes
 * (through the page cache, with O_DSYNC, and direct: O_DIRECT and a raw device), aio_fsync and
 * synchronous calls, by two processes on 2 CPUs under random schedules, compared with a plain
 * model of the contents.
 *
 * Process A works on a file of the filesystem, process B on a region of the same disk beyond
 * the filesystem (buffered block device + raw device). Each does a sequence of steps: a
 * synchronous call, or a batch of up to four AIO requests submitted with one `__submit_ios` and
 * reaped with `__io_getevents`. Requests of one batch are made independent, as an application
 * must: two requests of which one writes never share a page, and a batch that extends the file
 * reads nothing past the old end. Tiny limits make every slow path happen: `aio-max-size` 8 KiB
 * (chunking), 16 KiB of pinnable memory (requests wait for pins), a 12-page cache (eviction),
 * and bdflush racing with everything.
 *
 * Checked: every batch is accepted whole; every accepted request yields exactly one event, with
 * the model's result (bytes, or 0 for fsync) and, for reads, the model's bytes; O_DSYNC writes
 * are on the disk when their event arrives; after every fsync (and at the end) the disk holds
 * the model; no stray event ever shows up; misaligned direct requests are refused with -EINVAL;
 * after `close`: no request active, `aio-nr` 0, nothing pinned; and no violation (a submitter
 * that slept would be one).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { IOCB_CMD_FDSYNC, IOCB_CMD_FSYNC, IOCB_CMD_PREAD, IOCB_CMD_PWRITE } from '../../src/aio/kioctx.js';
import { timespec } from '../../src/aio/libaio.js';
import { aio_stats } from '../../src/aio/stats.js';
import { aio_init } from '../../src/aio/syscalls.js';
import { EINVAL } from '../../src/kernel/errno.js';
import type { MemoryModel } from '../../src/kernel/memory.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { O_CREAT, O_DSYNC, O_RDWR, type Process } from '../../src/kernel/process.js';
import { create_process, syscall } from '../../src/kernel/syscalls.js';
import { fileTarget, regionTarget, same, smallMachine, type Target } from '../devices/small-machine.js';
import { type AioReq, aio_batch, aio_user, fill } from './helpers.js';

type ReqT = 'read' | 'write' | 'dsync' | 'dread' | 'dwrite' | 'fsync' | 'fdsync';
interface Req {
  readonly t: ReqT;
  readonly pos: number;
  readonly len: number;
  readonly seed: number;
}
type Op =
  | { readonly t: 'batch'; readonly reqs: readonly Req[] }
  | { readonly t: 'pwrite' | 'dwrite'; readonly pos: number; readonly len: number; readonly seed: number }
  | { readonly t: 'pread' | 'dread'; readonly pos: number; readonly len: number }
  | { readonly t: 'fsync' | 'misaligned' };

const FILE_SPAN = 24 * 1024;
const REGION_LEN = 48 * 1024;
const SLOT = 16 * 1024;

const sect = (max: number) => fc.integer({ min: 0, max: Math.floor(max / 512) }).map((n) => n * 512);
const anyPos = (max: number) =>
  fc.oneof(fc.nat(max), sect(Math.min(max, 8192)), fc.constantFrom(0, 4096, 4000));
const anyLen = fc.integer({ min: 1, max: 9_000 });
const dlen = sect(8_192).map((n) => n + 512);

function reqArb(span: number): fc.Arbitrary<Req> {
  return fc.oneof(
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constantFrom<ReqT>('read', 'write', 'dsync'),
        pos: anyPos(span),
        len: anyLen,
        seed: fc.nat(255),
      }),
    },
    {
      weight: 3,
      arbitrary: fc.record({
        t: fc.constantFrom<ReqT>('dread', 'dwrite'),
        pos: sect(span),
        len: dlen,
        seed: fc.nat(255),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constantFrom<ReqT>('fsync', 'fdsync'),
        pos: fc.constant(0),
        len: fc.constant(0),
        seed: fc.constant(0),
      }),
    },
  );
}

function opArb(span: number): fc.Arbitrary<Op> {
  return fc.oneof(
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('batch' as const),
        reqs: fc.array(reqArb(span), { minLength: 1, maxLength: 4 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('pwrite' as const),
        pos: anyPos(span),
        len: anyLen,
        seed: fc.nat(255),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('dwrite' as const),
        pos: sect(span),
        len: dlen,
        seed: fc.nat(255),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constantFrom('pread' as const, 'dread' as const),
        pos: sect(span),
        len: dlen,
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constantFrom('fsync' as const, 'misaligned' as const) }) },
  );
}

/** The model: bytes and a size (fixed for the device region). */

const isWrite = (t: ReqT) => t === 'write' || t === 'dsync' || t === 'dwrite';
const isRead = (t: ReqT) => t === 'read' || t === 'dread';
const pages = (r: { pos: number; len: number }): [number, number] => [
  Math.floor(r.pos / 4096),
  Math.floor((r.pos + r.len - 1) / 4096),
];

/** The requests of a batch an application may issue together (see the module comment). */
function independent(reqs: readonly Req[], tg: Target): Req[] {
  const size0 = tg.model.size;
  const clip = (r: Req): Req | null => {
    const len = Math.min(r.len, tg.span - r.pos);
    if (r.t === 'fsync' || r.t === 'fdsync') return r;
    if (len <= 0) return null;
    if ((r.t === 'dread' || r.t === 'dwrite') && len % 512 !== 0) return null;
    return { ...r, len };
  };
  const overlap = (a: Req, b: Req) => {
    const [a0, a1] = pages(a);
    const [b0, b1] = pages(b);
    return a0 <= b1 && b0 <= a1;
  };
  const kept: Req[] = [];
  for (const r0 of reqs) {
    const r = clip(r0);
    if (r === null || !isWrite(r.t)) continue;
    if (kept.some((k) => overlap(k, r))) continue;
    kept.push(r);
  }
  const extends_ = !tg.model.fixed && kept.some((w) => w.pos + w.len > size0);
  for (const r0 of reqs) {
    const r = clip(r0);
    if (r === null || isWrite(r.t)) continue;
    if (isRead(r.t)) {
      if (kept.some((k) => isWrite(k.t) && overlap(k, r))) continue;
      if (extends_ && r.pos + r.len > size0) continue;
    }
    kept.push(r);
  }
  return kept;
}

function* runOps(p: Process, tg: Target, ops: readonly Op[], errs: string[]): KernelCode<void> {
  const fdB = yield* syscall('open', tg.buffered, O_CREAT | O_RDWR);
  const fdS = yield* syscall('open', tg.buffered, O_RDWR | O_DSYNC);
  const fdD = yield* syscall('open', tg.direct, O_RDWR | tg.directFlags);
  if (fdB < 0 || fdS < 0 || fdD < 0) {
    errs.push(`${tg.label}: open failed ${fdB} ${fdS} ${fdD}`);
    return;
  }
  const u = yield* aio_user(p, 8);
  const wbuf = p.mm.mmap(4 * SLOT);
  const rbuf = p.mm.mmap(4 * SLOT);
  const m = tg.model;
  const check = (what: string, got: number | undefined, want: number) => {
    if (got !== want) errs.push(`${tg.label} ${what}: returned ${got}, model says ${want}`);
  };
  const checkDisk = (what: string) => {
    const d = same(tg.ondisk(), m.image());
    if (d !== null) errs.push(`${tg.label} ${what}: on-disk image differs from the model: ${d}`);
  };
  const expectRead = (pos: number, len: number) => (m.fixed ? m.read(pos, len) : m.read(pos, len));
  for (const [i, op] of ops.entries()) {
    const what = `op ${i} ${JSON.stringify(op)}`;
    switch (op.t) {
      case 'batch': {
        const reqs = independent(op.reqs, tg);
        if (reqs.length === 0) break;
        const wants: { res: number; data: Uint8Array | null }[] = [];
        const aio: AioReq[] = reqs.map((r, j) => {
          const wb = wbuf + j * SLOT;
          const rb = rbuf + j * SLOT;
          const pos = tg.base + r.pos;
          switch (r.t) {
            case 'read':
            case 'dread': {
              p.mm.copy_to_user(rb, new Uint8Array(r.len));
              const data = expectRead(r.pos, r.len);
              wants.push({ res: data.length, data });
              return { op: IOCB_CMD_PREAD, fd: r.t === 'read' ? fdB : fdD, buf: rb, len: r.len, pos };
            }
            case 'write':
            case 'dsync':
            case 'dwrite':
              p.mm.copy_to_user(wb, fill(r.seed, r.len));
              wants.push({ res: r.len, data: null });
              return {
                op: IOCB_CMD_PWRITE,
                fd: r.t === 'write' ? fdB : r.t === 'dsync' ? fdS : fdD,
                buf: wb,
                len: r.len,
                pos,
              };
            default:
              wants.push({ res: 0, data: null });
              return {
                op: r.t === 'fsync' ? IOCB_CMD_FSYNC : IOCB_CMD_FDSYNC,
                fd: fdB,
                buf: 0,
                len: 0,
                pos: 0,
              };
          }
        });
        const got = yield* aio_batch(u, aio);
        check(`${what} submitted`, got.submitted, aio.length);
        if (got.strays !== 0) errs.push(`${tg.label} ${what}: ${got.strays} stray events`);
        reqs.forEach((r, j) => {
          const w = wants[j]!;
          check(`${what} req ${j} (${r.t})`, got.res[j], w.res);
          if (w.data !== null) {
            const bytes = p.mm.copy_from_user(rbuf + j * SLOT, w.data.length)!;
            const d = same(bytes, w.data);
            if (d !== null) errs.push(`${tg.label} ${what} req ${j}: data differs: ${d}`);
          }
        });
        for (const r of reqs) if (isWrite(r.t)) m.write(r.pos, fill(r.seed, r.len));
        // O_DSYNC writes (and direct ones) are on the disk by the time their event arrived.
        const disk = tg.ondisk();
        for (const r of reqs)
          if (r.t === 'dsync' || r.t === 'dwrite') {
            const d = same(disk.subarray(r.pos, r.pos + r.len), fill(r.seed, r.len));
            if (d !== null) errs.push(`${tg.label} ${what} ${r.t} at ${r.pos}: not on the disk: ${d}`);
          }
        break;
      }
      case 'pwrite':
      case 'dwrite': {
        const len = Math.min(op.len, tg.span - op.pos);
        if (len <= 0 || (op.t === 'dwrite' && len % 512 !== 0)) break;
        const data = fill(op.seed, len);
        p.mm.copy_to_user(wbuf, data);
        check(
          what,
          yield* syscall('pwrite', op.t === 'pwrite' ? fdB : fdD, wbuf, len, tg.base + op.pos),
          len,
        );
        m.write(op.pos, data);
        break;
      }
      case 'pread':
      case 'dread': {
        const want = expectRead(op.pos, op.len);
        const r = yield* syscall('pread', op.t === 'pread' ? fdB : fdD, rbuf, op.len, tg.base + op.pos);
        check(what, r, m.fixed ? op.len : want.length);
        const d = same(
          p.mm.copy_from_user(rbuf, Math.max(0, Math.min(r, want.length)))!,
          want.subarray(0, Math.max(0, r)),
        );
        if (d !== null) errs.push(`${tg.label} ${what}: data differs: ${d}`);
        break;
      }
      case 'fsync':
        check(what, yield* syscall('fsync', fdB), 0);
        checkDisk(what);
        break;
      case 'misaligned': {
        const bad = yield* aio_batch(u, [
          { op: IOCB_CMD_PREAD, fd: fdD, buf: rbuf + 1, len: 512, pos: tg.base },
        ]);
        check(`${what} buf`, bad.submitted, -EINVAL);
        const bad2 = yield* aio_batch(u, [
          { op: IOCB_CMD_PWRITE, fd: fdD, buf: wbuf, len: 512, pos: tg.base + 100 },
        ]);
        check(`${what} pos`, bad2.submitted, -EINVAL);
        break;
      }
    }
  }
  check('final fsync', yield* syscall('fsync', fdB), 0);
  checkDisk('final fsync');
  // No event may be left over.
  timespec(p, u.mem + 8 * 64 + 8 * 8 + 8 * 32, 0);
  check(
    'left-over events',
    yield* syscall('__io_getevents', u.ctx, u.mem + 8 * 72, 8, u.mem + 8 * 64 + 8 * 8 + 8 * 32),
    0,
  );
  check('close ctx', yield* syscall('close', u.ctx), 0);
  for (const fd of [fdD, fdS, fdB]) check('close', yield* syscall('close', fd), 0);
}

interface Run {
  readonly seed: number;
  readonly a: readonly Op[];
  readonly b: readonly Op[];
  readonly timed: boolean;
  readonly memoryModel: MemoryModel;
}

function runOnce(r: Run): string[] {
  const { k, s } = smallMachine(r.seed, r.timed, r.memoryModel, 16 * 1024);
  aio_init(k, { ringNr: 8, aioMaxSize: 8 * 1024 });
  const errs: string[] = [];
  create_process(k, 'A', (p) => runOps(p, fileTarget(s, FILE_SPAN), r.a, errs));
  create_process(k, 'B', (p) => runOps(p, regionTarget(s, REGION_LEN), r.b, errs));
  const res = k.run({ maxSteps: 4_000_000 });
  if (res.status !== 'done')
    errs.push(`run ended ${res.status}: ${res.violations.map((v) => v.message).join('; ')}`);
  else if (res.violations.length > 0)
    errs.push(`violations: ${res.violations.map((v) => v.message).join('; ')}`);
  const st = aio_stats(k);
  if (st['aio.reqsActive'] !== 0 || st['aio.nr'] !== 0 || st['aio.pinned'] !== 0)
    errs.push(`after close: ${JSON.stringify(st)}`);
  return errs;
}

const runArb = (timed: boolean) =>
  fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    a: fc.array(opArb(FILE_SPAN), { minLength: 1, maxLength: 10 }),
    b: fc.array(opArb(REGION_LEN - SLOT), { minLength: 1, maxLength: 8 }),
    timed: fc.constant(timed),
    memoryModel: fc.constantFrom<MemoryModel>('sc', 'tso'),
  });

describe('AIO data integrity: page cache, O_DSYNC, O_DIRECT and raw, with sync calls', () => {
  test.prop([runArb(false)], { numRuns: 120 })('untimed, random schedules on 2 CPUs', (r) => {
    expect(runOnce(r)).toEqual([]);
  });

  test.prop([runArb(true)], { numRuns: 40 })('timed, with latency jitter from the Chooser', (r) => {
    expect(runOnce(r)).toEqual([]);
  });
});
