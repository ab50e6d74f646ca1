/**
 * Helpers for the worktodo tests: a small timed kernel with a keventd pool.
 */
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel, type KernelConfig } from '../../src/kernel/kernel.js';
import { keventd_init } from '../../src/kernel/tqueue.js';

/** A timed, untraced kernel with `workers` keventd threads. */
export function kernelWithPool(workers = 1, config: Partial<KernelConfig> = {}): Kernel {
  const k = new Kernel({ cpus: 2, timed: true, trace: false, ...config }, seeded(1));
  keventd_init(k, workers);
  return k;
}
