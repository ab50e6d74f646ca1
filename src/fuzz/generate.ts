/**
 * The program generator: fast-check arbitraries for `Program`s, so that a failing program
 * shrinks (fewer processes, fewer operations, smaller numbers) to a minimal one.
 *
 * Arguments are mostly valid (so that programs get somewhere: files opened, contexts made,
 * requests in flight) with garbage mixed in at every place: raw fds and addresses, lying
 * lengths, reserved iocb fields set, unknown opcodes, bad timespecs, negative and fractional
 * numbers, absurd mapping lengths, huge sleeps and timeouts, writes to the mapped ring's head
 * and tail.
 */

import fc from 'fast-check';
import {
  IOCB_CMD_FDSYNC,
  IOCB_CMD_FSYNC,
  IOCB_CMD_NOOP,
  IOCB_CMD_POLL,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
} from '../aio/kioctx.js';
import type { MemoryModel } from '../kernel/memory.js';
import {
  O_APPEND,
  O_CREAT,
  O_DIRECT,
  O_DSYNC,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_SYNC,
  O_TRUNC,
  O_WRONLY,
} from '../kernel/process.js';
import type { BufArg, FdArg, IocbArg, Operation, PathArg, Program, ReqArg, TimeoutArg } from './program.js';

/** Options of the generator. */
export interface GenOptions {
  /** Most processes in a program (default 3). */
  readonly maxProcs?: number;
  /** Most operations per process (default 24). */
  readonly maxOps?: number;
}

/** Numbers user space may pass where a count, size or offset is expected. */
const hostile: fc.Arbitrary<number> = fc.constantFrom(
  -1,
  -4096,
  0.5,
  2 ** 31,
  2 ** 32,
  2 ** 32 + 512,
  2 ** 53 - 1,
  Number.MAX_SAFE_INTEGER + 2,
  Number.NaN,
  Number.POSITIVE_INFINITY,
);

/** A length: small, sector-sized, page-sized, or hostile. */
const lenArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 9000 }) },
  { weight: 4, arbitrary: fc.integer({ min: 1, max: 16 }).map((n) => n * 512) },
  { weight: 1, arbitrary: fc.constantFrom(4096, 8192, 32768) },
  { weight: 1, arbitrary: hostile },
);

/** A file position: near the start, sector aligned, or hostile. */
const posArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 20000 }) },
  { weight: 4, arbitrary: fc.integer({ min: 0, max: 40 }).map((n) => n * 512) },
  { weight: 1, arbitrary: fc.constantFrom(2 ** 40, 1024 * 1024 - 512, 2 ** 20) },
  { weight: 1, arbitrary: hostile },
);

/** An fd, most often of the kind `kind` (an AIO context, or a file or device). */
function fdOf(kind: 'ctx' | 'data'): fc.Arbitrary<FdArg> {
  return fc.oneof(
    { weight: 8, arbitrary: fc.record({ k: fc.constant(kind), i: fc.nat(3) }) },
    { weight: 2, arbitrary: fdArb },
  );
}

const fdArb: fc.Arbitrary<FdArg> = fc.oneof(
  { weight: 9, arbitrary: fc.record({ k: fc.constant('fd' as const), i: fc.nat(7) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('raw' as const),
      v: fc.oneof(fc.constantFrom(-1, 0, 63, 64, 1e6), hostile),
    }),
  },
);

/** Garbage addresses: low, unmapped, past 2^32, non-integers. */
const rawAddr: fc.Arbitrary<number> = fc.oneof(fc.constantFrom(0, 1, 4096, 0xfff0_0000, 2 ** 47), hostile);

const bufArb: fc.Arbitrary<BufArg> = fc.oneof(
  { weight: 6, arbitrary: fc.constant({ k: 'priv' as const }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('map' as const),
      i: fc.nat(5),
      off: fc.oneof(fc.nat(8192), fc.constantFrom(4064, 4096 - 1, 65536)),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('raw' as const), v: rawAddr }) },
);

const pathArb: fc.Arbitrary<PathArg> = fc.oneof(
  { weight: 6, arbitrary: fc.constantFrom<PathArg>('file', 'aio', 'disk', 'raw') },
  { weight: 2, arbitrary: fc.constantFrom<PathArg>('aio-small', 'aiotest') },
  { weight: 1, arbitrary: fc.constantFrom<PathArg>('other-file', 'bogus', 'empty', 'aio-bad') },
);

const accModes = [O_RDONLY, O_WRONLY, O_RDWR, 3];
const flagBits = [O_CREAT, O_TRUNC, O_APPEND, O_NONBLOCK, O_DSYNC, O_DIRECT, O_SYNC];
const flagsArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 3, arbitrary: fc.constant(O_RDWR) },
  {
    weight: 3,
    arbitrary: fc
      .tuple(fc.constantFrom(...accModes), fc.subarray(flagBits, { maxLength: 3 }))
      .map(([m, bits]) => bits.reduce((f, b) => f | b, m)),
  },
);

const MAX_NS = 2 ** 53 - 1;

const timeoutArb: fc.Arbitrary<TimeoutArg> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('ns' as const), ns: fc.integer({ min: 0, max: 2_000_000 }) }),
  },
  { weight: 2, arbitrary: fc.constant({ k: 'none' as const }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('ns' as const),
      ns: fc.oneof(fc.integer({ min: 0, max: MAX_NS }), fc.constant(MAX_NS)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('timespec' as const),
      sec: fc.oneof(fc.constantFrom(-1, 0, 2 ** 40, 2 ** 62), fc.nat(3)),
      nsec: fc.constantFrom(-1, 0, 1, 999_999_999, 1_000_000_000),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('raw' as const), v: rawAddr }) },
);

const opcodeArb: fc.Arbitrary<number> = fc.oneof(
  { weight: 8, arbitrary: fc.constantFrom(IOCB_CMD_PREAD, IOCB_CMD_PWRITE) },
  { weight: 3, arbitrary: fc.constantFrom(IOCB_CMD_FSYNC, IOCB_CMD_FDSYNC, IOCB_CMD_NOOP) },
  { weight: 1, arbitrary: fc.constantFrom(IOCB_CMD_POLL, 4, 7, 0xffff) },
);

const iocbArb: fc.Arbitrary<IocbArg> = fc.oneof(
  {
    weight: 10,
    arbitrary: fc.record({
      k: fc.constant('iocb' as const),
      op: opcodeArb,
      fd: fdOf('data'),
      buf: bufArb,
      len: lenArb,
      pos: posArb,
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('bytes' as const),
      bytes: fc.array(fc.nat(255), { minLength: 64, maxLength: 64 }),
    }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('ptr' as const), v: rawAddr }) },
);

const reqArb: fc.Arbitrary<ReqArg> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ k: fc.constant('req' as const), i: fc.nat(7) }) },
  {
    weight: 1,
    arbitrary: fc.record({
      k: fc.constant('raw' as const),
      idx: fc.oneof(fc.nat(130), hostile),
      key: fc.oneof(fc.constant(0), rawAddr),
    }),
  },
);

/** Values user space may write into the mapped ring's head or tail. */
const ringValueArb: fc.Arbitrary<number> = fc.oneof(
  fc.nat(130),
  fc.constantFrom(-1, 2.5, Number.NaN, 2 ** 32 - 1, 2 ** 31, 1e9),
);

/** Mapping lengths within what the simulator backs (the absurd ones are drawn apart, more rarely). */
const saneLen: fc.Arbitrary<number> = lenArb.filter((n) => !Number.isInteger(n) || n <= 65536);

function opArb(nprocs: number): fc.Arbitrary<Operation> {
  const mmapLen = fc.oneof(
    { weight: 6, arbitrary: saneLen },
    { weight: 1, arbitrary: fc.constantFrom(2 ** 40, 2 ** 53 - 1) },
  );
  const sleepNs = fc.oneof(
    { weight: 6, arbitrary: fc.integer({ min: 0, max: 2_000_000 }) },
    { weight: 1, arbitrary: fc.constantFrom(86_400e9, 2 ** 53 - 1, 1e30, -1, 0.5) },
  );
  const arbs: { weight: number; arbitrary: fc.Arbitrary<Operation> }[] = [
    { weight: 6, arbitrary: fc.record({ t: fc.constant('open' as const), path: pathArb, flags: flagsArb }) },
    { weight: 2, arbitrary: fc.record({ t: fc.constant('close' as const), fd: fdArb }) },
    {
      weight: 6,
      arbitrary: fc.record({
        t: fc.constantFrom('read' as const, 'write' as const, 'pread' as const, 'pwrite' as const),
        fd: fdOf('data'),
        buf: bufArb,
        count: lenArb,
        pos: posArb,
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('lseek' as const),
        fd: fdArb,
        off: posArb,
        whence: fc.oneof(fc.constantFrom(0, 1, 2), fc.constantFrom(3, -1)),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({ t: fc.constantFrom('fsync' as const, 'fdatasync' as const), fd: fdArb }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('ftruncate' as const), fd: fdArb, len: posArb }) },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('mmap' as const),
        len: mmapLen,
        prot: fc.oneof(fc.constantFrom(3, 3, 1, 2), fc.constantFrom(0, 4, -1)),
        fd: fc.option(fdArb, { freq: 2, nil: null }),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('munmap' as const), addr: bufArb }) },
    {
      weight: 1,
      arbitrary: fc.record({ t: fc.constantFrom('getpid' as const, 'nosys' as const, 'exit' as const) }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('nanosleep' as const), ns: sleepNs }) },
    {
      weight: 1,
      arbitrary: fc.record({ t: fc.constant('kill' as const), proc: fc.integer({ min: -1, max: nprocs }) }),
    },
    {
      weight: 8,
      arbitrary: fc.record({
        t: fc.constant('submit' as const),
        ctx: fdOf('ctx'),
        iocbs: fc.array(iocbArb, { minLength: 1, maxLength: 6, size: 'max' }),
        nrDelta: fc.oneof(
          { weight: 9, arbitrary: fc.constant(0) },
          { weight: 1, arbitrary: fc.constantFrom(-1, 1, 1000, 0.5) },
        ),
        arr: fc.option(bufArb, { freq: 8, nil: null }).map((b) => (b === null || b.k === 'priv' ? null : b)),
      }),
    },
    {
      weight: 5,
      arbitrary: fc.record({
        t: fc.constant('getevents' as const),
        ctx: fdOf('ctx'),
        nr: fc.oneof(fc.integer({ min: 0, max: 8 }), fc.constantFrom(-1, 1000, 0.5)),
        events: fc
          .option(bufArb, { freq: 8, nil: null })
          .map((b) => (b === null || b.k === 'priv' ? null : b)),
        timeout: timeoutArb,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({
        t: fc.constant('io_wait' as const),
        ctx: fdOf('ctx'),
        req: reqArb,
        timeout: timeoutArb,
      }),
    },
    {
      weight: 2,
      arbitrary: fc.record({ t: fc.constant('io_cancel' as const), ctx: fdOf('ctx'), req: reqArb }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('ring-reap' as const),
        ring: fc.nat(3),
        max: fc.integer({ min: 1, max: 8 }),
      }),
    },
    {
      weight: 1,
      arbitrary: fc.record({
        t: fc.constant('ring-write' as const),
        ring: fc.nat(3),
        which: fc.constantFrom('head' as const, 'tail' as const),
        v: ringValueArb,
      }),
    },
  ];
  return fc.oneof(...arbs);
}

/**
 * The usual start of a process: its file, a context with its ring mapped, its disk and raw device,
 * the file again with O_DIRECT, the test device, a buffer (each one may be shrunk away).
 */
const PROLOGUE: readonly Operation[] = [
  { t: 'open', path: 'file', flags: O_RDWR },
  { t: 'open', path: 'aio', flags: O_RDWR },
  { t: 'mmap', len: 4096, prot: 3, fd: { k: 'ctx', i: 0 } },
  { t: 'open', path: 'disk', flags: O_RDWR },
  { t: 'open', path: 'raw', flags: O_RDWR },
  { t: 'open', path: 'file', flags: O_RDWR | O_DIRECT },
  { t: 'open', path: 'aiotest', flags: O_RDWR },
  { t: 'mmap', len: 16384, prot: 3, fd: null },
];

/** The arbitrary of whole programs. */
export function programArb(opts: GenOptions = {}): fc.Arbitrary<Program> {
  const maxProcs = opts.maxProcs ?? 3;
  const maxOps = opts.maxOps ?? 24;
  return fc.record({
    cpus: fc.integer({ min: 1, max: 3 }),
    timed: fc.boolean(),
    memoryModel: fc.constantFrom<MemoryModel>('sc', 'tso', 'pso'),
    fastForward: fc.boolean(),
    seed: fc.nat(1_000_000),
    procs: fc.array(
      fc
        .tuple(
          fc.subarray(PROLOGUE as Operation[], { minLength: 2 }),
          fc.array(opArb(maxProcs), { minLength: 1, maxLength: maxOps, size: 'max' }),
        )
        .map(([pro, ops]) => ({ ops: [...pro, ...ops] })),
      { minLength: 1, maxLength: maxProcs, size: 'max' },
    ),
  });
}
