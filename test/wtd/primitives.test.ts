import { describe, expect, it } from 'vitest';
import {
  alloc_buffer_head,
  BH_Lock,
  buffer_locked,
  lock_buffer,
  unlock_buffer,
} from '../../src/devices/buffer.js';
import { alloc_page, lock_page, PageLocked, PG_locked, unlock_page } from '../../src/devices/page.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { current, msleep_ns } from '../../src/kernel/sched.js';
import { down, sema_init, up } from '../../src/waitqueue/semaphore.js';
import { wake_up_all } from '../../src/waitqueue/waitqueue.js';
import {
  wtd_down,
  wtd_lock_buffer,
  wtd_lock_page,
  wtd_wait_on_buffer,
  wtd_wait_page,
} from '../../src/wtd/primitives.js';
import { type Worktodo, wtd_init } from '../../src/wtd/worktodo.js';
import { kernelWithPool } from './helpers.js';

describe('wtd_lock_page', () => {
  it('takes a free page at once and returns 1 (the caller carries on)', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const out: unknown[] = [];
    k.spawn('t', function* () {
      const w = wtd_init('w');
      out.push(yield* wtd_lock_page(w, page), yield* PageLocked(page), w.wait.on);
    });
    expect(k.run().status).toBe('done');
    expect(out).toEqual([1, true, null]);
  });

  it('on a held page returns 0; the action runs on a worker owning the page lock', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const r = runPair(
      k,
      () => lock_page(page),
      () => unlock_page(page),
      (w) => wtd_lock_page(w, page),
      function* () {
        const held = yield* PageLocked(page);
        yield* unlock_page(page);
        return held;
      },
    );
    expect(r).toEqual({ status: 'done', ret: [0], queuedOn: ['p.wait'], seen: [['keventd/0', 1000, true]] });
    expect((page.flags.value >> PG_locked) & 1).toBe(0);
  });

  it('registers, survives a wake-up while the page is still held, and runs once on unlock', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const log: string[] = [];
    let w: Worktodo | null = null;
    k.spawn('holder', function* () {
      yield* lock_page(page);
      yield* msleep_ns(1000);
      yield* wake_up_all(page.wait); // a wake-up with the page still locked: the wtd must stay
      log.push(`after spurious wake: on=${w?.wait.on?.name ?? null} runs=${w?.runs}`);
      yield* msleep_ns(1000);
      log.push(`unlock at ${k.now}`);
      yield* unlock_page(page);
    });
    k.spawn('submitter', function* () {
      yield* msleep_ns(100);
      w = wtd_init('w', function* action() {
        log.push(`action on ${current().name} at ${k.now}, PG_locked=${yield* PageLocked(page)}`);
        yield* unlock_page(page);
      });
      log.push(`wtd_lock_page -> ${yield* wtd_lock_page(w, page)}, on=${w.wait.on?.name}`);
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(r.violations).toEqual([]);
    expect(log).toEqual([
      'wtd_lock_page -> 0, on=p.wait',
      'after spurious wake: on=p.wait runs=0',
      'unlock at 2000',
      'action on keventd/0 at 2000, PG_locked=true',
    ]);
    expect(k.stats['wtd.waiter.lost']).toBe(1);
    expect((page.flags.value >> PG_locked) & 1).toBe(0);
    expect(w!.runs).toBe(1);
  });

  it('hands the page to the wtd before a later synchronous locker', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const order: string[] = [];
    k.spawn('holder', function* () {
      yield* lock_page(page);
      yield* msleep_ns(1000);
      yield* unlock_page(page);
    });
    k.spawn('submitter', function* () {
      yield* msleep_ns(100);
      const w = wtd_init('w', function* action() {
        order.push('wtd');
        yield* msleep_ns(50); // actions may sleep on the worker (not in the caller)
        yield* unlock_page(page);
      });
      yield* wtd_lock_page(w, page);
      yield* msleep_ns(100);
      yield* lock_page(page); // a synchronous locker queued after the wtd
      order.push('sync');
      yield* unlock_page(page);
    });
    expect(k.run().status).toBe('done');
    expect(order).toEqual(['wtd', 'sync']);
  });
});

describe('wtd_wait_page', () => {
  it('returns 1 at once on an unlocked page and queues nothing', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const out: unknown[] = [];
    k.spawn('t', function* () {
      const w = wtd_init('w');
      out.push(yield* wtd_wait_page(w, page), w.wait.on, yield* PageLocked(page));
    });
    expect(k.run().status).toBe('done');
    expect(out).toEqual([1, null, false]);
  });

  it('on a locked page returns 0; the action runs on a worker once the page is unlocked', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const r = runPair(
      k,
      () => lock_page(page),
      () => unlock_page(page),
      (w) => wtd_wait_page(w, page),
      function* () {
        return !(yield* PageLocked(page));
      },
    );
    expect(r).toEqual({ status: 'done', ret: [0], queuedOn: ['p.wait'], seen: [['keventd/0', 1000, true]] });
  });
});

describe('wtd_wait_on_buffer and wtd_lock_buffer', () => {
  it('wtd_wait_on_buffer: 1 on an unlocked buffer; else 0 and the action runs after unlock_buffer', () => {
    const k = kernelWithPool(1);
    const bh = alloc_buffer_head(k, 'bh', 7, 512);
    const r = runPair(
      k,
      () => lock_buffer(bh),
      () => unlock_buffer(bh),
      (w) => wtd_wait_on_buffer(w, bh),
      function* () {
        return !(yield* buffer_locked(bh));
      },
    );
    expect(r).toEqual({ status: 'done', ret: [0], queuedOn: ['bh.wait'], seen: [['keventd/0', 1000, true]] });

    const k2 = kernelWithPool(1);
    const bh2 = alloc_buffer_head(k2, 'bh', 7, 512);
    const out: unknown[] = [];
    k2.spawn('t', function* () {
      out.push(yield* wtd_wait_on_buffer(wtd_init('w'), bh2));
    });
    expect(k2.run().status).toBe('done');
    expect(out).toEqual([1]);
  });

  it('wtd_lock_buffer: 1 and BH_Lock taken on a free buffer; else 0 and the action owns BH_Lock', () => {
    const k = kernelWithPool(1);
    const bh = alloc_buffer_head(k, 'bh', 7, 512);
    const r = runPair(
      k,
      () => lock_buffer(bh),
      () => unlock_buffer(bh),
      (w) => wtd_lock_buffer(w, bh),
      function* () {
        const held = yield* buffer_locked(bh);
        yield* unlock_buffer(bh);
        return held;
      },
    );
    expect(r).toEqual({ status: 'done', ret: [0], queuedOn: ['bh.wait'], seen: [['keventd/0', 1000, true]] });
    expect((bh.b_state.value >> BH_Lock) & 1).toBe(0);

    const k2 = kernelWithPool(1);
    const bh2 = alloc_buffer_head(k2, 'bh', 7, 512);
    const out: unknown[] = [];
    k2.spawn('t', function* () {
      out.push(yield* wtd_lock_buffer(wtd_init('w'), bh2), yield* buffer_locked(bh2));
    });
    expect(k2.run().status).toBe('done');
    expect(out).toEqual([1, true]);
  });
});

describe('wtd_down', () => {
  it('takes an available semaphore at once', () => {
    const k = kernelWithPool(1);
    const sem = sema_init(k, 's', 1);
    const out: unknown[] = [];
    k.spawn('t', function* () {
      out.push(yield* wtd_down(wtd_init('w'), sem));
    });
    expect(k.run().status).toBe('done');
    expect(out).toEqual([1]);
    expect([sem.count, ...sem.holders]).toEqual([0, 'w']);
  });

  it('waits behind a task holding it; gets it at up(), before a task that queued later', () => {
    const k = kernelWithPool(1);
    const sem = sema_init(k, 's', 1);
    const log: string[] = [];
    k.spawn('holder', function* () {
      yield* down(sem);
      yield* msleep_ns(1000);
      log.push(`holder up at ${k.now}`);
      yield* up(sem);
    });
    k.spawn('submitter', function* () {
      yield* msleep_ns(100);
      const w = wtd_init('w', function* action(wtd) {
        log.push(`action on ${current().name}: count=${sem.count} holders=${sem.holders.join(',')}`);
        yield* msleep_ns(500);
        yield* up(sem);
        log.push(`${wtd.name} up`);
      });
      log.push(`wtd_down -> ${yield* wtd_down(w, sem)} (exclusive entry: ${w.wait.flags})`);
    });
    k.spawn('late', function* () {
      yield* msleep_ns(200);
      yield* down(sem); // sleeps: queued after the wtd
      log.push(`late got it at ${k.now}`);
      yield* up(sem);
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(log).toEqual([
      'wtd_down -> 0 (exclusive entry: 1)',
      'holder up at 1000',
      'action on keventd/0: count=0 holders=w',
      'w up',
      'late got it at 1500',
    ]);
    expect(sem.count).toBe(1);
  });
});

/** Runs holder/submitter as in `scenario` on `k`; returns the summary. */
function runPair(
  k: Kernel,
  take: () => KernelCode<void>,
  give: () => KernelCode<void>,
  call: (w: Worktodo) => KernelCode<number>,
  inAction: () => KernelCode<boolean>,
): { status: string; ret: number[]; queuedOn: (string | null)[]; seen: [string, number, boolean][] } {
  const ret: number[] = [];
  const queuedOn: (string | null)[] = [];
  const seen: [string, number, boolean][] = [];
  k.spawn('holder', function* () {
    yield* take();
    yield* msleep_ns(1000);
    yield* give();
  });
  k.spawn('submitter', function* () {
    yield* msleep_ns(100);
    const w = wtd_init('w', function* action() {
      seen.push([current().name, k.now, yield* inAction()]);
    });
    ret.push(yield* call(w));
    queuedOn.push(w.wait.on?.name ?? null);
  });
  const r = k.run();
  return { status: r.status, ret, queuedOn, seen };
}

describe('from interrupt context', () => {
  it('an interrupt handler can register a wtd; the action still runs on a worker', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const log: string[] = [];
    k.spawn('holder', function* () {
      yield* lock_page(page);
      yield* msleep_ns(1000);
      yield* unlock_page(page);
    });
    k.hold();
    k.after(100, 'irq', () =>
      k.raise_irq('dev', function* () {
        const w = wtd_init('w', function* action() {
          log.push(`action on ${current().name}`);
          yield* unlock_page(page);
        });
        log.push(`wtd_lock_page in irq -> ${yield* wtd_lock_page(w, page)}`);
        k.release();
      }),
    );
    const r = k.run();
    expect(r.status).toBe('done');
    expect(r.violations).toEqual([]);
    expect(log).toEqual(['wtd_lock_page in irq -> 0', 'action on keventd/0']);
  });
});
