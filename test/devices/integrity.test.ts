/**
 * Data integrity, as a fast-check property: random sequences of write/read/pwrite/fsync/truncate
 * through the page cache, direct IO (O_DIRECT and a raw device) and both mixed on one device,
 * on 2 CPUs under random schedules, compared with a plain in-memory model of the contents.
 *
 * Process A works on a file of the filesystem (buffered and O_DIRECT descriptors on it);
 * process B on a region of the same disk beyond the filesystem, through the buffered block
 * device and the raw device. The bdflush daemon and the disk interrupt race with both, under a
 * page cache of a dozen pages (so eviction and throttling happen). Checked: every return value
 * equals the model's, every byte read equals the model's, after every fsync/fdatasync the bytes
 * on the device equal the model (nothing written and synced is lost), and at the end too.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { EBADF, EFAULT, EINVAL } from '../../src/kernel/errno.js';
import type { MemoryModel } from '../../src/kernel/memory.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { O_CREAT, O_DSYNC, O_RDWR, O_SYNC, type Process } from '../../src/kernel/process.js';
import { create_process, SEEK_SET, syscall } from '../../src/kernel/syscalls.js';
import { fileTarget, regionTarget, same, smallMachine, type Target } from './small-machine.js';

type Op =
  | { t: 'pwrite' | 'write' | 'dwrite'; pos: number; len: number; seed: number }
  | { t: 'pread' | 'read' | 'dread'; pos: number; len: number }
  | { t: 'fsync' | 'fdatasync' }
  | { t: 'truncate'; len: number }
  | { t: 'badfd' | 'fault' | 'misaligned' };

const FILE_SPAN = 24 * 1024;
const REGION_LEN = 64 * 1024;

function opArb(span: number, truncate: boolean): fc.Arbitrary<Op> {
  const len = fc.integer({ min: 1, max: 9_000 });
  const sect = (max: number) => fc.integer({ min: 0, max: Math.floor(max / 512) }).map((n) => n * 512);
  // Positions cluster on a few pages so that operations overlap often.
  const pos = (max: number) =>
    fc.oneof(fc.nat(max), sect(Math.min(max, 8192)), fc.constantFrom(0, 4096, 4000));
  const arbs: fc.Arbitrary<Op>[] = [
    fc.record({
      t: fc.constantFrom('pwrite' as const, 'write' as const),
      pos: pos(span),
      len,
      seed: fc.nat(255),
    }),
    fc.record({
      t: fc.constant('dwrite' as const),
      pos: sect(span),
      len: sect(9_000).map((n) => n + 512),
      seed: fc.nat(255),
    }),
    fc.record({ t: fc.constantFrom('pread' as const, 'read' as const), pos: pos(span + 4096), len }),
    fc.record({
      t: fc.constant('dread' as const),
      pos: sect(span + 4096),
      len: sect(9_000).map((n) => n + 512),
    }),
    fc.record({ t: fc.constantFrom('fsync' as const, 'fdatasync' as const) }),
    fc.record({ t: fc.constantFrom('badfd' as const, 'fault' as const, 'misaligned' as const) }),
  ];
  if (truncate) arbs.push(fc.record({ t: fc.constant('truncate' as const), len: fc.nat(span) }));
  return fc.oneof(...arbs);
}

/** The model: bytes and a size. */

function fill(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i * 13 + (i >> 9)) & 255;
  return out;
}

function* runOps(
  p: Process,
  tg: Target,
  ops: readonly Op[],
  errs: string[],
  syncFlags: number,
): KernelCode<void> {
  const fdB = yield* syscall('open', tg.buffered, O_CREAT | O_RDWR | syncFlags);
  const fdD = yield* syscall('open', tg.direct, O_RDWR | tg.directFlags);
  if (fdB < 0 || fdD < 0) {
    errs.push(`${tg.label}: open failed ${fdB} ${fdD}`);
    return;
  }
  const wbuf = p.mm.mmap(16 * 1024);
  const rbuf = p.mm.mmap(16 * 1024);
  const m = tg.model;
  const check = (what: string, got: number, want: number) => {
    if (got !== want) errs.push(`${tg.label} ${what}: returned ${got}, model says ${want}`);
  };
  const checkDisk = (what: string) => {
    const d = same(tg.ondisk(), m.image());
    if (d !== null) errs.push(`${tg.label} ${what}: on-disk image differs from the model: ${d}`);
  };
  for (const [i, op] of ops.entries()) {
    const what = `op ${i} ${JSON.stringify(op)}`;
    switch (op.t) {
      case 'pwrite':
      case 'write':
      case 'dwrite': {
        const len = Math.min(op.len, tg.span - op.pos);
        if (len <= 0) break;
        const data = fill(op.seed, len);
        p.mm.copy_to_user(wbuf, data);
        let r: number;
        if (op.t === 'pwrite') r = yield* syscall('pwrite', fdB, wbuf, len, tg.base + op.pos);
        else if (op.t === 'dwrite') r = yield* syscall('pwrite', fdD, wbuf, len, tg.base + op.pos);
        else {
          check(`${what} lseek`, yield* syscall('lseek', fdB, tg.base + op.pos, SEEK_SET), tg.base + op.pos);
          r = yield* syscall('write', fdB, wbuf, len);
        }
        check(what, r, m.write(op.pos, data));
        break;
      }
      case 'pread':
      case 'read':
      case 'dread': {
        const len = Math.min(op.len, 16 * 1024);
        const want = m.read(op.pos, len);
        let r: number;
        if (op.t === 'pread') r = yield* syscall('pread', fdB, rbuf, len, tg.base + op.pos);
        else if (op.t === 'dread') r = yield* syscall('pread', fdD, rbuf, len, tg.base + op.pos);
        else {
          yield* syscall('lseek', fdB, tg.base + op.pos, SEEK_SET);
          r = yield* syscall('read', fdB, rbuf, len);
        }
        // The block device is larger than the region: its reads return the whole count.
        check(what, r, tg.model.fixed ? len : want.length);
        const got = p.mm.copy_from_user(rbuf, Math.max(0, Math.min(r, want.length)))!;
        const d = same(got, want.subarray(0, got.length));
        if (d !== null) errs.push(`${tg.label} ${what}: data differs: ${d}`);
        break;
      }
      case 'fsync':
      case 'fdatasync':
        check(what, yield* syscall(op.t, fdB), 0);
        checkDisk(what);
        break;
      case 'truncate':
        check(what, yield* syscall('ftruncate', fdB, op.len), 0);
        m.truncate(op.len);
        break;
      case 'badfd':
        check(what, yield* syscall('pread', 57, rbuf, 100, 0), -EBADF);
        break;
      case 'fault':
        check(what, yield* syscall('pwrite', fdB, 0x5, 100, tg.base), -EFAULT);
        check(what, yield* syscall('pread', fdD, 0x200, 512, tg.base), -EFAULT);
        break;
      case 'misaligned':
        check(what, yield* syscall('pread', fdD, rbuf + 1, 512, tg.base), -EINVAL);
        check(what, yield* syscall('pwrite', fdD, wbuf, 700, tg.base), -EINVAL);
        check(what, yield* syscall('pwrite', fdD, wbuf, 512, tg.base + 100), -EINVAL);
        break;
    }
  }
  check('final fsync', yield* syscall('fsync', fdB), 0);
  checkDisk('final fsync');
  check('close', yield* syscall('close', fdD), 0);
  check('close', yield* syscall('close', fdB), 0);
}

interface Run {
  readonly seed: number;
  readonly a: readonly Op[];
  readonly b: readonly Op[];
  readonly timed: boolean;
  readonly memoryModel: MemoryModel;
  readonly sync: number;
}

function runOnce(r: Run): { errs: string[]; status: string; steps: number } {
  const { k, s } = smallMachine(r.seed, r.timed, r.memoryModel, 64 * 1024);
  const errs: string[] = [];
  const fileA = fileTarget(s, FILE_SPAN);
  const regionB = regionTarget(s, REGION_LEN);
  create_process(k, 'A', (p) => runOps(p, fileA, r.a, errs, r.sync));
  create_process(k, 'B', (p) => runOps(p, regionB, r.b, errs, 0));
  const res = k.run({ maxSteps: 3_000_000 });
  if (res.status !== 'done')
    errs.push(`run ended ${res.status}: ${res.violations.map((v) => v.message).join('; ')}`);
  else if (res.violations.length > 0)
    errs.push(`violations: ${res.violations.map((v) => v.message).join('; ')}`);
  return { errs, status: res.status, steps: res.steps };
}

const runArb = (timed: boolean) =>
  fc.record({
    seed: fc.integer({ min: 1, max: 1_000_000 }),
    a: fc.array(opArb(FILE_SPAN, true), { minLength: 1, maxLength: 14 }),
    b: fc.array(opArb(REGION_LEN - 16 * 1024, false), { minLength: 1, maxLength: 8 }),
    timed: fc.constant(timed),
    memoryModel: fc.constantFrom<MemoryModel>('sc', 'tso'),
    sync: fc.constantFrom(0, 0, O_DSYNC, O_SYNC),
  });

describe('data integrity through the page cache, O_DIRECT and raw IO', () => {
  test.prop([runArb(false)], { numRuns: 40 })('untimed, random schedules on 2 CPUs', (r) => {
    const out = runOnce(r);
    expect(out.errs).toEqual([]);
  });

  test.prop([runArb(true)], { numRuns: 15 })('timed, with latency jitter from the Chooser', (r) => {
    const out = runOnce(r);
    expect(out.errs).toEqual([]);
  });
});
