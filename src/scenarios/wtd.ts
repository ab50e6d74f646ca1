/**
 * Work To Do scenarios: worktodos and synchronous lockers contending for one page, the lost
 * wake-up of a registration made without `add_wait_queue_cond`'s re-check, and the cost of
 * doing the same IO with blocking threads or with a small pool running worktodos.
 *
 * `wtd-lock-page`: a submitter task starts K worktodos with `wtd_lock_page` (each action, once
 * it owns the page lock, does a critical section and unlocks) while S tasks `lock_page` the
 * same page; the submitter then waits for its K completions. Checked in every run: each
 * action runs exactly once, only while holding PG_locked and alone in the critical section,
 * nobody hangs, and no `wtd_*` call ever sleeps (the kernel reports it).
 *
 * `wtd-lock-page-racy`: the same with the registration done by a plain `add_wait_queue`
 * after a failed TryLockPage:
 *
 *     CPU0 - submitter: racy wtd_lock_page      CPU1 - sync locker, done with the page
 *     TryLockPage(page) -> 1 (held)
 *                                               clear_bit(PG_locked, &page->flags)
 *                                               wake_up_all(&page->wait)  // nobody queued
 *     add_wait_queue(&page->wait, &wtd->wait)
 *     return 0;        // the wtd waits for an unlock that already happened
 *     wait_event(done == K)   // sleeps forever
 *
 * `wtd-vs-threads` (timed): N threads each do R reads (lock_page, start IO, wait_on_page,
 * copy), then M worktodos on P keventd workers do the same N*R reads as a chain; `stats`
 * compare tasks, context switches, CPU time per completed read and elapsed time.
 */
import type { Scenario } from '../check/scenario.js';
import {
  alloc_page,
  lock_page,
  type Page,
  PageLocked,
  PG_locked,
  SetPageUptodate,
  TryLockPage,
  unlock_page,
  wait_on_page,
} from '../devices/page.js';
import { atomic_add_return, atomic_inc, cpu, type KernelCode, note, READ_ONCE } from '../kernel/ops.js';
import type { Task } from '../kernel/task.js';
import { keventd_init, keventd_workers } from '../kernel/tqueue.js';
import {
  __remove_wait_queue,
  add_wait_queue,
  add_wait_queue_cond,
  init_waitqueue_func_entry,
  init_waitqueue_head,
  type WaitQueueEntry,
  wait_event,
  wake_up,
} from '../waitqueue/waitqueue.js';
import { WTD_NEXT, wtd_chain, wtd_chain_start } from '../wtd/chain.js';
import { wtd_lock_page, wtd_wait_page } from '../wtd/primitives.js';
import { type Worktodo, wtd_call, wtd_init, wtd_nonblocking, wtd_queue } from '../wtd/worktodo.js';

// ------------------------------------------------------------------------------------------
// wtd-lock-page and its racy variant

/**
 * How the worktodos register on the page: `cond` is `wtd_lock_page` (add_wait_queue_cond);
 * `racy` leaves the re-check out (lost wake-up); `no-trylock` is a deliberately wrong waiter
 * that queues the wtd when it sees the page unlocked without taking the lock, so the action
 * runs without PG_locked (the invariant catches it).
 */
export type WtdLockPageVariant = 'cond' | 'racy' | 'no-trylock';

/** Parameters of the page-lock contention scenario. */
export interface WtdLockPageOptions {
  /** Worktodos the submitter starts (K). */
  readonly wtds?: number;
  /** Tasks that lock_page() synchronously (S). */
  readonly lockers?: number;
  /** keventd workers. */
  readonly workers?: number;
  /** Registration variant (default `cond`). */
  readonly variant?: WtdLockPageVariant;
  /** CPUs. */
  readonly cpus?: number;
}

function* racy_waiter(e: WaitQueueEntry): KernelCode<number> {
  const wtd = e.owner as Worktodo;
  const page = wtd.object as Page;
  if ((yield* TryLockPage(page)) !== 0) return 0;
  yield* __remove_wait_queue(page.wait, e);
  yield* wtd_queue(wtd);
  return 1;
}

/** `wtd_lock_page` with the registration's re-check left out: the racy version. */
function wtd_lock_page_racy(wtd: Worktodo, page: Page): KernelCode<number> {
  return wtd_nonblocking('wtd_lock_page_racy', function* () {
    if ((yield* TryLockPage(page)) === 0) return 1;
    wtd.object = page;
    init_waitqueue_func_entry(wtd.wait, racy_waiter);
    yield* add_wait_queue(page.wait, wtd.wait); // no re-check: the unlock may already be over
    return 0;
  });
}

function* no_trylock_waiter(e: WaitQueueEntry): KernelCode<number> {
  const wtd = e.owner as Worktodo;
  const page = wtd.object as Page;
  if (yield* PageLocked(page)) return 0;
  yield* __remove_wait_queue(page.wait, e);
  yield* wtd_queue(wtd); // wrong: the action will run without the page lock
  return 1;
}

/** A wrong `wtd_lock_page` whose waiter does not take the lock for the wtd. */
function wtd_lock_page_no_trylock(wtd: Worktodo, page: Page): KernelCode<number> {
  return wtd_nonblocking('wtd_lock_page_no_trylock', function* () {
    if ((yield* TryLockPage(page)) === 0) return 1;
    wtd.object = page;
    init_waitqueue_func_entry(wtd.wait, no_trylock_waiter);
    const raced = yield* add_wait_queue_cond(page.wait, wtd.wait, function* () {
      return (yield* TryLockPage(page)) !== 0;
    });
    return raced;
  });
}

const NAMES: Record<WtdLockPageVariant, string> = {
  cond: 'wtd-lock-page',
  racy: 'wtd-lock-page-racy',
  'no-trylock': 'wtd-lock-page-no-trylock',
};

/** Builds a `wtd-lock-page` scenario with K wtds, S sync lockers and P workers. */
export function wtdLockPageScenario(opts: WtdLockPageOptions = {}): Scenario {
  const { wtds: K = 2, lockers: S = 1, workers: P = 1, variant = 'cond', cpus = 2 } = opts;
  const racy = variant === 'racy';
  return {
    name: NAMES[variant],
    title: racy
      ? 'wtd_lock_page registering with a plain add_wait_queue: a lost wake-up exploration finds'
      : variant === 'no-trylock'
        ? "a wrong wtd_lock_page whose waiter doesn't take the page lock: the action runs unlocked"
        : `${K} worktodos and ${S} lock_page() callers contend for one page`,
    description: racy
      ? 'As wtd-lock-page, but the worktodo is put on the page wait queue with add_wait_queue() ' +
        'after a failed TryLockPage, without re-trying under the queue lock. If the holder ' +
        'unlocks in between, its wake-up finds the queue empty and the worktodo is never run: ' +
        'the submitter waits for its completion forever.'
      : `A submitter starts ${K} worktodos with wtd_lock_page() on one page (running the ` +
        'action itself when the lock is free at once) and then waits for their completions; ' +
        `${S} task(s) lock_page() the same page. Each action must run exactly once, holding ` +
        'PG_locked and alone in the critical section; nobody may hang; and no wtd_* call may ' +
        'sleep in its caller (the kernel reports a schedule() inside one as a bug).' +
        (variant === 'no-trylock'
          ? ' Here the waiter queues the worktodo when it sees the page unlocked, without taking the lock.'
          : ''),
    config: { cpus, timed: false, memoryModel: 'sc' },
    bounds: { preemptionBound: 3, maxSteps: 2000 },
    expect: variant === 'cond' ? 'clean' : racy ? 'hang' : 'invariant',
    demoSeed: racy ? 15 : 1,
    setup(k) {
      keventd_init(k, P);
      const page = alloc_page(k, 'page');
      const done = k.cell('done', 0);
      const doneQ = init_waitqueue_head(k, 'done');
      const runs = new Map<string, number>();
      let inside: string | null = null;
      let bad: string | undefined;
      const enter = (who: string): void => {
        if (bad !== undefined) return;
        if (((page.flags.value >> PG_locked) & 1) === 0)
          bad = `${who} is in the critical section without PG_locked`;
        else if (inside !== null) bad = `${who} entered the critical section while ${inside} was in it`;
        inside = who;
      };
      const leave = (who: string): void => {
        if (inside !== who && bad === undefined) bad = `${who} left a critical section it was not in`;
        inside = null;
      };
      const lockFn =
        variant === 'racy'
          ? wtd_lock_page_racy
          : variant === 'no-trylock'
            ? wtd_lock_page_no_trylock
            : wtd_lock_page;
      function* action(wtd: Worktodo): KernelCode<void> {
        runs.set(wtd.name, (runs.get(wtd.name) ?? 0) + 1);
        if ((runs.get(wtd.name) ?? 0) > 1 && bad === undefined) bad = `${wtd.name}'s action ran twice`;
        enter(wtd.name);
        yield* note(`${wtd.name}: action holds the page`);
        leave(wtd.name);
        yield* unlock_page(page);
        yield* atomic_inc(done);
        yield* wake_up(doneQ);
      }
      k.spawn('submitter', function* () {
        for (let i = 0; i < K; i++) {
          const w = wtd_init(`w${i}`, action);
          if ((yield* lockFn(w, page)) === 1) yield* wtd_call(w); // got it at once: go on here
        }
        yield* wait_event(doneQ, function* () {
          return (yield* READ_ONCE(done)) === K;
        });
      });
      for (let i = 0; i < S; i++) {
        const who = `locker${i}`;
        k.spawn(who, function* () {
          yield* lock_page(page);
          enter(who);
          yield* note(`${who}: holds the page`);
          leave(who);
          yield* unlock_page(page);
        });
      }
      return {
        invariants: { exclusive: () => bad },
        final: () => {
          for (let i = 0; i < K; i++) {
            const n = runs.get(`w${i}`) ?? 0;
            if (n !== 1) return `w${i}'s action ran ${n} times, expected exactly once`;
          }
          if (((page.flags.value >> PG_locked) & 1) !== 0) return 'the page is still locked at the end';
          return undefined;
        },
        state: () => ({
          done: done.value,
          order: [...runs.keys()].join(','),
        }),
      };
    },
  };
}

/** K=2 worktodos and S=1 synchronous locker on one page, with a worker pool of one. */
export const wtdLockPage: Scenario = wtdLockPageScenario();
/** The same with the registration's re-check left out: a lost wake-up (hang). */
export const wtdLockPageRacy: Scenario = wtdLockPageScenario({ variant: 'racy' });

// ------------------------------------------------------------------------------------------
// wtd-vs-threads

/** Parameters of `wtd-vs-threads`. */
export interface WtdVsThreadsOptions {
  /** Blocking threads (N). */
  readonly threads?: number;
  /** Reads per thread (R); the wtd phase does the same N*R reads. */
  readonly ops?: number;
  /** Worktodos in flight at once (M); N*R must divide by M. */
  readonly wtds?: number;
  /** keventd workers (P). */
  readonly workers?: number;
  /** CPUs. */
  readonly cpus?: number;
  /** Disk latency of one read (ns). */
  readonly ioNs?: number;
  /** CPU cost to set up and submit one read (ns). */
  readonly submitNs?: number;
  /** CPU cost to copy one page out (ns). */
  readonly copyNs?: number;
  /** Context-switch cost (ns). */
  readonly switchNs?: number;
}

/** Figures of one phase. */
export interface PhaseFigures {
  readonly tasks: number;
  readonly ops: number;
  readonly contextSwitches: number;
  /** CPU time of the phase's tasks (cpu() costs), plus their context switches at `switchNs`. */
  readonly cpuNs: number;
  readonly cpuNsPerOp: number;
  readonly switchesPerOp: number;
  readonly elapsedNs: number;
}

/** Builds a `wtd-vs-threads` scenario. */
export function wtdVsThreadsScenario(opts: WtdVsThreadsOptions = {}): Scenario {
  const {
    threads: N = 16,
    ops: R = 4,
    wtds: M = 16,
    workers: P = 2,
    cpus = 2,
    ioNs = 200_000,
    submitNs = 1_000,
    copyNs = 2_000,
    switchNs = 1_000,
  } = opts;
  const total = N * R;
  if (total % M !== 0) throw new Error(`wtd-vs-threads: N*R = ${total} reads do not divide among ${M} wtds`);
  const perWtd = total / M;
  return {
    name: 'wtd-vs-threads',
    title: `the same ${total} page reads by ${N} blocking threads, then by ${M} worktodos on ${P} workers`,
    description:
      `Phase 1: ${N} threads each do ${R} reads: lock_page, submit the IO (${submitNs} ns), the ` +
      `disk interrupt unlocks the page ${ioNs} ns later, wait_on_page, copy (${copyNs} ns). ` +
      `Phase 2: one submitter starts ${M} worktodos, each doing ${perWtd} reads as a chain ` +
      '(wtd_lock_page, submit, wtd_wait_page, copy) run by a keventd pool of ' +
      `${P}. stats: per phase the tasks used, context switches, CPU time per read (cpu() costs ` +
      `plus switches at ${switchNs} ns) and elapsed time.`,
    config: { cpus, timed: true, switchNs, trace: false },
    expect: 'clean',
    setup(k) {
      keventd_init(k, P);
      const phase = k.cell('phase', 1);
      const phaseQ = init_waitqueue_head(k, 'phase');
      const threadsDone = k.cell('threads.done', 0);
      const wtdsDone = k.cell('wtds.done', 0);
      const doneQ = init_waitqueue_head(k, 'wtds.done');
      let opsThreads = 0;
      let opsWtd = 0;
      const marks = { t1: 0, t2start: 0, t2: 0 };
      const before = new Map<Task, { switches: number; cpuNs: number }>();

      /** The disk: completes a read of `page` after ioNs, in interrupt context. */
      const startIo = (page: Page): void => {
        k.hold();
        k.after(ioNs, `read ${page.name}`, () =>
          k.raise_irq('disk', function* () {
            yield* SetPageUptodate(page);
            yield* unlock_page(page);
            k.release();
          }),
        );
      };

      const threadTasks: Task[] = [];
      for (let i = 0; i < N; i++) {
        const page = alloc_page(k, `t${i}.page`);
        threadTasks.push(
          k.spawn(`reader${i}`, function* () {
            for (let r = 0; r < R; r++) {
              yield* lock_page(page);
              yield* cpu(submitNs);
              startIo(page);
              yield* wait_on_page(page);
              yield* cpu(copyNs);
              opsThreads++;
            }
            if ((yield* atomic_add_return(1, threadsDone)) === N) {
              marks.t1 = k.now;
              for (const t of [...keventd_workers(k), submitter])
                before.set(t, { switches: t.switches, cpuNs: t.cpuNs });
              yield* atomic_inc(phase);
              yield* wake_up(phaseQ);
            }
          }),
        );
      }

      const submitter = k.spawn('submitter', function* () {
        yield* wait_event(phaseQ, function* () {
          return (yield* READ_ONCE(phase)) === 2;
        });
        marks.t2start = k.now;
        for (let i = 0; i < M; i++) {
          const page = alloc_page(k, `w${i}.page`);
          let left = perWtd;
          const read = wtd_chain(`read${i}`, {
            *lock(wtd) {
              return yield* wtd_lock_page(wtd, page);
            },
            *submit() {
              yield* cpu(submitNs);
              startIo(page);
              return WTD_NEXT;
            },
            *wait(wtd) {
              return yield* wtd_wait_page(wtd, page);
            },
            *copy() {
              yield* cpu(copyNs);
              opsWtd++;
              return --left > 0 ? 'lock' : WTD_NEXT;
            },
            *complete() {
              yield* atomic_inc(wtdsDone);
              yield* wake_up(doneQ);
              return WTD_NEXT;
            },
          });
          yield* wtd_chain_start(wtd_init(`w${i}`), read);
        }
        yield* wait_event(doneQ, function* () {
          return (yield* READ_ONCE(wtdsDone)) === M;
        });
        marks.t2 = k.now;
      });

      const figures = (tasks: readonly Task[], ops: number, elapsed: number): PhaseFigures => {
        let sw = 0;
        let ns = 0;
        for (const t of tasks) {
          const b = before.get(t) ?? { switches: 0, cpuNs: 0 };
          sw += t.switches - b.switches;
          ns += t.cpuNs - b.cpuNs;
        }
        const cpuNs = ns + sw * switchNs;
        return {
          tasks: tasks.length,
          ops,
          contextSwitches: sw,
          cpuNs,
          cpuNsPerOp: ops === 0 ? 0 : Math.round(cpuNs / ops),
          switchesPerOp: ops === 0 ? 0 : Math.round((sw / ops) * 100) / 100,
          elapsedNs: elapsed,
        };
      };
      return {
        final: () =>
          opsThreads === total && opsWtd === total
            ? undefined
            : `reads done: threads ${opsThreads}, wtds ${opsWtd}; expected ${total} each`,
        state: () => ({ opsThreads, opsWtd }),
        stats: () => {
          const threadsFig = figures(threadTasks, opsThreads, marks.t1);
          // Phase 1 started at 0: the "before" map holds phase-2 snapshots only.
          const wtdFig = figures([submitter, ...keventd_workers(k)], opsWtd, marks.t2 - marks.t2start);
          return { threads: threadsFig, wtd: wtdFig };
        },
      };
    },
  };
}

/** 16 threads x 4 reads vs 16 worktodos on 2 keventd workers, 2 CPUs, 200 us disk. */
export const wtdVsThreads: Scenario = wtdVsThreadsScenario();
