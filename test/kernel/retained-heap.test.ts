/**
 * Finished work is garbage: an exited task, once nothing simulated refers to it, is not kept by
 * the kernel, so a run that spawns a task per customer holds no more memory after twice the
 * customers. Measured in a child process (it needs `--expose-gc`, and a heap of its own).
 *
 * On one CPU the model makes no choices, so nothing else grows with the work; on two, the
 * recorded choice list (the run's schedule) grows with it, and only the tasks are checked.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const fixture = fileURLToPath(new URL('./fixtures/retained-heap.ts', import.meta.url));

interface Retained {
  customers: number;
  heap: number;
  alive: number;
  sampled: number;
}

function run(cpus: number, sizes: number[]): Retained[] {
  const r = spawnSync(
    process.execPath,
    ['--expose-gc', '--import', 'tsx', fixture, String(cpus), ...sizes.map(String)],
    {
      encoding: 'utf8',
    },
  );
  if (r.status !== 0) throw new Error(`retained-heap.ts exited ${r.status}: ${r.stderr}`);
  return JSON.parse(r.stdout) as Retained[];
}

describe('retained heap', () => {
  it('twice the customers leave no more than 10% more heap, and no exited task reachable', () => {
    const [once, twice] = run(1, [20_000, 40_000]);
    expect(once!.sampled).toBe(20);
    expect(twice!.sampled).toBe(40);
    expect(once!.alive + twice!.alive).toBe(0);
    expect(twice!.heap).toBeLessThanOrEqual(once!.heap * 1.1);
  });

  it('on two CPUs no exited task stays reachable either', () => {
    const [r] = run(2, [20_000]);
    expect(r!.sampled).toBe(20);
    expect(r!.alive).toBe(0);
  });
});
