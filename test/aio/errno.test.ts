/**
 * The errno table of `docs/aio.md`, one test per row: each bad input of `/dev/aio` and of the
 * four syscalls gets its errno, and nothing changes — the ring's head and tail, the context's
 * and the kernel's request counts, `aio-nr`, the request slots, the user's iocb bytes — and no
 * event appears (a `{0,0}` poll afterwards returns 0). Where two errors apply at once, the one
 * the table checks first wins.
 */
import { describe, expect, it } from 'vitest';
import { aio_complete, aio_start, ctxOfFile, type Kioctx } from '../../src/aio/kioctx.js';
import { io_iocb_array, io_prep, io_prep_pread, io_prep_pwrite, timespec } from '../../src/aio/libaio.js';
import { aio_limits } from '../../src/aio/limits.js';
import { type AioMethods, aio_init } from '../../src/aio/syscalls.js';
import { register_aiotest } from '../../src/aio/testdev.js';
import { EAGAIN, EBADF, EFAULT, EINTR, EINVAL, ENOMEM, ETIME } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import {
  File,
  type FileOperations,
  O_NONBLOCK,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  PROT_READ,
  type Process,
} from '../../src/kernel/process.js';
import { schedule_timeout, set_current_state, TASK_UNINTERRUPTIBLE } from '../../src/kernel/sched.js';
import { create_process, register_path, syscall } from '../../src/kernel/syscalls.js';

// ---------------------------------------------------------------------------------------------
// The world every row runs in

/** What a row's code can use: the process, its context and a few files and buffers. */
interface Env {
  readonly k: Kernel;
  readonly p: Process;
  /** The context fd and the context. */
  readonly fd: number;
  readonly ctx: Kioctx;
  /** Ring address. */
  readonly ring: number;
  /** 64 KiB of read-write scratch memory, and a read-only page. */
  readonly mem: number;
  readonly ro: number;
  /** The default iocb (a 512-byte read of /dev/aiotest, data 42), the pointer array holding it. */
  readonly iocb: number;
  readonly arr: number;
  /** Events array (16 entries), a timespec, a 4 KiB buffer (page-aligned). */
  readonly evs: number;
  readonly ts: number;
  readonly buf: number;
  /** /dev/aiotest (read-only), /dev/plain opened O_RDWR, O_WRONLY, O_RDONLY, /dev/none, /dev/aligned. */
  readonly test: number;
  readonly plain: number;
  readonly wo: number;
  readonly rdonly: number;
  readonly none: number;
  readonly aligned: number;
}

/** A file with synchronous methods only (served by the keventd fallback). */
const plainOps: FileOperations = {
  name: 'plain',
  *read(_f, _p, _buf, count, ppos) {
    ppos.pos += count;
    return count;
  },
  *write(_f, _p, _buf, count, ppos) {
    ppos.pos += count;
    return count;
  },
  *fsync() {
    return 0;
  },
};

/** A file with no IO method at all. */
const noneOps: FileOperations = { name: 'none' };

/** A file whose AIO reads must be 512-byte aligned (buffer, length, offset), as direct IO's are. */
const alignedOps: FileOperations & AioMethods = {
  name: 'aligned',
  *aio_read() {
    return 0;
  },
  aio_check(_f, _op, buf, nbytes, pos) {
    return buf % 512 !== 0 || nbytes % 512 !== 0 || pos % 512 !== 0 ? -EINVAL : 0;
  },
};

function opener(ops: FileOperations) {
  return function* (_p: Process, path: string, flags: number): KernelCode<File | number> {
    return new File(ops, flags, path);
  };
}

interface WorldOptions {
  readonly ringNr?: number;
  /** /dev/aiotest completion latency (default 1 ms: requests stay queued while a row runs). */
  readonly latencyNs?: number;
  readonly aioMaxNr?: number;
}

/** Builds the world, runs `body` as the process, and returns the run's status. */
function world(body: (e: Env) => KernelCode<void>, o: WorldOptions = {}): { status: string; k: Kernel } {
  const k = new Kernel({ cpus: 2, timed: true, trace: false });
  aio_init(k, { ringNr: o.ringNr ?? 4, ...(o.aioMaxNr === undefined ? {} : { aioMaxNr: o.aioMaxNr }) });
  register_aiotest(k, o.latencyNs ?? 1_000_000);
  register_path(k, '/dev/plain', opener(plainOps));
  register_path(k, '/dev/none', opener(noneOps));
  register_path(k, '/dev/aligned', opener(alignedOps));
  create_process(k, 'app', function* (p) {
    const fd = yield* syscall('open', '/dev/aio', O_RDWR);
    const ring = yield* syscall('mmap', 4096, 3, fd);
    const mem = p.mm.mmap(64 * 1024);
    const ro = p.mm.mmap(4096, PROT_READ);
    const test = yield* syscall('open', '/dev/aiotest', O_RDONLY);
    const e: Env = {
      k,
      p,
      fd,
      ctx: ctxOfFile(p.fget(fd))!,
      ring,
      mem,
      ro,
      iocb: mem,
      arr: mem + 1024,
      evs: mem + 2048,
      ts: mem + 3072,
      buf: mem + 8192,
      test,
      plain: yield* syscall('open', '/dev/plain', O_RDWR),
      wo: yield* syscall('open', '/dev/plain', O_WRONLY),
      rdonly: yield* syscall('open', '/dev/plain', O_RDONLY),
      none: yield* syscall('open', '/dev/none', O_RDWR),
      aligned: yield* syscall('open', '/dev/aligned', O_RDONLY),
    };
    io_prep_pread(p, e.iocb, test, e.buf, 512, 0, 42);
    io_iocb_array(p, e.arr, [e.iocb]);
    yield* body(e);
  });
  const r = k.run();
  expect(r.violations).toEqual([]);
  return { status: r.status, k };
}

/** Everything a failed call must leave as it was. */
interface Snap {
  head: number;
  tail: number;
  ktail: number;
  reqsActive: number;
  globalReqsActive: number;
  aioNr: number;
  submitted: number;
  published: number;
  slots: string;
  iocbs: string[];
}

function bytesAt(p: Process, addr: number, len: number): string {
  const r = p.mm.find(addr, len);
  if (r === undefined) return 'unmapped';
  return Buffer.from(r.data.subarray(addr - r.start, addr - r.start + len)).toString('hex');
}

function snap(e: Env, iocbs: readonly number[]): Snap {
  const dv = new DataView(e.ctx.ringBytes.buffer);
  const lim = aio_limits(e.k);
  return {
    head: dv.getUint32(8, true),
    tail: dv.getUint32(12, true),
    ktail: e.ctx.ktail,
    reqsActive: e.ctx.reqsActive,
    globalReqsActive: lim.reqsActive,
    aioNr: lim.aioNr,
    submitted: e.ctx.submitted,
    published: e.ctx.published,
    slots: e.ctx.reqs.map((r) => `${r.state}/${r.gen}`).join(','),
    iocbs: iocbs.map((a) => bytesAt(e.p, a, 64)),
  };
}

/** A `{0,0}` poll of the context: the number of events waiting (read off the ring). */
function* poll(e: Env): KernelCode<number> {
  timespec(e.p, e.ts, 0);
  return yield* syscall('__io_getevents', e.fd, e.evs, 16, e.ts);
}

interface RowResult {
  ret: number;
  before: Snap;
  after: Snap;
  polled: number;
}

/**
 * Runs one row: `prepare` sets the scene, `call` makes the failing call; the state is compared
 * around the call and the ring polled after it.
 */
function row(
  call: (e: Env) => KernelCode<number>,
  o: WorldOptions & {
    prepare?: (e: Env) => KernelCode<void>;
    iocbs?: (e: Env) => readonly number[];
  } = {},
): RowResult {
  let out: RowResult | null = null;
  world(function* (e) {
    if (o.prepare !== undefined) yield* o.prepare(e);
    const watched = o.iocbs?.(e) ?? [e.iocb];
    const before = snap(e, watched);
    const ret = yield* call(e);
    const after = snap(e, watched);
    const polled = yield* poll(e);
    out = { ret, before, after, polled };
  }, o);
  expect(out).not.toBeNull();
  return out!;
}

/** Asserts the row failed with `errno` and changed nothing. */
function expectRow(r: RowResult, errno: number): void {
  expect(r.ret).toBe(-errno);
  expect(r.after).toEqual(r.before);
  expect(r.polled).toBe(0);
}

/** Writes `v` into the iocb at `iocb` (field offset, width in bytes), even in a read-only page. */
function poke(e: Env, iocb: number, off: number, width: 2 | 4 | 8, v: bigint | number): void {
  const r = e.p.mm.find(iocb, 64)!;
  const dv = new DataView(r.data.buffer, r.data.byteOffset + (iocb - r.start), 64);
  if (width === 2) dv.setUint16(off, Number(v), true);
  else if (width === 4) dv.setUint32(off, Number(v), true);
  else dv.setBigUint64(off, BigInt.asUintN(64, BigInt(v)), true);
}

/** `__submit_ios(fd, 1, [iocb])`. */
function* submit1(e: Env, iocb = e.iocb, fd = e.fd): KernelCode<number> {
  io_iocb_array(e.p, e.arr, [iocb]);
  return yield* syscall('__submit_ios', fd, 1, e.arr);
}

/** Spawns a second process that sends a signal to `victim` after `ns`. */
function killer(k: Kernel, victim: Process, ns: number): void {
  create_process(k, 'killer', function* () {
    yield* syscall('nanosleep', ns);
    yield* syscall('kill', victim.pid);
  });
}

const FAR = 0x7fff_0000; // never mapped

// ---------------------------------------------------------------------------------------------

describe('open("/dev/aio") and mmap of the ring', () => {
  it('O1: open without O_RDWR → -EINVAL, and no context is created', () => {
    const got: number[] = [];
    let nr = -1;
    world(function* (e) {
      nr = aio_limits(e.k).aioNr;
      got.push(yield* syscall('open', '/dev/aio', O_RDONLY));
      got.push(yield* syscall('open', '/dev/aio', O_WRONLY));
      expect(aio_limits(e.k).aioNr).toBe(nr);
      expect(aio_limits(e.k).contexts).toHaveLength(1);
    });
    expect(nr).toBe(4);
    expect(got).toEqual([-EINVAL, -EINVAL]);
  });

  it('O2: open past aio-max-nr → -EAGAIN, aio-nr unchanged', () => {
    const got: number[] = [];
    world(
      function* (e) {
        got.push(aio_limits(e.k).aioNr);
        got.push(yield* syscall('open', '/dev/aio', O_RDWR));
        got.push(aio_limits(e.k).aioNr, aio_limits(e.k).contexts.length);
      },
      { ringNr: 4, aioMaxNr: 7 },
    );
    expect(got).toEqual([4, -EAGAIN, 4, 1]);
  });

  it('M1: mmap of the ring with len < 32 (the header) → -EINVAL, nothing mapped', () => {
    const got: number[] = [];
    world(function* (e) {
      const regions = e.p.mm.regions.length;
      got.push(yield* syscall('mmap', 16, 3, e.fd));
      got.push(e.p.mm.regions.length - regions);
    });
    expect(got).toEqual([-EINVAL, 0]);
  });

  it('M3: mmap of the ring past the address-space limit → -ENOMEM, nothing mapped', () => {
    const got: number[] = [];
    world(function* (e) {
      const fd = yield* syscall('open', '/dev/aio', O_RDWR);
      const regions = e.p.mm.regions.length;
      e.p.mm.rlimit_as = e.p.mm.total_vm; // no room for the ring's page
      got.push(yield* syscall('mmap', 4096, 3, fd));
      got.push(e.p.mm.regions.length - regions);
      e.p.mm.rlimit_as += 4096;
      got.push((yield* syscall('mmap', 4096, 3, fd)) > 0 ? 1 : 0);
    });
    expect(got).toEqual([-ENOMEM, 0, 1]);
  });

  it('M2: mmap of a context by a process that does not own it → -EINVAL', () => {
    let shared: File | null = null;
    let got = 0;
    const k = new Kernel({ cpus: 2, timed: true, trace: false });
    aio_init(k, { ringNr: 2 });
    create_process(k, 'owner', function* (p) {
      const fd = yield* syscall('open', '/dev/aio', O_RDWR);
      shared = p.fget(fd);
      shared!.count++;
      yield* syscall('nanosleep', 10_000);
    });
    create_process(k, 'other', function* (p) {
      yield* syscall('nanosleep', 1000);
      const fd = p.fd_install(shared!);
      const regions = p.mm.regions.length;
      got = yield* syscall('mmap', 4096, 3, fd);
      expect(p.mm.regions.length).toBe(regions);
    });
    const r = k.run();
    expect(r.violations).toEqual([]);
    expect(got).toBe(-EINVAL);
  });
});

describe('read(ctx_fd)', () => {
  it('R1: count < 32 (less than one io_event) → -EINVAL, the waiting event stays', () => {
    const r = row((e) => syscall('read', e.fd, e.evs, 31), {
      latencyNs: 1000,
      *prepare(e) {
        expect(yield* submit1(e)).toBe(1);
        yield* syscall('nanosleep', 5000); // the event is in the ring
      },
    });
    expect(r.ret).toBe(-EINVAL);
    expect(r.after).toEqual(r.before);
    expect(r.before.tail).toBe(1);
    expect(r.polled).toBe(1); // still there for the poll
  });

  it('R2: O_NONBLOCK and no event → -EAGAIN', () => {
    let got = 0;
    world(function* (e) {
      const nb = yield* syscall('open', '/dev/aio', O_RDWR | O_NONBLOCK);
      got = yield* syscall('read', nb, e.evs, 64);
    });
    expect(got).toBe(-EAGAIN);
  });

  it('R3: a signal while read() sleeps for an event → -EINTR, the request still in flight', () => {
    const r = row((e) => syscall('read', e.fd, e.evs, 64), {
      *prepare(e) {
        expect(yield* submit1(e)).toBe(1);
        killer(e.k, e.p, 2000);
      },
    });
    expectRow(r, EINTR);
    expect(r.before.reqsActive).toBe(1);
  });
});

describe('__submit_ios(ctx_fd, nr, iocbs)', () => {
  it('S1: ctx_fd not open → -EBADF', () => {
    expectRow(
      row((e) => submit1(e, e.iocb, 40)),
      EBADF,
    );
  });

  it('S2: ctx_fd open but not an AIO context → -EINVAL', () => {
    expectRow(
      row((e) => submit1(e, e.iocb, e.plain)),
      EINVAL,
    );
  });

  it('S3: nr < 0 (or not an integer) → -EINVAL', () => {
    expectRow(
      row((e) => syscall('__submit_ios', e.fd, -1, e.arr)),
      EINVAL,
    );
    expectRow(
      row((e) => syscall('__submit_ios', e.fd, 1.5, e.arr)),
      EINVAL,
    );
  });

  it('nr == 0 → 0 without reading the array', () => {
    const r = row((e) => syscall('__submit_ios', e.fd, 0, FAR));
    expect(r.ret).toBe(0);
    expect(r.after).toEqual(r.before);
  });

  it('S4: pointer array unreadable → -EFAULT', () => {
    expectRow(
      row((e) => syscall('__submit_ios', e.fd, 1, FAR)),
      EFAULT,
    );
    // Partly mapped: the whole array must be readable.
    expectRow(
      row((e) => syscall('__submit_ios', e.fd, 2, e.mem + 64 * 1024 - 8)),
      EFAULT,
    );
  });

  it('S5: iocb unreadable (unmapped, or a pointer above 2^53) → -EFAULT', () => {
    expectRow(
      row((e) => submit1(e, FAR)),
      EFAULT,
    );
    expectRow(
      row(function* (e) {
        new DataView(e.p.mm.user_view(e.arr, 8, true)!.buffer).setBigUint64(
          e.arr - e.p.mm.find(e.arr, 8)!.start,
          1n << 60n,
          true,
        );
        return yield* syscall('__submit_ios', e.fd, 1, e.arr);
      }),
      EFAULT,
    );
  });

  it('S6: a reserved field set (aio_reserved1, 2 or 3) → -EINVAL', () => {
    for (const [off, width] of [
      [12, 4],
      [48, 8],
      [56, 8],
    ] as const) {
      expectRow(
        row((e) => submit1(e), {
          *prepare(e) {
            poke(e, e.iocb, off, width, 1);
          },
        }),
        EINVAL,
      );
    }
  });

  it('S7: overflow — aio_buf or aio_nbytes above 2^53 - 1, aio_offset negative or above 2^53 - 1 → -EINVAL', () => {
    for (const [off, v] of [
      [24, 1n << 60n],
      [32, 1n << 60n],
      [40, -512n],
      [40, 1n << 60n],
    ] as const) {
      expectRow(
        row((e) => submit1(e), {
          *prepare(e) {
            poke(e, e.iocb, off, 8, v);
          },
        }),
        EINVAL,
      );
    }
  });

  it('S8: aio_fildes not an open file → -EBADF', () => {
    for (const fd of [33, 0xffff_ffff]) {
      expectRow(
        row((e) => submit1(e), {
          *prepare(e) {
            poke(e, e.iocb, 20, 4, fd);
          },
        }),
        EBADF,
      );
    }
  });

  it('S9: unknown opcode (PREADX 4, 7, 0xffff) → -EINVAL', () => {
    for (const op of [4, 7, 0xffff]) {
      expectRow(
        row((e) => submit1(e), {
          *prepare(e) {
            poke(e, e.iocb, 16, 2, op);
          },
        }),
        EINVAL,
      );
    }
  });

  it('S10: PREAD on a write-only file, PWRITE on a read-only file → -EBADF', () => {
    expectRow(
      row((e) => submit1(e), {
        *prepare(e) {
          io_prep_pread(e.p, e.iocb, e.wo, e.buf, 512, 0);
        },
      }),
      EBADF,
    );
    expectRow(
      row((e) => submit1(e), {
        *prepare(e) {
          io_prep_pwrite(e.p, e.iocb, e.rdonly, e.buf, 512, 0);
        },
      }),
      EBADF,
    );
  });

  it('S11: the file has no method for the opcode (no AIO method, no synchronous one) → -EINVAL', () => {
    for (const op of [0, 1, 2, 3]) {
      expectRow(
        row((e) => submit1(e), {
          *prepare(e) {
            io_prep(e.p, e.iocb, op, e.none, e.buf, 512, 0);
          },
        }),
        EINVAL,
      );
    }
    // /dev/aiotest has no write and no fsync.
    expectRow(
      row((e) => submit1(e), {
        *prepare(e) {
          io_prep(e.p, e.iocb, 2, e.test, 0, 0, 0);
        },
      }),
      EINVAL,
    );
  });

  it('S11: an AIO context is not a target of AIO reads (its read() waits for its own events) → -EINVAL', () => {
    expectRow(
      row((e) => submit1(e), {
        *prepare(e) {
          io_prep_pread(e.p, e.iocb, e.fd, e.buf, 64, 0);
        },
      }),
      EINVAL,
    );
  });

  it('S12: IOCB_CMD_POLL (no file supports it) → -EINVAL', () => {
    expectRow(
      row((e) => submit1(e), {
        *prepare(e) {
          io_prep(e.p, e.iocb, 5, e.plain, 0, 0, 0);
        },
      }),
      EINVAL,
    );
  });

  it('S13: the user buffer not mapped, or not writable for a read / readable for a write → -EFAULT', () => {
    expectRow(
      row((e) => submit1(e), {
        *prepare(e) {
          io_prep_pread(e.p, e.iocb, e.test, FAR, 512, 0);
        },
      }),
      EFAULT,
    );
    // Runs off the end of its mapping.
    expectRow(
      row((e) => submit1(e), {
        *prepare(e) {
          io_prep_pread(e.p, e.iocb, e.test, e.mem + 64 * 1024 - 256, 512, 0);
        },
      }),
      EFAULT,
    );
    // A read into a read-only page.
    expectRow(
      row((e) => submit1(e), {
        *prepare(e) {
          io_prep_pread(e.p, e.iocb, e.test, e.ro, 512, 0);
        },
      }),
      EFAULT,
    );
  });

  it('S14: the file’s own argument check fails (misaligned direct read) → its errno, -EINVAL', () => {
    for (const [buf, len, pos] of [
      [1, 512, 0],
      [0, 100, 0],
      [0, 512, 7],
    ] as const) {
      expectRow(
        row((e) => submit1(e), {
          *prepare(e) {
            io_prep_pread(e.p, e.iocb, e.aligned, e.buf + buf, len, pos);
          },
        }),
        EINVAL,
      );
    }
  });

  it('S15: the iocb is not writable (aio_key cannot be stored) → -EFAULT', () => {
    expectRow(
      row((e) => submit1(e, e.ro), {
        *prepare(e) {
          // Lay a valid iocb out in the read-only page.
          const r = e.p.mm.find(e.ro, 64)!;
          const save = r.data.slice(0, 64);
          io_prep_pread(e.p, e.iocb, e.test, e.buf, 512, 0, 42);
          r.data.set(e.p.mm.copy_from_user(e.iocb, 64)!, 0);
          expect(save.every((b) => b === 0)).toBe(true);
        },
        iocbs: (e) => [e.ro],
      }),
      EFAULT,
    );
  });

  it('S16: the ring is full (every slot owned by a request in flight) → -EAGAIN, the iocb untouched', () => {
    const r = row((e) => submit1(e, e.mem + 64), {
      ringNr: 2,
      *prepare(e) {
        io_prep_pread(e.p, e.mem + 64, e.test, e.buf, 512, 0, 43);
        io_iocb_array(e.p, e.arr, [e.iocb, e.mem + 128]);
        io_prep_pread(e.p, e.mem + 128, e.test, e.buf, 512, 0, 44);
        expect(yield* syscall('__submit_ios', e.fd, 2, e.arr)).toBe(2);
      },
      iocbs: (e) => [e.mem + 64],
    });
    expectRow(r, EAGAIN);
    expect(r.before.reqsActive).toBe(2);
    expect(r.before.slots).toBe('queued/1,queued/1');
  });

  it('S16: the ring is full of events not yet reaped → -EAGAIN until they are reaped', () => {
    const got: number[] = [];
    world(
      function* (e) {
        io_prep_pread(e.p, e.mem + 64, e.test, e.buf, 512, 0, 43);
        io_iocb_array(e.p, e.arr, [e.iocb, e.mem + 64]);
        got.push(yield* syscall('__submit_ios', e.fd, 2, e.arr));
        yield* syscall('nanosleep', 5000); // both completed: two events waiting, no request active
        got.push(e.ctx.reqsActive);
        got.push(yield* submit1(e));
        timespec(e.p, e.ts, 0);
        got.push(yield* syscall('__io_getevents', e.fd, e.evs, 1, e.ts));
        got.push(yield* submit1(e));
      },
      { ringNr: 2, latencyNs: 1000 },
    );
    expect(got).toEqual([2, 0, -EAGAIN, 1, 1]);
  });

  it('an error past the first iocb ends the batch: the count so far, not the errno', () => {
    const got: number[] = [];
    world(function* (e) {
      io_prep_pread(e.p, e.mem + 64, e.test, e.buf, 512, 0, 43);
      poke(e, e.mem + 64, 12, 4, 1); // reserved1
      io_prep_pread(e.p, e.mem + 128, e.test, e.buf, 512, 0, 44);
      io_iocb_array(e.p, e.arr, [e.iocb, e.mem + 64, e.mem + 128]);
      const before = bytesAt(e.p, e.mem + 128, 64);
      got.push(yield* syscall('__submit_ios', e.fd, 3, e.arr));
      got.push(e.ctx.reqsActive, e.ctx.submitted);
      got.push(bytesAt(e.p, e.mem + 128, 64) === before ? 1 : 0); // never reached: untouched
    });
    expect(got).toEqual([1, 1, 1, 1]);
  });
});

describe('__submit_ios: which error wins when two apply', () => {
  const cases: [string, number, (e: Env) => KernelCode<number>, ((e: Env) => KernelCode<void>)?][] = [
    ['bad ctx_fd and nr < 0 → -EBADF', EBADF, (_e) => syscall('__submit_ios', 40, -1, FAR)],
    [
      'not a context and nr < 0 → -EINVAL (context)',
      EINVAL,
      (e) => syscall('__submit_ios', e.plain, -1, e.arr),
    ],
    ['nr < 0 and array unreadable → -EINVAL', EINVAL, (e) => syscall('__submit_ios', e.fd, -1, FAR)],
    [
      'reserved field and bad aio_fildes → -EINVAL (reserved first)',
      EINVAL,
      (e) => submit1(e),
      function* (e) {
        poke(e, e.iocb, 56, 8, 1);
        poke(e, e.iocb, 20, 4, 33);
      },
    ],
    [
      'overflow and bad aio_fildes → -EINVAL',
      EINVAL,
      (e) => submit1(e),
      function* (e) {
        poke(e, e.iocb, 40, 8, -1n);
        poke(e, e.iocb, 20, 4, 33);
      },
    ],
    [
      'bad aio_fildes and unknown opcode → -EBADF',
      EBADF,
      (e) => submit1(e),
      function* (e) {
        poke(e, e.iocb, 20, 4, 33);
        poke(e, e.iocb, 16, 2, 9);
      },
    ],
    [
      'unknown opcode and unmapped buffer → -EINVAL',
      EINVAL,
      (e) => submit1(e),
      function* (e) {
        io_prep(e.p, e.iocb, 9, e.test, FAR, 512, 0);
      },
    ],
    [
      'access mode and unmapped buffer → -EBADF',
      EBADF,
      (e) => submit1(e),
      function* (e) {
        io_prep_pread(e.p, e.iocb, e.wo, FAR, 512, 0);
      },
    ],
    [
      'no method and unmapped buffer → -EINVAL',
      EINVAL,
      (e) => submit1(e),
      function* (e) {
        io_prep_pwrite(e.p, e.iocb, e.none, FAR, 512, 0);
      },
    ],
    [
      'unmapped buffer and misaligned → -EFAULT',
      EFAULT,
      (e) => submit1(e),
      function* (e) {
        io_prep_pread(e.p, e.iocb, e.aligned, FAR + 1, 100, 3);
      },
    ],
    [
      'misaligned and iocb read-only → -EINVAL',
      EINVAL,
      (e) => submit1(e, e.ro),
      function* (e) {
        io_prep_pread(e.p, e.iocb, e.aligned, e.buf + 1, 512, 0);
        e.p.mm.find(e.ro, 64)!.data.set(e.p.mm.copy_from_user(e.iocb, 64)!, 0);
      },
    ],
  ];
  for (const [name, errno, call, prepare] of cases) {
    it(name, () => {
      expectRow(row(call, prepare === undefined ? {} : { prepare }), errno);
    });
  }

  it('iocb read-only and ring full → -EFAULT (checked before a slot is taken)', () => {
    expectRow(
      row((e) => submit1(e, e.ro), {
        ringNr: 1,
        *prepare(e) {
          expect(yield* submit1(e)).toBe(1);
          e.p.mm.find(e.ro, 64)!.data.set(e.p.mm.copy_from_user(e.iocb, 64)!, 0);
        },
        iocbs: (e) => [e.iocb, e.ro],
      }),
      EFAULT,
    );
  });
});

describe('__io_getevents(ctx_fd, events, nr, timeout)', () => {
  it('G1: ctx_fd not open → -EBADF', () => {
    expectRow(
      row((e) => syscall('__io_getevents', 40, e.evs, 1, 0)),
      EBADF,
    );
  });
  it('G2: not an AIO context → -EINVAL', () => {
    expectRow(
      row((e) => syscall('__io_getevents', e.test, e.evs, 1, 0)),
      EINVAL,
    );
  });
  it('G3: nr < 0 (or not an integer) → -EINVAL', () => {
    expectRow(
      row((e) => syscall('__io_getevents', e.fd, e.evs, -1, 0)),
      EINVAL,
    );
    expectRow(
      row((e) => syscall('__io_getevents', e.fd, e.evs, 0.5, 0)),
      EINVAL,
    );
  });
  it('nr == 0 → 0 at once (events and timeout unread)', () => {
    const r = row((e) => syscall('__io_getevents', e.fd, FAR, 0, FAR));
    expect(r.ret).toBe(0);
    expect(r.after).toEqual(r.before);
  });
  it('G4: events array not writable for nr events → -EFAULT, the waiting event stays in the ring', () => {
    for (const at of [(_e: Env) => FAR, (e: Env) => e.ro, (e: Env) => e.mem + 64 * 1024 - 32]) {
      const r = row((e) => syscall('__io_getevents', e.fd, at(e), 2, 0), {
        latencyNs: 1000,
        *prepare(e) {
          expect(yield* submit1(e)).toBe(1);
          yield* syscall('nanosleep', 5000);
        },
      });
      expect(r.ret).toBe(-EFAULT);
      expect(r.after).toEqual(r.before);
      expect(r.polled).toBe(1);
    }
  });
  it('G5: timeout unreadable → -EFAULT', () => {
    expectRow(
      row((e) => syscall('__io_getevents', e.fd, e.evs, 1, FAR)),
      EFAULT,
    );
  });
  it('G6: timeout invalid (tv_sec < 0, tv_nsec < 0 or ≥ 10^9) → -EINVAL', () => {
    for (const [sec, nsec] of [
      [-1n, 0n],
      [0n, -1n],
      [0n, 1_000_000_000n],
    ] as const) {
      expectRow(
        row(function* (e) {
          const dv = new DataView(e.p.mm.user_view(e.ts, 16, true)!.slice().buffer);
          dv.setBigInt64(0, sec, true);
          dv.setBigInt64(8, nsec, true);
          e.p.mm.copy_to_user(e.ts, new Uint8Array(dv.buffer));
          return yield* syscall('__io_getevents', e.fd, e.evs, 1, e.ts);
        }),
        EINVAL,
      );
    }
  });
  it('G7: a signal while waiting → -EINTR, the request still in flight', () => {
    const r = row((e) => syscall('__io_getevents', e.fd, e.evs, 1, 0), {
      *prepare(e) {
        expect(yield* submit1(e)).toBe(1);
        killer(e.k, e.p, 2000);
      },
    });
    expectRow(r, EINTR);
    expect(r.after.reqsActive).toBe(1);
  });
  it('order: bad ctx_fd and nr < 0 → -EBADF; nr < 0 and events unwritable → -EINVAL; events unwritable and timeout unreadable → -EFAULT (events)', () => {
    expectRow(
      row(() => syscall('__io_getevents', 40, FAR, -1, FAR)),
      EBADF,
    );
    expectRow(
      row((e) => syscall('__io_getevents', e.fd, FAR, -1, 0)),
      EINVAL,
    );
    // Events unwritable and the timeout invalid: -EFAULT, so the events check came first.
    expectRow(
      row(function* (e) {
        timespec(e.p, e.ts, 0);
        e.p.mm.copy_to_user(e.ts + 8, new Uint8Array(8).fill(0xff)); // tv_nsec = -1
        return yield* syscall('__io_getevents', e.fd, FAR, 1, e.ts);
      }),
      EFAULT,
    );
  });
});

describe('__io_wait(ctx_fd, event_idx, key, timeout)', () => {
  it('W1: ctx_fd not open → -EBADF', () => {
    expectRow(
      row((e) => syscall('__io_wait', 40, 0, e.iocb, 0)),
      EBADF,
    );
  });
  it('W2: not an AIO context → -EINVAL', () => {
    expectRow(
      row((e) => syscall('__io_wait', e.plain, 0, e.iocb, 0)),
      EINVAL,
    );
  });
  it('W3: event_idx out of range (< 0, ≥ the context’s requests, not an integer) → -EINVAL', () => {
    for (const idx of [-1, 4, 1.5]) {
      expectRow(
        row((e) => syscall('__io_wait', e.fd, idx, e.iocb, 0)),
        EINVAL,
      );
    }
  });
  it('W4: timeout unreadable → -EFAULT', () => {
    expectRow(
      row((e) => syscall('__io_wait', e.fd, 0, e.iocb, FAR), {
        *prepare(e) {
          expect(yield* submit1(e)).toBe(1);
        },
      }),
      EFAULT,
    );
  });
  it('W5: timeout invalid → -EINVAL', () => {
    expectRow(
      row(
        function* (e) {
          timespec(e.p, e.ts, 0);
          e.p.mm.copy_to_user(e.ts, new Uint8Array(8).fill(0xff)); // tv_sec = -1
          return yield* syscall('__io_wait', e.fd, 0, e.iocb, e.ts);
        },
        {
          *prepare(e) {
            expect(yield* submit1(e)).toBe(1);
          },
        },
      ),
      EINVAL,
    );
  });
  it('W6: no request with that key in the slot (never submitted, or another iocb) → -EINVAL', () => {
    expectRow(
      row((e) => syscall('__io_wait', e.fd, 0, e.iocb, 0)),
      EINVAL,
    );
    expectRow(
      row((e) => syscall('__io_wait', e.fd, 0, e.iocb + 64, 0), {
        *prepare(e) {
          expect(yield* submit1(e)).toBe(1);
        },
      }),
      EINVAL,
    );
  });
  it('W7: the timeout passes before the request completes → -ETIME', () => {
    let t0 = 0;
    let t1 = 0;
    const r = row(
      function* (e) {
        timespec(e.p, e.ts, 10_000);
        t0 = e.k.now;
        const ret = yield* syscall('__io_wait', e.fd, 0, e.iocb, e.ts);
        t1 = e.k.now;
        return ret;
      },
      {
        *prepare(e) {
          expect(yield* submit1(e)).toBe(1);
        },
      },
    );
    expectRow(r, ETIME);
    expect(t1 - t0).toBeGreaterThanOrEqual(10_000);
    expect(r.after.slots.startsWith('queued')).toBe(true);
  });
  it('W8: a signal while waiting → -EINTR', () => {
    expectRow(
      row((e) => syscall('__io_wait', e.fd, 0, e.iocb, 0), {
        *prepare(e) {
          expect(yield* submit1(e)).toBe(1);
          killer(e.k, e.p, 2000);
        },
      }),
      EINTR,
    );
  });
  it('order: event_idx out of range and timeout unreadable → -EINVAL; timeout unreadable and wrong key → -EFAULT', () => {
    expectRow(
      row((e) => syscall('__io_wait', e.fd, 99, e.iocb, FAR)),
      EINVAL,
    );
    expectRow(
      row((e) => syscall('__io_wait', e.fd, 0, 12345, FAR)),
      EFAULT,
    );
  });
});

describe('__io_cancel(ctx_fd, event_idx, key)', () => {
  it('C1: ctx_fd not open → -EBADF', () => {
    expectRow(
      row((e) => syscall('__io_cancel', 40, 0, e.iocb)),
      EBADF,
    );
  });
  it('C2: not an AIO context → -EINVAL', () => {
    expectRow(
      row((e) => syscall('__io_cancel', e.test, 0, e.iocb)),
      EINVAL,
    );
  });
  it('C3: event_idx out of range → -EINVAL', () => {
    for (const idx of [-1, 4, 0.5]) {
      expectRow(
        row((e) => syscall('__io_cancel', e.fd, idx, e.iocb)),
        EINVAL,
      );
    }
  });
  it('C4: no queued request with that key — never submitted, wrong key, completed, running → -EAGAIN', () => {
    // Never submitted.
    expectRow(
      row((e) => syscall('__io_cancel', e.fd, 0, e.iocb)),
      EAGAIN,
    );
    // Queued, but the key names another iocb.
    const wrong = row((e) => syscall('__io_cancel', e.fd, 0, e.iocb + 64), {
      *prepare(e) {
        expect(yield* submit1(e)).toBe(1);
      },
    });
    expectRow(wrong, EAGAIN);
    expect(wrong.after.slots.startsWith('queued')).toBe(true);
    // Completed: its event is in the ring (the poll reaps it), no second one appears.
    const done = row((e) => syscall('__io_cancel', e.fd, 0, e.iocb), {
      latencyNs: 1000,
      *prepare(e) {
        expect(yield* submit1(e)).toBe(1);
        yield* syscall('nanosleep', 5000);
      },
    });
    expect(done.ret).toBe(-EAGAIN);
    expect(done.after).toEqual(done.before);
    expect(done.polled).toBe(1);
  });
  it('C4: a running request (the fallback worker is in its read) → -EAGAIN, and it completes normally', () => {
    const got: number[] = [];
    const k = new Kernel({ cpus: 2, timed: true, trace: false });
    aio_init(k, { ringNr: 2 });
    register_path(
      k,
      '/dev/slow',
      opener({
        name: 'slow',
        *read(_f, _p, _b, count) {
          yield* syscall_free_sleep(50_000);
          return count;
        },
      }),
    );
    create_process(k, 'app', function* (p) {
      const fd = yield* syscall('open', '/dev/aio', O_RDWR);
      const dev = yield* syscall('open', '/dev/slow', O_RDONLY);
      const mem = p.mm.mmap(8192);
      io_prep_pread(p, mem, dev, mem + 4096, 100, 0, 7);
      io_iocb_array(p, mem + 1024, [mem]);
      got.push(yield* syscall('__submit_ios', fd, 1, mem + 1024));
      yield* syscall('nanosleep', 10_000); // the worker is in the read now
      const ctx = ctxOfFile(p.fget(fd))!;
      got.push(ctx.reqs[0]!.state === 'running' ? 1 : 0);
      got.push(yield* syscall('__io_cancel', fd, 0, mem));
      got.push(yield* syscall('__io_getevents', fd, mem + 2048, 1, 0));
      got.push(Number(new DataView(p.mm.copy_from_user(mem + 2048 + 16, 8)!.buffer).getBigInt64(0, true)));
    });
    const r = k.run();
    expect(r.violations).toEqual([]);
    expect(got).toEqual([1, 1, -EAGAIN, 1, 100]);
  });
  it('C4: a queued request whose method set no cancel hook → -EAGAIN; it completes later as usual', () => {
    const got: number[] = [];
    const k = new Kernel({ cpus: 2, timed: true, trace: false });
    aio_init(k, { ringNr: 2 });
    const hookless: FileOperations & AioMethods = {
      name: 'hookless',
      *aio_read(_f, req) {
        const gen = req.gen;
        k.hold();
        k.after(20_000, 'hookless completion', () => {
          k.raise_irq('hookless', function* () {
            k.release();
            if (yield* aio_start(req, gen)) yield* aio_complete(req, req.nbytes);
          });
        });
        return 0;
      },
    };
    register_path(k, '/dev/hookless', opener(hookless));
    create_process(k, 'app', function* (p) {
      const fd = yield* syscall('open', '/dev/aio', O_RDWR);
      const dev = yield* syscall('open', '/dev/hookless', O_RDONLY);
      const mem = p.mm.mmap(8192);
      io_prep_pread(p, mem, dev, mem + 4096, 64, 0, 5);
      io_iocb_array(p, mem + 1024, [mem]);
      got.push(yield* syscall('__submit_ios', fd, 1, mem + 1024));
      const ctx = ctxOfFile(p.fget(fd))!;
      got.push(ctx.reqs[0]!.state === 'queued' ? 1 : 0);
      got.push(yield* syscall('__io_cancel', fd, 0, mem));
      got.push(ctx.reqs[0]!.state === 'queued' ? 1 : 0);
      got.push(yield* syscall('__io_getevents', fd, mem + 2048, 1, 0));
      got.push(Number(new DataView(p.mm.copy_from_user(mem + 2048 + 16, 8)!.buffer).getBigInt64(0, true)));
    });
    const r = k.run();
    expect(r.violations).toEqual([]);
    expect(got).toEqual([1, 1, -EAGAIN, 1, 1, 64]);
  });
  it('order: bad ctx_fd and index out of range → -EBADF; index out of range and wrong key → -EINVAL', () => {
    expectRow(
      row((_e) => syscall('__io_cancel', 40, -1, 0)),
      EBADF,
    );
    expectRow(
      row((e) => syscall('__io_cancel', e.fd, 99, 0)),
      EINVAL,
    );
  });
});

/** Sleeps `ns` uninterruptibly in kernel code (a slow device). */
function* syscall_free_sleep(ns: number): KernelCode<void> {
  yield* set_current_state(TASK_UNINTERRUPTIBLE);
  yield* schedule_timeout(ns, 'slow device');
}
