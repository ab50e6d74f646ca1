/**
 * The benchmark groups `npm run bench` runs, in order. Add a group by importing it here and
 * appending it to `groups`.
 */
import { aioGroup } from './aio.js';
import { desGroup } from './des.js';
import { devicesGroup } from './devices.js';
import { exploreGroup } from './explore.js';
import { kernelGroup } from './kernel.js';
import { timersGroup } from './timers.js';
import type { BenchGroup } from './types.js';

/** Every benchmark group, in the order they run. */
export const groups: BenchGroup[] = [
  desGroup,
  kernelGroup,
  exploreGroup,
  devicesGroup,
  aioGroup,
  timersGroup,
];
