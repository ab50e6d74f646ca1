/**
 * The mapped ring as user memory and as untrusted input (issue 15): every byte of the ring's
 * mapping is backed (a read into the bytes past the last event works), the ring can be mapped
 * again after user space unmapped it, and whatever user space writes to the mapped `head` and
 * `tail` — negative, fractional, NaN, infinite, huge, out of range — never throws, never shows
 * an event twice or one that was not completed, and leaves the kernel's own state intact.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import {
  AIO_RING_HEADER_SIZE,
  AIO_RING_MAGIC,
  ctxOfFile,
  IO_EVENT_SIZE,
  IOCB_CMD_NOOP,
  IOCB_CMD_PREAD,
  type Kioctx,
} from '../../src/aio/kioctx.js';
import {
  aio_ring_reap,
  io_iocb_array,
  io_prep,
  read_event,
  timespec,
  user_ring,
} from '../../src/aio/libaio.js';
import { aio_limits } from '../../src/aio/limits.js';
import { aio_init } from '../../src/aio/syscalls.js';
import { register_aiotest, testPattern } from '../../src/aio/testdev.js';
import * as errno from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { type KernelCode, WRITE_ONCE } from '../../src/kernel/ops.js';
import { O_NONBLOCK, O_RDONLY, O_RDWR, PAGE_SIZE, type Process } from '../../src/kernel/process.js';
import { create_process, syscall } from '../../src/kernel/syscalls.js';

const { EAGAIN } = errno;

/** The negative errnos the kernel may return. */
const ERRNOS = new Set(
  Object.entries(errno)
    .filter(([name, v]) => /^E[A-Z0-9]+$/.test(name) && typeof v === 'number')
    .map(([, v]) => -(v as number)),
);

/** Runs `body` as a process of a fresh timed kernel with `/dev/aio` (`ringNr` slots) and `/dev/aiotest`. */
function world(body: (p: Process, k: Kernel) => KernelCode<void>, ringNr = 4): Kernel {
  const k = new Kernel({ cpus: 2, timed: true, trace: false });
  aio_init(k, { ringNr });
  register_aiotest(k, 1000);
  create_process(k, 'app', (p) => body(p, k));
  const r = k.run();
  expect(r.violations).toEqual([]);
  expect(r.status).toBe('done');
  return k;
}

/** A context with its ring mapped, `/dev/aiotest` open, and scratch memory. */
interface Setup {
  readonly fd: number;
  readonly ring: number;
  readonly dfd: number;
  readonly mem: number;
  readonly ctx: Kioctx;
}

function* setup(p: Process, flags = O_RDWR): KernelCode<Setup> {
  const fd = yield* syscall('open', '/dev/aio', flags);
  const ring = yield* syscall('mmap', 4096, 3, fd);
  const dfd = yield* syscall('open', '/dev/aiotest', O_RDONLY);
  const mem = p.mm.mmap(64 * 1024);
  return { fd, ring, dfd, mem, ctx: ctxOfFile(p.fget(fd))! };
}

/** Submits one iocb (`op` on /dev/aiotest, `data`) laid out at `mem + slot * 64`: the syscall's result. */
function* submit(p: Process, s: Setup, op: number, data: number, slot = 0): KernelCode<number> {
  const iocb = s.mem + slot * 64;
  io_prep(p, iocb, op, s.dfd, s.mem + 32768 + slot * 512, 512, 0, data);
  const arr = s.mem + 16384 + slot * 8;
  io_iocb_array(p, arr, [iocb]);
  return yield* syscall('__submit_ios', s.fd, 1, arr);
}

/** `{0,0}`: poll. */
function* poll(p: Process, s: Setup, evs: number, nr: number): KernelCode<number> {
  const ts = s.mem + 20480;
  timespec(p, ts, 0);
  return yield* syscall('__io_getevents', s.fd, evs, nr, ts);
}

describe('the ring mapping is memory', () => {
  it('every byte of the mapped pages is backed: events and a pread land past the last ring entry', () => {
    const got: unknown[] = [];
    world(function* (p) {
      const s = yield* setup(p);
      const r = p.mm.find(s.ring, 1)!;
      const end = AIO_RING_HEADER_SIZE + s.ctx.nr * IO_EVENT_SIZE; // 32 + 5 * 32
      got.push(r.len, r.data.length >= r.len);
      // __io_getevents copying its events into the ring's own last page.
      expect(yield* submit(p, s, IOCB_CMD_NOOP, 7)).toBe(1);
      const evs = s.ring + r.len - IO_EVENT_SIZE;
      got.push(yield* poll(p, s, evs, 1), read_event(p, evs, 0).data);
      // A synchronous read into the bytes right after the last entry, up to the page's end.
      const n = r.len - end;
      got.push(yield* syscall('pread', s.dfd, s.ring + end, n, 3));
      got.push(p.mm.copy_from_user(s.ring + end, n)!.every((b, i) => b === testPattern(3, n)[i]));
    });
    expect(got).toEqual([PAGE_SIZE, true, 1, 7, PAGE_SIZE - 192, true]);
  });

  it('after munmap of the ring, mmap maps it again: a live mapping with the header and new events', () => {
    const got: unknown[] = [];
    world(function* (p) {
      const s = yield* setup(p);
      expect(yield* syscall('munmap', s.ring)).toBe(0);
      expect(p.mm.copy_from_user(s.ring, 32)).toBeNull();
      const again = yield* syscall('mmap', 4096, 3, s.fd);
      got.push(again > 0 && again !== s.ring);
      const h = new DataView(p.mm.copy_from_user(again, 32)!.buffer);
      got.push(h.getUint32(4, true), h.getUint32(16, true));
      got.push(yield* syscall('mmap', 4096, 3, s.fd)); // the same mapping while it lasts
      expect(yield* submit(p, s, IOCB_CMD_NOOP, 9)).toBe(1);
      const ev = new DataView(p.mm.copy_from_user(again + AIO_RING_HEADER_SIZE, 32)!.buffer);
      got.push(
        Number(ev.getBigUint64(0, true)),
        new DataView(p.mm.copy_from_user(again, 32)!.buffer).getUint32(12, true),
      );
      got.push(user_ring(p, again).nr);
      expect(yield* syscall('close', s.fd)).toBe(0);
      got.push(p.mm.copy_from_user(again, 1));
      got.push(p.mm.regions.some((r) => r.what === 'aio-ring'));
      got.push(again);
    });
    const again = got.at(-1);
    expect(got.slice(0, -1)).toEqual([true, 5, AIO_RING_MAGIC, again, 9, 1, 5, null, false]);
  });

  it('mmap of the ring past the address-space limit is -ENOMEM', () => {
    let r = 0;
    world(function* (p) {
      const fd = yield* syscall('open', '/dev/aio', O_RDWR);
      p.mm.rlimit_as = p.mm.total_vm;
      r = yield* syscall('mmap', 4096, 3, fd);
    });
    expect(r).toBe(-errno.ENOMEM);
  });
});

describe('a head or tail written by user space', () => {
  it('head -1, 2.5, NaN, Infinity or 1e300: no throw, no phantom event, the real events still come', () => {
    for (const v of [-1, 2.5, Number.NaN, Infinity, -Infinity, 1e300, 2 ** 32 + 3, 4]) {
      const got: number[] = [];
      world(function* (p) {
        const s = yield* setup(p);
        const ring = user_ring(p, s.ring);
        expect(yield* submit(p, s, IOCB_CMD_NOOP, 1)).toBe(1);
        expect(yield* submit(p, s, IOCB_CMD_NOOP, 2, 1)).toBe(1);
        const evs = s.mem + 24576;
        got.push(yield* poll(p, s, evs, 1), read_event(p, evs, 0).data); // reaps event 1
        yield* WRITE_ONCE(ring.head, v);
        const n = yield* poll(p, s, evs, 8);
        got.push(n, ...Array.from({ length: n }, (_, i) => read_event(p, evs, i).data));
        got.push(yield* poll(p, s, evs, 8));
        expect(yield* submit(p, s, IOCB_CMD_NOOP, 3)).toBe(1);
        got.push(yield* poll(p, s, evs, 8), read_event(p, evs, 0).data);
      });
      // Head 4 lies past the kernel's tail (2): not believed either.
      expect(got, `head ${v}`).toEqual([1, 1, 1, 2, 0, 1, 3]);
    }
  });

  it('a bogus tail shows no phantom events: never more than were completed, each once', () => {
    for (const v of [-1, 2.5, Number.NaN, 1e300, 3, 4, 2 ** 31]) {
      const got: number[] = [];
      world(function* (p) {
        const s = yield* setup(p);
        const ring = user_ring(p, s.ring);
        expect(yield* submit(p, s, IOCB_CMD_NOOP, 1)).toBe(1);
        yield* WRITE_ONCE(ring.tail, v);
        const evs = s.mem + 24576;
        for (let i = 0; i < 3; i++) got.push(yield* poll(p, s, evs, 8));
        got.push(read_event(p, evs, 0).data);
      });
      expect(got, `tail ${v}`).toEqual([1, 0, 0, 1]);
    }
  });

  it('a tail moved back hides events only until the next completion stores the tail again', () => {
    const got: number[] = [];
    world(function* (p) {
      const s = yield* setup(p);
      const ring = user_ring(p, s.ring);
      expect(yield* submit(p, s, IOCB_CMD_NOOP, 1)).toBe(1);
      expect(yield* submit(p, s, IOCB_CMD_NOOP, 2, 1)).toBe(1);
      yield* WRITE_ONCE(ring.tail, 1); // within [head, tail]: a state the memory model allows
      const evs = s.mem + 24576;
      got.push(yield* poll(p, s, evs, 8), read_event(p, evs, 0).data, yield* poll(p, s, evs, 8));
      expect(yield* submit(p, s, IOCB_CMD_NOOP, 3)).toBe(1);
      const n = yield* poll(p, s, evs, 8);
      got.push(n, read_event(p, evs, 0).data, read_event(p, evs, 1).data);
    });
    expect(got).toEqual([1, 1, 0, 2, 2, 3]);
  });

  it('a head moved back (a replay of reaped events) is not believed; one moved forward within the ring is', () => {
    const got: number[] = [];
    world(function* (p) {
      const s = yield* setup(p);
      const ring = user_ring(p, s.ring);
      for (let i = 0; i < 3; i++) expect(yield* submit(p, s, IOCB_CMD_NOOP, i + 1, i)).toBe(1);
      const evs = s.mem + 24576;
      got.push(yield* poll(p, s, evs, 2));
      yield* WRITE_ONCE(ring.head, 0); // back over the two reaped events
      got.push(yield* poll(p, s, evs, 8), read_event(p, evs, 0).data);
      for (let i = 0; i < 2; i++) expect(yield* submit(p, s, IOCB_CMD_NOOP, i + 4, i)).toBe(1);
      yield* WRITE_ONCE(ring.head, 4); // user space consumed event 4 itself
      got.push(yield* poll(p, s, evs, 8), read_event(p, evs, 0).data);
      // Every slot of the ring is free again: the ring takes nr - 1 = 4 new requests, no more.
      for (let i = 0; i < 5; i++) got.push(yield* submit(p, s, IOCB_CMD_NOOP, 10 + i, i));
    });
    expect(got).toEqual([2, 1, 3, 1, 5, 1, 1, 1, 1, -EAGAIN]);
  });
});

/** What a hostile program does between its syscalls. */
type Cmd =
  | { readonly t: 'submit'; readonly op: number }
  | { readonly t: 'head' | 'tail'; readonly v: number }
  | { readonly t: 'getevents'; readonly nr: number; readonly wait: boolean; readonly inRing: boolean }
  | { readonly t: 'read'; readonly n: number }
  | { readonly t: 'reap'; readonly max: number }
  | { readonly t: 'remap' }
  | { readonly t: 'nap'; readonly ns: number };

/** Anything a 32-bit word may be given from JS: NaN, ±Infinity, -0, fractions, huge, negative. */
const wordValue = fc.oneof(
  fc.integer({ min: -3, max: 12 }),
  fc.integer(),
  fc.double(),
  fc.constantFrom(Number.NaN, Infinity, -Infinity, -0, -1, 2.5, 2 ** 32, 2 ** 32 + 1, 2 ** 53, 1e300, -1e300),
);

const cmd: fc.Arbitrary<Cmd> = fc.oneof(
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('submit' as const),
      op: fc.constantFrom(IOCB_CMD_NOOP, IOCB_CMD_PREAD),
    }),
  },
  { weight: 3, arbitrary: fc.record({ t: fc.constantFrom('head' as const, 'tail' as const), v: wordValue }) },
  {
    weight: 4,
    arbitrary: fc.record({
      t: fc.constant('getevents' as const),
      nr: fc.integer({ min: 1, max: 8 }),
      wait: fc.boolean(),
      inRing: fc.boolean(),
    }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('read' as const), n: fc.integer({ min: 1, max: 4 }) }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('reap' as const), max: fc.integer({ min: 1, max: 8 }) }),
  },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('remap' as const) }) },
  {
    weight: 1,
    arbitrary: fc.record({ t: fc.constant('nap' as const), ns: fc.integer({ min: 0, max: 3000 }) }),
  },
);

/** The kernel's own ring state is sane: indexes of the ring, and never more events and requests than the ring holds. */
function kernelStateSane(ctx: Kioctx): void {
  const nr = ctx.nr;
  for (const i of [ctx.khead, ctx.ktail]) {
    expect(Number.isInteger(i)).toBe(true);
    expect(i >= 0 && i < nr).toBe(true);
  }
  expect(ctx.reqsActive >= 0 && ctx.reqsActive <= ctx.maxReqs).toBe(true);
  expect(((ctx.ktail - ctx.khead + nr) % nr) + ctx.reqsActive).toBeLessThanOrEqual(nr - 1);
}

describe('the ring is untrusted input (property)', () => {
  test.prop([fc.integer({ min: 1, max: 5 }), fc.array(cmd, { maxLength: 40 })], { numRuns: 150 })(
    'any head and tail at any time between syscalls: no throw, returns >= 0 or an errno, no event twice or uncompleted, the kernel intact',
    (ringNr, cmds) => {
      let nextData = 1;
      const submitted = new Set<number>();
      const returned = new Set<number>();
      let returnedCount = 0;
      let completedAtClose = -1;
      let submittedAtClose = -1;
      const k = world(function* (p) {
        const s = yield* setup(p);
        const nb = yield* syscall('open', '/dev/aio', O_RDWR | O_NONBLOCK); // a second context, for read()
        expect(nb >= 0).toBe(true);
        let ringAddr = s.ring;
        const evs = s.mem + 24576;
        const ts = s.mem + 20480;
        const ret = (r: number): number => {
          expect(r >= 0 || ERRNOS.has(r), `returned ${r}`).toBe(true);
          return r;
        };
        const took = (at: number, n: number): void => {
          for (let i = 0; i < n; i++) {
            const d = read_event(p, at, i).data;
            expect(submitted.has(d), `event of data ${d}, never submitted`).toBe(true);
            expect(returned.has(d), `event of data ${d} returned twice`).toBe(false);
            returned.add(d);
          }
          returnedCount += n;
          expect(returnedCount).toBeLessThanOrEqual(s.ctx.published);
        };
        for (const c of cmds) {
          switch (c.t) {
            case 'submit': {
              const d = nextData++;
              const r = ret(yield* submit(p, s, c.op, d, d % 16));
              if (r === 1) submitted.add(d);
              else expect(r).toBe(-EAGAIN);
              break;
            }
            case 'head':
            case 'tail':
              if (user_ring(p, ringAddr) !== undefined) {
                const ring = user_ring(p, ringAddr);
                yield* WRITE_ONCE(c.t === 'head' ? ring.head : ring.tail, c.v);
              }
              break;
            case 'getevents': {
              timespec(p, ts, c.wait ? 2000 : 0);
              // Into the last page of the ring's own mapping, or into plain memory.
              const r = p.mm.find(ringAddr, 1);
              const at = c.inRing && r !== undefined ? r.start + r.len - c.nr * IO_EVENT_SIZE : evs;
              const n = ret(yield* syscall('__io_getevents', s.fd, at, c.nr, ts));
              if (n > 0) took(at, n);
              break;
            }
            case 'read':
              expect(ret(yield* syscall('read', nb, evs, c.n * IO_EVENT_SIZE))).toBe(-EAGAIN);
              break;
            case 'reap':
              // User space reaping its own ring: what it finds is its own business, but it must not throw.
              yield* aio_ring_reap(user_ring(p, ringAddr), c.max);
              break;
            case 'remap':
              expect(ret(yield* syscall('munmap', ringAddr))).toBe(0);
              ringAddr = ret(yield* syscall('mmap', 4096, 3, s.fd));
              expect(new DataView(p.mm.copy_from_user(ringAddr, 32)!.buffer).getUint32(16, true)).toBe(
                AIO_RING_MAGIC,
              );
              break;
            case 'nap':
              ret(yield* syscall('nanosleep', c.ns));
              break;
          }
          kernelStateSane(s.ctx);
        }
        // Valid use goes on: a new request is accepted unless the kernel holds the ring full, and its
        // event comes; close waits for everything, every accepted request got exactly one event.
        const d = nextData++;
        const r = ret(yield* submit(p, s, IOCB_CMD_NOOP, d, d % 16));
        if (r === 1) {
          submitted.add(d);
          timespec(p, ts, 2000);
          let n = 0;
          for (let tries = 0; tries < 2 * s.ctx.nr && !returned.has(d); tries++) {
            n = ret(yield* syscall('__io_getevents', s.fd, evs, 8, ts));
            took(evs, n);
          }
          expect(returned.has(d), 'the new request’s event came').toBe(true);
        } else {
          expect(r).toBe(-EAGAIN);
          expect(((s.ctx.ktail - s.ctx.khead + s.ctx.nr) % s.ctx.nr) + s.ctx.reqsActive).toBe(s.ctx.nr - 1);
        }
        expect(yield* syscall('close', s.fd)).toBe(0);
        expect(yield* syscall('close', nb)).toBe(0);
        completedAtClose = s.ctx.published;
        submittedAtClose = s.ctx.submitted;
        // And a new context works from scratch.
        const s2 = yield* setup(p);
        expect(yield* submit(p, s2, IOCB_CMD_NOOP, 99)).toBe(1);
        expect(yield* poll(p, s2, evs, 1)).toBe(1);
        expect(read_event(p, evs, 0).data).toBe(99);
      }, ringNr);
      expect(completedAtClose).toBe(submittedAtClose);
      expect(submittedAtClose).toBe(submitted.size);
      const lim = aio_limits(k);
      expect(lim.reqsActive).toBe(0);
      expect(lim.aioNr).toBe(0);
    },
  );
});
