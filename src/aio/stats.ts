/**
 * The AIO limits and accounting as figures: `aio.nr`, `aio.maxNr` (request slots of all
 * contexts, 2.4's `aio-nr` / `aio-max-nr`), `aio.pinned`, `aio.maxPinned` (pinned user pages and
 * their limit, `aio-pinned` / `aio-max-pinned`: the block layer's pinned-memory account, shared
 * with synchronous direct IO), `aio.maxSize` (`aio-max-size`, bytes) and `aio.reqsActive`
 * (requests in flight over all contexts).
 *
 * `aio_stats(k)` reads them; `aio_update_stats(k)` makes them gauges of `k.stats` (read whenever
 * `stats` is read: the first AIO context of a kernel does it, so nothing on the AIO paths has
 * to; scenarios may call it before reporting a kernel that never opened one).
 */

import { pin_state } from '../devices/kiobuf.js';
import { PAGE_SIZE } from '../devices/page.js';
import type { Kernel } from '../kernel/kernel.js';
import { keyed } from '../kernel/keyed.js';
import { aio_limits } from './limits.js';

/** The AIO accounting figures. */
export interface AioStats {
  readonly 'aio.nr': number;
  readonly 'aio.maxNr': number;
  readonly 'aio.pinned': number;
  readonly 'aio.maxPinned': number;
  readonly 'aio.maxSize': number;
  readonly 'aio.reqsActive': number;
}

/** The kernel's AIO accounting now. */
export function aio_stats(k: Kernel): AioStats {
  const lim = aio_limits(k);
  const ps = pin_state(k);
  return {
    'aio.nr': lim.aioNr,
    'aio.maxNr': lim.aioMaxNr,
    'aio.pinned': ps.pinnedBytes / PAGE_SIZE,
    'aio.maxPinned': Math.floor(ps.limitBytes / PAGE_SIZE),
    'aio.maxSize': lim.aioMaxSize,
    'aio.reqsActive': lim.reqsActive,
  };
}

/** Makes the figures of `aio_stats(k)` gauges of `k.stats` (once per kernel). */
export function aio_update_stats(k: Kernel): void {
  withGauges(k);
}

/** The AIO gauges of `k.stats`, made on the first call for `k`. */
const withGauges = keyed((k: Kernel): true => {
  const lim = aio_limits(k);
  const ps = pin_state(k);
  k.gauge('aio.nr', () => lim.aioNr);
  k.gauge('aio.maxNr', () => lim.aioMaxNr);
  k.gauge('aio.pinned', () => ps.pinnedBytes / PAGE_SIZE);
  k.gauge('aio.maxPinned', () => Math.floor(ps.limitBytes / PAGE_SIZE));
  k.gauge('aio.maxSize', () => lim.aioMaxSize);
  k.gauge('aio.reqsActive', () => lim.reqsActive);
  return true;
});
