/**
 * Benchmark group `aio`: end-to-end simulated asynchronous IOs per wall-second.
 *
 * - `raw-qd32`: one process keeps 32 random 4 KiB reads of `/dev/raw1` (a RAM-model disk) in
 *   flight: `__submit_ios` → the raw AIO path (pin, map, buffer head to the block layer) → the
 *   disk interrupt → `aio_complete` → `__io_getevents` reaps, and each reaped event lets the
 *   next request go. Unit: `io`. Figures: simulated ns and kernel steps per IO.
 *
 * Timed, without tracing or the lock validator. `--quick` divides the size by 10.
 */
import { IOCB_CMD_PREAD } from '../aio/kioctx.js';
import { aio_init } from '../aio/syscalls.js';
import { setup_disks } from '../devices/setup.js';
import { seeded } from '../kernel/chooser.js';
import { Kernel } from '../kernel/kernel.js';
import { O_RDONLY, O_RDWR } from '../kernel/process.js';
import { Xoshiro128 } from '../kernel/random.js';
import { create_process, syscall } from '../kernel/syscalls.js';
import { aio_pump, type PumpResult } from '../scenarios/aio.js';
import type { BenchGroup, BenchModelResult, BenchOptions } from './types.js';
import { measure, result } from './types.js';

const DEPTH = 32;

/** A kernel whose process will do `ios` random 4 KiB AIO reads at depth `depth`, ready to run. */
export function buildAioReader(ios: number, depth = DEPTH): { k: Kernel; done: () => number } {
  const k = new Kernel({ cpus: 2, timed: true, trace: false, lockdep: false }, seeded(1));
  setup_disks(k, { disks: 1, model: 'ram', raw: true, diskBytes: 64 * 1024 * 1024 });
  aio_init(k);
  const rng = new Xoshiro128(7);
  const reqs = Array.from({ length: ios }, () => ({ pos: rng.below(16384) * 4096 }));
  let count = 0;
  create_process(k, 'aio-reader', function* (p) {
    const ctx = yield* syscall('open', '/dev/aio', O_RDWR);
    const fd = yield* syscall('open', '/dev/raw1', O_RDONLY);
    const buf = p.mm.mmap(depth * 4096);
    // A trampolined call: the pump's operations do not pass through this frame.
    const r: PumpResult = yield aio_pump(
      p,
      ctx,
      reqs.map((q) => ({ op: IOCB_CMD_PREAD, fd, len: 4096, pos: q.pos })),
      depth,
      (slot) => buf + slot * 4096,
    );
    count = r.res.filter((x) => x === 4096).length;
    yield* syscall('close', ctx);
  });
  return { k, done: () => count };
}

function model(ios: number): BenchModelResult {
  const m = measure(
    () => buildAioReader(ios),
    (w) => {
      w.k.run();
    },
  );
  const done = m.workload.done();
  if (done !== ios) throw new Error(`aio bench: ${done} of ${ios} IOs completed`);
  return result(m, done, 'io', {
    simNsPerIo: Math.round(m.workload.k.now / ios),
    stepsPerIo: Math.round(m.workload.k.steps / ios),
  });
}

/** The `aio` group. */
export const aioGroup: BenchGroup = {
  name: 'aio',
  models: {
    'raw-qd32': (o: BenchOptions) => model(o.quick ? 10_000 : 100_000),
  },
};
