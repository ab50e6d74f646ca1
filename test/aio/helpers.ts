/**
 * Helpers for the AIO path tests: a user-space "submit a batch, reap every event" loop on top
 * of the `/dev/aio` syscalls, as a process would write it with libaio.
 */
import { io_iocb_array, io_prep, read_event } from '../../src/aio/libaio.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import type { Process } from '../../src/kernel/process.js';
import { syscall } from '../../src/kernel/syscalls.js';

/** One request of a batch. */
export interface AioReq {
  readonly op: number;
  readonly fd: number;
  readonly buf: number;
  readonly len: number;
  readonly pos: number;
}

/** A process's AIO context and scratch memory for iocbs and events. */
export interface AioUser {
  readonly p: Process;
  readonly ctx: number;
  readonly mem: number;
  /** Max requests per batch. */
  readonly max: number;
}

/** Opens a context (as the process) with room for `max` requests per batch. */
export function* aio_user(p: Process, max = 64): KernelCode<AioUser> {
  const ctx = yield* syscall('open', '/dev/aio', 2);
  if (ctx < 0) throw new Error(`open /dev/aio: ${ctx}`);
  const mem = p.mm.mmap(max * 64 + max * 8 + max * 32 + 4096);
  return { p, ctx, mem, max };
}

/** What a batch gave: the submit result and each request's event result (by index), and event count. */
export interface BatchResult {
  readonly submitted: number;
  readonly res: (number | undefined)[];
  readonly events: number;
  /** Events whose data named no request of the batch, or a request twice. */
  readonly strays: number;
}

/**
 * Submits `reqs` in one `__submit_ios` and reaps events until every accepted request has one
 * (each iocb's `aio_data` is its index + 1).
 */
export function* aio_batch(u: AioUser, reqs: readonly AioReq[]): KernelCode<BatchResult> {
  const { p, mem } = u;
  if (reqs.length > u.max) throw new Error('batch too large');
  const iocbs: number[] = [];
  reqs.forEach((r, i) => {
    const at = mem + i * 64;
    io_prep(p, at, r.op, r.fd, r.buf, r.len, r.pos, i + 1);
    iocbs.push(at);
  });
  const arr = mem + u.max * 64;
  const evs = arr + u.max * 8;
  io_iocb_array(p, arr, iocbs);
  const res: (number | undefined)[] = reqs.map(() => undefined);
  let submitted = 0;
  if (reqs.length > 0) submitted = yield* syscall('__submit_ios', u.ctx, reqs.length, arr);
  const want = Math.max(0, submitted);
  let events = 0;
  let strays = 0;
  while (events < want) {
    const n = yield* syscall('__io_getevents', u.ctx, evs, u.max, 0);
    if (n <= 0) throw new Error(`__io_getevents returned ${n}`);
    for (let i = 0; i < n; i++) {
      const ev = read_event(p, evs, i);
      const idx = ev.data - 1;
      if (idx < 0 || idx >= reqs.length || res[idx] !== undefined) strays++;
      else res[idx] = ev.res;
      events++;
    }
  }
  return { submitted, res, events, strays };
}

/** Bytes `seed`-patterned, `n` long. */
export function fill(seed: number, n: number): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = (seed + i * 13 + (i >> 9)) & 255;
  return out;
}
