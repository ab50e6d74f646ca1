/**
 * Benchmark group `timers`: the same timer workload on the event heap alone, on the plain DES
 * core's loop and on the kernel's loop, to tell what each loop costs on top of the heap.
 *
 * Every model keeps `PENDING` = 1000 timers pending; each timer, when it fires, counts itself
 * and arms the next one Exp(mean 1 unit) later (the classic "hold" workload), until `TIMERS`
 * (1,000,000; `--quick`: 100,000) have fired. Unit: `timer`.
 *
 * - `heap`: `EventHeap` (`src/kernel/heap.ts`) driven by a bare loop: pop the earliest, push its
 *   successor. What the heap itself costs.
 * - `des`: the DES core's `Sim` with callback timers (`sim.timeout(d)` + `addCallback`), no
 *   process: what its loop adds to the heap.
 * - `kernel`: the kernel's `Kernel.after(d, label, fn)` timers in a timed run on one CPU whose one
 *   task sleeps until the last timer wakes it: what the kernel's step loop adds to the heap. One
 *   unit is 1 ms of simulated time, as in the `kernel` group, so that whole-ns delays rarely tie.
 */

import { seeded } from '../kernel/chooser.js';
import { EventHeap } from '../kernel/heap.js';
import { Kernel } from '../kernel/kernel.js';
import type { KernelCode } from '../kernel/ops.js';
import { Xoshiro128 } from '../kernel/random.js';
import { schedule, set_current_state, TASK_UNINTERRUPTIBLE } from '../kernel/sched.js';
import type { Task } from '../kernel/task.js';
import { Sim, type SimEvent } from './des/index.js';
import type { BenchGroup, BenchModelResult, BenchOptions } from './types.js';
import { measure, result } from './types.js';

/** Timers pending at any time. */
const PENDING = 1000;
/** One model time unit in the kernel's clock, in ns (1 ms). */
const UNIT_NS = 1_000_000;

function total(o: BenchOptions): number {
  return o.quick ? 100_000 : 1_000_000;
}

interface HeapWorkload {
  readonly heap: EventHeap<number>;
  readonly rng: Xoshiro128;
  readonly timers: number;
  fired: number;
}

function buildHeap(timers: number): HeapWorkload {
  const heap = new EventHeap<number>(256);
  const rng = new Xoshiro128(3);
  for (let i = 0; i < PENDING; i++) heap.push(rng.exp(1), 1, i);
  return { heap, rng, timers, fired: 0 };
}

function runHeap(w: HeapWorkload): void {
  const { heap, rng } = w;
  let armed = PENDING;
  while (heap.size > 0) {
    const now = heap.peekTime();
    const id = heap.pop();
    w.fired++;
    if (armed < w.timers) {
      heap.push(now + rng.exp(1), 1, id);
      armed++;
    }
  }
}

interface DesWorkload {
  readonly sim: Sim;
  readonly rng: Xoshiro128;
  readonly timers: number;
  armed: number;
  fired: number;
  readonly fire: (ev: SimEvent<unknown>) => void;
}

function buildDes(timers: number): DesWorkload {
  const sim = new Sim();
  const w: DesWorkload = {
    sim,
    rng: new Xoshiro128(3),
    timers,
    armed: 0,
    fired: 0,
    fire: () => {
      w.fired++;
      if (w.armed < w.timers) arm(w);
    },
  };
  for (let i = 0; i < PENDING; i++) arm(w);
  return w;
}

function arm(w: DesWorkload): void {
  w.armed++;
  w.sim.timeout(w.rng.exp(1)).addCallback(w.fire);
}

interface KernelWorkload {
  readonly k: Kernel;
  readonly rng: Xoshiro128;
  readonly timers: number;
  armed: number;
  fired: number;
  waiter: Task | null;
  readonly fire: () => void;
}

function* waitForTimers(): KernelCode<void> {
  yield set_current_state(TASK_UNINTERRUPTIBLE);
  yield schedule('timers');
}

function buildKernel(timers: number): KernelWorkload {
  const k = new Kernel({ cpus: 1, timed: true, trace: false, lockdep: false, memoryModel: 'sc' }, seeded(1));
  const w: KernelWorkload = {
    k,
    rng: new Xoshiro128(3),
    timers,
    armed: 0,
    fired: 0,
    waiter: null,
    fire: () => {
      w.fired++;
      if (w.armed < w.timers) kernelArm(w);
      else if (w.fired === w.timers) k.wake_after(0, w.waiter!);
    },
  };
  w.waiter = k.spawn('waiter', waitForTimers);
  for (let i = 0; i < PENDING; i++) kernelArm(w);
  return w;
}

function kernelArm(w: KernelWorkload): void {
  w.armed++;
  w.k.after(Math.max(1, Math.round(w.rng.exp(UNIT_NS))), 'timer', w.fire);
}

function checked(fired: number, timers: number, model: string): number {
  if (fired !== timers) throw new Error(`timers/${model}: ${fired} timers fired, expected ${timers}`);
  return fired;
}

function heap(o: BenchOptions): BenchModelResult {
  const m = measure(() => buildHeap(total(o)), runHeap);
  return result(m, checked(m.workload.fired, total(o), 'heap'), 'timer', { pending: PENDING });
}

function des(o: BenchOptions): BenchModelResult {
  const m = measure(
    () => buildDes(total(o)),
    (w) => w.sim.run(),
  );
  return result(m, checked(m.workload.fired, total(o), 'des'), 'timer', { pending: PENDING });
}

function kernel(o: BenchOptions): BenchModelResult {
  const m = measure(
    () => buildKernel(total(o)),
    (w) => {
      const r = w.k.run();
      if (r.status !== 'done') throw new Error(`timers/kernel: the run ended '${r.status}'`);
    },
  );
  return result(m, checked(m.workload.fired, total(o), 'kernel'), 'timer', { pending: PENDING });
}

/** The `timers` group: `heap`, `des`, `kernel`. */
export const timersGroup: BenchGroup = {
  name: 'timers',
  models: { heap, des, kernel },
};
