import { describe, expect, it } from 'vitest';
import { alloc_page, lock_page, unlock_page } from '../../src/devices/page.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { current, msleep_ns } from '../../src/kernel/sched.js';
import { down, sema_init, up } from '../../src/waitqueue/semaphore.js';
import { wtd_lock_page } from '../../src/wtd/primitives.js';
import {
  type Worktodo,
  WTD_STACK_DEPTH,
  wtd_call,
  wtd_calls_in_progress,
  wtd_describe,
  wtd_init,
  wtd_mark,
  wtd_nonblocking,
  wtd_pop,
  wtd_push,
  wtd_queue,
  wtd_set_action,
  wtd_unmark,
} from '../../src/wtd/worktodo.js';
import { kernelWithPool } from './helpers.js';

function* a1(): KernelCode<void> {}
function* a2(): KernelCode<void> {}
function* a3(): KernelCode<void> {}
function* a4(): KernelCode<void> {}

describe('the continuation stack', () => {
  it('pushes and pops actions with their data, three deep, and prints them', () => {
    const w = wtd_init('w', a1, 'd1');
    expect(wtd_describe(w)).toBe('w: a1 []');
    wtd_push(w, a2, 'd2');
    wtd_push(w, a3, 'd3');
    wtd_push(w, a4, 'd4');
    expect(w.sp).toBe(WTD_STACK_DEPTH);
    expect(wtd_describe(w)).toBe('w: a4 [a1 < a2 < a3]');
    expect(w.stack.map((f) => f.data)).toEqual(['d1', 'd2', 'd3']);
    expect(() => wtd_push(w, a1)).toThrow(/stack is full \(3 deep/);
    wtd_pop(w);
    expect([w.action, w.data]).toEqual([a3, 'd3']);
    wtd_pop(w);
    wtd_pop(w);
    expect([w.action, w.data, w.sp]).toEqual([a1, 'd1', 0]);
    wtd_pop(w); // empty: no-op, as in 2.4
    expect([w.action, w.data]).toEqual([a1, 'd1']);
  });

  it('wtd_set_action replaces the current action and leaves the stack alone', () => {
    const w = wtd_init('w', a1);
    wtd_push(w, a2);
    wtd_set_action(w, a3, 7);
    expect(wtd_describe(w)).toBe('w: a3 [a1]');
    expect(w.data).toBe(7);
  });

  it('embeds a wait entry pointing back at the worktodo', () => {
    const w = wtd_init('w');
    expect(w.wait.owner).toBe(w);
    expect(w.wait.name).toBe('wtd:w');
    expect(w.tq.sync).toBe(false);
  });

  it('a pushed sub-machine runs on a worker, pops, and returns to the saved continuation', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const log: string[] = [];
    let printed = '';
    function* afterLock(w: Worktodo, data: unknown): KernelCode<void> {
      log.push(`afterLock(${String(data)}) on ${current().name} sp=${w.sp}`);
      yield* unlock_page(page);
    }
    function* gotLock(w: Worktodo): KernelCode<void> {
      wtd_pop(w);
      yield* wtd_call(w);
    }
    /** A reusable sub-machine: lock the page, then continue with whatever was pushed over. */
    function* lockThenReturn(w: Worktodo): KernelCode<void> {
      wtd_push(w, gotLock, page);
      if ((yield* wtd_lock_page(w, page)) === 1) {
        wtd_pop(w);
        yield* wtd_call(w);
      }
    }
    k.spawn('holder', function* () {
      yield* lock_page(page);
      yield* msleep_ns(1000);
      yield* unlock_page(page);
    });
    k.spawn('submitter', function* () {
      yield* msleep_ns(100);
      const w = wtd_init('w', afterLock, 'caller');
      yield* lockThenReturn(w);
      printed = wtd_describe(w);
      log.push(`submitted by ${current().name}`);
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(printed).toBe('w: gotLock [afterLock]');
    expect(log).toEqual(['submitted by submitter', 'afterLock(caller) on keventd/0 sp=0']);
  });
});

describe('wtd_queue', () => {
  it('runs the action on a keventd worker, in process context', () => {
    const k = kernelWithPool(2);
    const ran: string[] = [];
    k.spawn('t', function* () {
      const w = wtd_init('w', function* act(wtd) {
        ran.push(`${current().name}:${wtd.name}`);
      });
      yield* wtd_queue(w);
    });
    expect(k.run().status).toBe('done');
    expect(ran).toHaveLength(1);
    expect(ran[0]).toMatch(/^keventd\/\d:w$/);
    expect(k.stats['wtd.queued']).toBe(1);
    expect(k.stats['wtd.actions']).toBe(1);
  });

  it('reports queueing a worktodo that is already queued as a bug', () => {
    const k = kernelWithPool(1, { cpus: 1 });
    k.spawn('t', function* () {
      const w = wtd_init('w', a1);
      yield* wtd_queue(w);
      yield* wtd_queue(w); // the worker has not run yet (one CPU, no preemption)
    });
    const r = k.run();
    expect(r.status).toBe('violation');
    expect(r.violations[0]?.kind).toBe('bug');
    expect(r.violations[0]?.message).toMatch(/wtd_queue\(w\): the worktodo is already queued/);
  });
});

describe('no wtd_* call sleeps in its caller (checked by the kernel)', () => {
  it('reports a deliberately wrong wtd call that sleeps on the page lock', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    /** Wrong: takes the page lock synchronously inside a call that must not block. */
    const wtd_lock_page_sleepy = (w: Worktodo): KernelCode<number> =>
      wtd_nonblocking('wtd_lock_page_sleepy', function* () {
        w.object = page;
        yield* lock_page(page);
        return 1;
      });
    k.spawn('holder', function* () {
      yield* lock_page(page);
      yield* msleep_ns(1000);
      yield* unlock_page(page);
    });
    k.spawn('submitter', function* () {
      yield* msleep_ns(100);
      yield* wtd_lock_page_sleepy(wtd_init('w', a1));
    });
    const r = k.run();
    expect(r.status).toBe('violation');
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]?.kind).toBe('bug');
    expect(r.violations[0]?.message).toMatch(
      /^sleeping inside wtd_lock_page_sleepy\(\): submitter \(pid \d+\) called schedule\(\) waiting on page p \(lock_page\)/,
    );
  });

  it('names the whole chain of calls when the sleep is nested, e.g. a down() inside', () => {
    const k = kernelWithPool(1);
    const sem = sema_init(k, 's', 0);
    k.spawn('t', function* () {
      yield* wtd_nonblocking('outer', () => wtd_nonblocking('inner', () => down(sem)));
    });
    k.spawn('upper', function* () {
      yield* msleep_ns(1000);
      yield* up(sem);
    });
    const r = k.run();
    expect(r.violations[0]?.kind).toBe('bug');
    expect(r.violations[0]?.message).toMatch(/sleeping inside inner\(\).*\(calls: outer > inner\)/);
  });

  it('leaves sleeping outside the marked call alone, and unmarks on return', () => {
    const k = kernelWithPool(1);
    const seen: (readonly string[])[] = [];
    k.spawn('t', function* () {
      yield* wtd_nonblocking('quick', function* () {
        seen.push([...wtd_calls_in_progress()]);
      });
      seen.push([...wtd_calls_in_progress()]);
      yield* msleep_ns(500); // a real sleep, after the call returned
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(r.violations).toEqual([]);
    expect(seen).toEqual([['quick'], []]);
  });

  it('wtd_mark / wtd_unmark mark code that marks itself: a sleep in between is a bug, after it is not', () => {
    const k = kernelWithPool(1);
    const sem = sema_init(k, 's', 0);
    const seen: (readonly string[])[] = [];
    k.spawn('t', function* () {
      const m = wtd_mark('self_marked');
      try {
        seen.push([...wtd_calls_in_progress()]);
      } finally {
        wtd_unmark(m);
      }
      seen.push([...wtd_calls_in_progress()]);
      yield* msleep_ns(100); // unmarked: fine
      const m2 = wtd_mark('self_marked');
      try {
        yield* down(sem); // marked: reported
      } finally {
        wtd_unmark(m2);
      }
    });
    const r = k.run();
    expect(seen).toEqual([['self_marked'], []]);
    expect(r.violations[0]?.kind).toBe('bug');
    expect(r.violations[0]?.message).toMatch(
      /^sleeping inside self_marked\(\): t \(pid \d+\) called schedule\(\)/,
    );
  });
});
