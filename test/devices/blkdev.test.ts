/**
 * The block layer: sparse storage, plugging and merging, the elevators, completion by interrupt
 * with `b_end_io`, `ll_rw_block` + `wait_on_buffer`, and page locking with its waiters.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Disk, ll_rw_block, READ, Request, SparseStore, submit_bh, WRITE } from '../../src/devices/blkdev.js';
import {
  alloc_buffer_head,
  BH_Dirty,
  BH_Uptodate,
  type BufferHead,
  buffer_locked,
  lock_buffer,
  mark_buffer_dirty,
  unlock_buffer,
  wait_on_buffer,
} from '../../src/devices/buffer.js';
import { RAM_DEFAULT } from '../../src/devices/latency.js';
import {
  alloc_page,
  lock_page,
  PG_locked,
  TryLockPage,
  UnlockPage,
  wait_on_page,
} from '../../src/devices/page.js';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { run_task_queue, tq_disk } from '../../src/kernel/tqueue.js';

describe('SparseStore', () => {
  it('allocates only written chunks and reads zeros elsewhere', () => {
    const s = new SparseStore();
    const far = 2 ** 40 - 8192;
    s.write(
      far + 4090,
      new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20]),
    );
    expect(s.chunks.size).toBe(2); // the write straddles a chunk boundary
    const out = new Uint8Array(30);
    s.read(far + 4085, out);
    expect(Array.from(out.subarray(0, 5))).toEqual([0, 0, 0, 0, 0]);
    expect(out[5]).toBe(1);
    expect(out[24]).toBe(20);
    s.discard(far, 8192);
    expect(s.chunks.size).toBe(0);
  });
});

function disk(k: Kernel, elevator: 'noop' | 'sorted'): Disk {
  return new Disk(k, 'sdx', { sizeBytes: 1 << 24, model: RAM_DEFAULT, elevator });
}

function bh(k: Kernel, d: Disk, block: number, done: number[]): BufferHead {
  const b = alloc_buffer_head(k, `b${block}`, block, 4096);
  b.b_dev = d;
  b.b_end_io = function* (x, ok) {
    expect(ok).toBe(true);
    done.push(x.b_blocknr);
    yield* unlock_buffer(x);
  };
  return b;
}

describe('request queue', () => {
  it('plugs, merges adjacent buffers into one request, and unplugs through tq_disk', () => {
    const k = new Kernel({ cpus: 1, timed: true, trace: false }, seeded(1));
    const d = disk(k, 'noop');
    const done: number[] = [];
    k.spawn('io', function* () {
      const bhs = [1, 2, 0, 3].map((b) => bh(k, d, b, done));
      for (const b of bhs) {
        yield* lock_buffer(b);
        b.b_data.fill(b.b_blocknr + 1);
        yield* submit_bh(WRITE, b);
      }
      expect(d.queue.plugged).toBe(true);
      expect(d.queue.pending.length).toBe(1); // 1; 2 back-merged; 0 front-merged; 3 back-merged
      yield* run_task_queue(tq_disk(k));
      for (const b of bhs) yield* wait_on_buffer(b);
    });
    expect(k.run().status).toBe('done');
    expect(d.requests).toBe(1);
    expect(d.merges).toBe(3);
    expect(done.sort()).toEqual([0, 1, 2, 3]);
    expect(d.peek(2 * 4096, 1)[0]).toBe(3);
  });

  it('the sorted elevator serves in one sweep by sector; noop in arrival order', () => {
    for (const elevator of ['sorted', 'noop'] as const) {
      const k = new Kernel({ cpus: 1, timed: true, trace: false }, seeded(1));
      const d = disk(k, elevator);
      const done: number[] = [];
      k.spawn('io', function* () {
        const bhs = [50, 10, 90, 30, 70].map((b) => bh(k, d, b, done));
        for (const b of bhs) {
          yield* lock_buffer(b);
          yield* submit_bh(READ, b);
        }
        yield* run_task_queue(tq_disk(k));
        for (const b of bhs) yield* wait_on_buffer(b);
      });
      expect(k.run().status).toBe('done');
      // The first request (50) starts at unplug; then the elevator picks among the rest.
      expect(done).toEqual(elevator === 'sorted' ? [10, 30, 50, 70, 90] : [50, 10, 90, 30, 70]);
    }
  });

  test.prop(
    [
      fc.array(fc.integer({ min: 0, max: 40 }), { minLength: 1, maxLength: 40 }),
      fc.integer({ min: 0, max: 48 }),
    ],
    { numRuns: 200 },
  )(
    'the sorted elevator picks one-way C-SCAN: the lowest sector at or after the head, else the lowest',
    (sectors, head) => {
      const k = new Kernel({ cpus: 1, timed: true, trace: false }, seeded(1));
      const d = disk(k, 'sorted');
      const pending = sectors.map((s, i) => {
        const b = alloc_buffer_head(k, `b${i}`, 0, 512);
        b.b_rsector = s;
        return new Request(i, READ, b);
      });
      d.queue.pending.push(...pending);
      d.model.head = head;
      // The reference: the first request of the lowest qualifying sector, others kept in order.
      const model = pending.slice();
      const picker = d as unknown as { pick(): Request | undefined };
      while (model.length > 0) {
        const ahead = model.filter((r) => r.sector >= head);
        const from = ahead.length > 0 ? ahead : model;
        const low = Math.min(...from.map((r) => r.sector));
        const want = from.find((r) => r.sector === low)!;
        model.splice(model.indexOf(want), 1);
        expect(picker.pick()).toBe(want);
        expect(d.queue.pending).toEqual(model);
      }
      expect(picker.pick()).toBeUndefined();
    },
  );

  it('ll_rw_block skips clean buffers on WRITE and up-to-date ones on READ; wait_on_buffer unplugs', () => {
    const k = new Kernel({ cpus: 2, timed: false, trace: false }, seeded(2));
    const d = disk(k, 'sorted');
    let started: number[] = [];
    k.spawn('io', function* () {
      const a = alloc_buffer_head(k, 'a', 5, 4096);
      const b = alloc_buffer_head(k, 'b', 6, 4096);
      for (const x of [a, b]) x.b_dev = d;
      a.b_data.fill(7);
      yield* mark_buffer_dirty(a);
      started.push(yield* ll_rw_block(WRITE, [a, b])); // b is clean
      yield* wait_on_buffer(a); // runs tq_disk itself
      expect(a.b_state.value & (1 << BH_Dirty)).toBe(0);
      expect(a.b_state.value & (1 << BH_Uptodate)).not.toBe(0);
      started.push(yield* ll_rw_block(READ, [a, b])); // a is up to date
      yield* wait_on_buffer(b);
      expect(yield* buffer_locked(b)).toBe(false);
    });
    expect(k.run().status).toBe('done');
    expect(started).toEqual([1, 1]);
    expect(d.peek(5 * 4096, 4)).toEqual(new Uint8Array([7, 7, 7, 7]));
    started = [];
  });

  it('a buffer past the end of the device completes with an error', () => {
    const k = new Kernel({ cpus: 1, timed: false, trace: false }, seeded(2));
    const d = disk(k, 'noop');
    let ok: boolean | null = null;
    k.spawn('io', function* () {
      const b = alloc_buffer_head(k, 'far', (1 << 24) / 4096, 4096);
      b.b_dev = d;
      b.b_end_io = function* (x, up): KernelCode<void> {
        ok = up;
        yield* unlock_buffer(x);
      };
      yield* lock_buffer(b);
      yield* submit_bh(READ, b);
    });
    expect(k.run().status).toBe('done');
    expect(ok).toBe(false);
    expect(k.stats['blk.errors']).toBe(1);
  });
});

describe('page locking', () => {
  it('lock_page sleeps while the page is locked; unlock_page wakes lockers and wait_on_page waiters', () => {
    const k = new Kernel({ cpus: 2, timed: false, trace: false }, seeded(4));
    const page = alloc_page(k, 'pg');
    const order: string[] = [];
    k.spawn(
      'owner',
      function* () {
        expect(yield* TryLockPage(page)).toBe(0);
        order.push('owner locked');
        for (let i = 0; i < 5; i++) yield* run_task_queue(tq_disk(k));
        order.push('owner unlocks');
        yield* UnlockPage(page);
      },
      { cpu: 0 },
    );
    k.spawn(
      'locker',
      function* () {
        while (!((page.flags.value >> PG_locked) & 1)) yield* run_task_queue(tq_disk(k));
        yield* lock_page(page);
        order.push('locker locked');
        yield* UnlockPage(page);
      },
      { cpu: 1 },
    );
    k.spawn(
      'waiter',
      function* () {
        while (!((page.flags.value >> PG_locked) & 1)) yield* run_task_queue(tq_disk(k));
        yield* wait_on_page(page);
        order.push('waiter saw unlocked');
      },
      { cpu: 1 },
    );
    const r = k.run({ maxSteps: 10_000 });
    expect(r.status).toBe('done');
    expect(order[0]).toBe('owner locked');
    expect(order.indexOf('owner unlocks')).toBeLessThan(order.indexOf('locker locked'));
    expect(order.indexOf('owner unlocks')).toBeLessThan(order.indexOf('waiter saw unlocked'));
    expect(page.flags.value & (1 << PG_locked)).toBe(0);
  });
});
