/**
 * Benchmark group `devices`: how many simulated 4 KiB reads the simulator runs per wall-second.
 *
 * - `pagecache-4k`: one process `pread`s 4 KiB at a time, cycling over a 1 MiB file whose pages
 *   are all cached (a warm-up pass reads it first, outside the measurement). Unit: `read`.
 * - `raw-4k`: one process `pread`s 4 KiB at a time from `/dev/raw1` on a RAM-model disk:
 *   pinning, a buffer head, a request, the disk interrupt and the wake-up, every time. Unit: `read`.
 *
 * Both run timed, without tracing or the lock validator. `--quick` divides the sizes by 10.
 */
import { setup_disks } from '../devices/setup.js';
import { fs_mkfile } from '../devices/simplefs.js';
import { seeded } from '../kernel/chooser.js';
import { Kernel } from '../kernel/kernel.js';
import { O_RDONLY } from '../kernel/process.js';
import { create_process, syscall } from '../kernel/syscalls.js';
import type { BenchGroup, BenchModelResult, BenchOptions } from './types.js';
import { measure, result } from './types.js';

const FILE_BYTES = 1024 * 1024;

/** A kernel with a reader of `reads` 4 KiB preads of `path` (cycling over 1 MiB), ready to run. */
export function buildReader(path: 'file' | 'raw', reads: number): { k: Kernel; done: () => number } {
  const k = new Kernel({ cpus: 2, timed: true, trace: false, lockdep: false }, seeded(1));
  const s = setup_disks(k, { disks: 1, model: 'ram', fs: true, raw: true, diskBytes: 64 * 1024 * 1024 });
  fs_mkfile(s.fs!, 'data', FILE_BYTES);
  const target = path === 'file' ? '/mnt/data' : '/dev/raw1';
  if (path === 'file') {
    // Warm the page cache before the measured run.
    create_process(k, 'warm', function* (p) {
      const fd = yield* syscall('open', target, O_RDONLY);
      const buf = p.mm.mmap(FILE_BYTES);
      yield* syscall('pread', fd, buf, FILE_BYTES, 0);
    });
    k.run();
  }
  let count = 0;
  create_process(k, 'reader', function* (p) {
    const fd = yield* syscall('open', target, O_RDONLY);
    const buf = p.mm.mmap(4096);
    for (let i = 0; i < reads; i++) {
      if ((yield* syscall('pread', fd, buf, 4096, (i * 4096) % FILE_BYTES)) === 4096) count++;
    }
  });
  return { k, done: () => count };
}

function model(path: 'file' | 'raw', reads: number): BenchModelResult {
  const m = measure(
    () => buildReader(path, reads),
    (w) => {
      w.k.run();
    },
  );
  const done = m.workload.done();
  if (done !== reads) throw new Error(`devices bench: ${done} of ${reads} reads completed`);
  return result(m, done, 'read', {
    simNsPerRead: Math.round(m.workload.k.now / reads),
    stepsPerRead: Math.round(m.workload.k.steps / reads),
  });
}

/** The `devices` group. */
export const devicesGroup: BenchGroup = {
  name: 'devices',
  models: {
    'pagecache-4k': (o: BenchOptions) => model('file', o.quick ? 20_000 : 200_000),
    'raw-4k': (o: BenchOptions) => model('raw', o.quick ? 5_000 : 50_000),
  },
};
