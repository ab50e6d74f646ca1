/**
 * Task queues and keventd (issue 2): `schedule_task` routines run exactly once each, in process
 * context, on a keventd worker (also when queued from an interrupt handler); `tq_immediate`
 * routines run at the exit of the interrupt that queued them, still in interrupt context;
 * `add_timer` routines run in interrupt context at their expiry, and a cancelled timer never
 * fires; `tq_disk` runs only when asked to.
 */
import { describe, expect, it } from 'vitest';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { cpu, note } from '../../src/kernel/ops.js';
import {
  current,
  in_interrupt,
  schedule,
  set_current_state,
  TASK_UNINTERRUPTIBLE,
  wake_up_process,
} from '../../src/kernel/sched.js';
import {
  add_timer,
  keventd_init,
  keventd_workers,
  queue_task,
  run_task_queue,
  schedule_task,
  tq_disk,
  tq_immediate,
} from '../../src/kernel/tqueue.js';
import type { TraceEvent } from '../../src/trace/events.js';

interface RunRecord {
  readonly id: number;
  readonly worker: string;
  readonly daemon: boolean;
  readonly irq: boolean;
}

describe('schedule_task and keventd', () => {
  for (const timed of [true, false]) {
    it(`runs every routine exactly once in process context on a keventd worker (${timed ? 'timed' : 'untimed'})`, () => {
      for (let seed = 1; seed <= 10; seed++) {
        const k = new Kernel({ cpus: 2, timed }, seeded(seed));
        keventd_init(k, 2);
        const ran: RunRecord[] = [];
        const routine = (id: number) =>
          function* () {
            const t = current();
            ran.push({ id, worker: t.name, daemon: t.daemon, irq: in_interrupt() });
            yield* cpu(1_000);
          };
        k.spawn('producer', function* () {
          for (let i = 0; i < 4; i++) yield* schedule_task(routine(i));
          yield* cpu(500);
        });
        // Also from interrupt context (schedule_task never sleeps).
        k.after(100, 'device', () =>
          k.raise_irq('dev', function* () {
            yield* schedule_task(routine(100));
          }),
        );
        const r = k.run({ maxSteps: 10_000 });
        expect(r.status).toBe('done');
        expect(r.violations).toEqual([]);
        expect(ran.map((x) => x.id).sort((a, b) => a - b)).toEqual([0, 1, 2, 3, 100]);
        for (const x of ran) {
          expect(x.worker).toMatch(/^keventd\/[01]$/);
          expect(x.daemon).toBe(true);
          expect(x.irq).toBe(false);
        }
        expect(k.stats['keventd.routines']).toBe(5);
        expect(keventd_workers(k)).toHaveLength(2);
      }
    });
  }

  it('a routine may sleep (process context) and is still run once', () => {
    const k = new Kernel({ cpus: 1, timed: true });
    let runs = 0;
    let resumed = -1;
    k.spawn('producer', function* () {
      yield* schedule_task(function* sleeper() {
        runs++;
        const me = current();
        k.after(5_000, 'wake', () => k.try_to_wake_up(me, TASK_UNINTERRUPTIBLE));
        yield* set_current_state(TASK_UNINTERRUPTIBLE);
        yield* schedule('5us');
        resumed = k.now;
      });
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(runs).toBe(1);
    expect(resumed).toBe(5_000);
  });
});

describe('tq_immediate', () => {
  it('runs at interrupt exit, after the handler, in interrupt context', () => {
    const k = new Kernel({ cpus: 1, timed: true });
    const tq = tq_immediate(k);
    const log: string[] = [];
    k.events.on('trace', (e: TraceEvent) => {
      if (e.kind === 'irq.exit') log.push(`irq.exit@${e.t}`);
    });
    k.spawn('worker', function* () {
      yield* cpu(10_000);
      log.push(`worker done@${k.now}`);
    });
    k.after(2_000, 'device', () =>
      k.raise_irq('dev', function* () {
        yield* queue_task(tq, function* bh() {
          log.push(`bh irq=${in_interrupt()}@${k.now}`);
          yield* cpu(1_000);
        });
        log.push(`handler end@${k.now}`);
        yield* cpu(500);
      }),
    );
    const r = k.run();
    expect(r.status).toBe('done');
    expect(log).toEqual([
      'handler end@2000',
      'bh irq=true@2500',
      'irq.exit@3500',
      // The worker's cost was cut by the interrupt (1.5 us) and resumed after it.
      'worker done@11500',
    ]);
    expect(tq.list).toEqual([]);
  });

  it('runs at the exit of the interrupt whose handler first touched tq_immediate', () => {
    const k = new Kernel({ cpus: 1, timed: true });
    const log: string[] = [];
    k.spawn('worker', function* () {
      yield* cpu(10_000);
    });
    k.after(2_000, 'device', () =>
      k.raise_irq('dev', function* () {
        yield* queue_task(tq_immediate(k), function* bh() {
          log.push(`bh irq=${in_interrupt()}@${k.now}`);
        });
      }),
    );
    expect(k.run().status).toBe('done');
    expect(log).toEqual(['bh irq=true@2000']);
  });

  it('tq_disk routines wait for run_task_queue', () => {
    const k = new Kernel({ cpus: 1, timed: false });
    const tq = tq_disk(k);
    const log: string[] = [];
    k.spawn('t', function* () {
      yield* queue_task(tq, function* unplug() {
        log.push('unplug');
      });
      log.push('queued');
      yield* note('before run_task_queue');
      yield* run_task_queue(tq);
      yield* run_task_queue(tq);
      log.push('ran');
    });
    expect(k.run().status).toBe('done');
    expect(log).toEqual(['queued', 'unplug', 'ran']);
  });
});

describe('add_timer', () => {
  it('fires at its time in interrupt context; a cancelled timer does not fire', () => {
    const k = new Kernel({ cpus: 1, timed: true });
    const fired: string[] = [];
    let woke = -1;
    k.spawn('t', function* () {
      const me = current();
      yield* cpu(1_000);
      const cancelled = add_timer(k, 2_000, function* () {
        fired.push(`cancelled@${k.now}`);
      });
      add_timer(k, 5_000, function* () {
        fired.push(`timer irq=${in_interrupt()}@${k.now}`);
        yield* wake_up_process(me);
      });
      expect(cancelled.cancel()).toBe(true);
      expect(cancelled.pending()).toBe(false);
      yield* set_current_state(TASK_UNINTERRUPTIBLE);
      yield* schedule('timer');
      woke = k.now;
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(fired).toEqual(['timer irq=true@6000']);
    expect(woke).toBe(6_000);
  });
});
