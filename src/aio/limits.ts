/**
 * AIO limits and accounting, the sysctl-like knobs of the 2.4 code:
 *
 * - `aio-nr` / `aio-max-nr`: request slots of all contexts together (each context counts its
 *   `maxReqs`); opening `/dev/aio` past the maximum fails with -EAGAIN;
 * - `ringNr`: request slots of a new context (its ring has one entry more), default 128; set
 *   it with `aio_init(k, { ringNr })` before the context is opened;
 * - `aio-max-size`: the largest chunk one raw or direct request moves at a time (128 KiB, as
 *   in 2.4); bigger requests are split into chunks, each submitted when the previous completes;
 * - pinned memory (`aio-pinned` / `aio-max-pinned`) is the block layer's pinned-page account
 *   (`src/devices/kiobuf.ts`), shared by synchronous and asynchronous direct IO;
 * - `completeWakeup`: how `aio_complete` wakes waiters after publishing an event:
 *   `'waitqueue_active'` is the 2.4 code as shipped (a lockless check with no barrier: the
 *   lost wake-up of `aio-complete-wakeup`), `'mb+waitqueue_active'` adds the `smp_mb()` that
 *   fixes it (the default), `'wake_up'` always takes the queue lock.
 */

import type { Kernel } from '../kernel/kernel.js';
import { keyed } from '../kernel/keyed.js';
import type { CompleteWakeup, Kioctx } from './kioctx.js';

/** Per-kernel AIO state and limits. */
export interface AioLimits {
  aioNr: number;
  aioMaxNr: number;
  ringNr: number;
  aioMaxSize: number;
  completeWakeup: CompleteWakeup;
  /** Requests in flight over all contexts. */
  reqsActive: number;
  readonly contexts: Kioctx[];
  nextId: number;
}

/** Defaults. */
export const DEFAULT_AIO_LIMITS: Readonly<
  Pick<AioLimits, 'aioMaxNr' | 'ringNr' | 'aioMaxSize' | 'completeWakeup'>
> = Object.freeze({
  aioMaxNr: 65536,
  ringNr: 128,
  aioMaxSize: 128 * 1024,
  completeWakeup: 'mb+waitqueue_active',
});

/** The kernel's AIO accounting (created with defaults on first use). */
export const aio_limits: (k: Kernel) => AioLimits = keyed(() => ({
  ...DEFAULT_AIO_LIMITS,
  aioNr: 0,
  reqsActive: 0,
  contexts: [],
  nextId: 1,
}));

/** Options of `aio_init`. */
export interface AioOptions {
  readonly aioMaxNr?: number;
  readonly ringNr?: number;
  readonly aioMaxSize?: number;
  readonly completeWakeup?: CompleteWakeup;
}

/** Sets AIO limits (before contexts are opened). */
export function set_aio_limits(k: Kernel, o: AioOptions): AioLimits {
  const s = aio_limits(k);
  const check = (name: string, v: number | undefined, min: number): void => {
    if (v !== undefined && (!Number.isInteger(v) || v < min))
      throw new Error(`aio_init: ${name} must be an integer >= ${min}, got ${v}`);
  };
  check('aioMaxNr', o.aioMaxNr, 1);
  check('ringNr', o.ringNr, 1);
  check('aioMaxSize', o.aioMaxSize, 512);
  if (o.aioMaxNr !== undefined) s.aioMaxNr = o.aioMaxNr;
  if (o.ringNr !== undefined) s.ringNr = o.ringNr;
  if (o.aioMaxSize !== undefined) s.aioMaxSize = o.aioMaxSize;
  if (o.completeWakeup !== undefined) s.completeWakeup = o.completeWakeup;
  return s;
}
