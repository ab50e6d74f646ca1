/**
 * Property: `wake_up_nr(q, n)` wakes or calls exactly the entries the kernel's rule picks, for
 * both `wakeSemantics`.
 *
 * A random queue is built in the simulated kernel the way the kernel builds one: tasks really
 * sleep on it (through `add_wait_queue[_exclusive]` + `schedule()`, or `prepare_to_wait
 * [_exclusive]`), threadless func entries are added with `add_wait_queue[_exclusive]`, and the
 * waker may have its own (running) task entry on the queue. Everything runs on one CPU, so the
 * setup is deterministic. Then the waker calls `wake_up_nr(q, n)` (or its interruptible form),
 * and who woke, which funcs were called (in order), the count returned and the queue left
 * behind are compared with an independent model of the rule:
 *
 * - list order: `add_wait_queue` adds at the head, `add_wait_queue_exclusive` at the tail;
 * - '2.4-aio' (kernel-rhel3 `__wake_up_common`): a func entry is called, its result ignored,
 *   and it always uses up an exclusive slot; a task entry uses one only when its task was in a
 *   state of the mode and really woke;
 * - 'modern' (`kernel/sched/wait.c`): every entry's func runs (a task entry's is
 *   `default_wake_function` or `autoremove_wake_function`); a negative result stops the walk;
 *   only a positive one counts and uses up an exclusive slot;
 * - `nr_exclusive == 0` wakes everyone (`!--nr_exclusive` never reaches 0).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel, type WakeSemantics } from '../../src/kernel/kernel.js';
import {
  schedule,
  set_current_state,
  TASK_INTERRUPTIBLE,
  TASK_NORMAL,
  TASK_UNINTERRUPTIBLE,
} from '../../src/kernel/sched.js';
import type { Task } from '../../src/kernel/task.js';
import {
  add_wait_queue,
  add_wait_queue_exclusive,
  DECLARE_WAITQUEUE,
  DEFINE_WAIT,
  finish_wait,
  init_waitqueue_func_entry,
  init_waitqueue_head,
  prepare_to_wait,
  prepare_to_wait_exclusive,
  remove_wait_queue,
  WaitQueueEntry,
  wake_up_interruptible_nr,
  wake_up_nr,
} from '../../src/waitqueue/waitqueue.js';

/** A task entry: its task sleeps in `state`, queued the classic way or with prepare_to_wait. */
interface TaskSpec {
  readonly kind: 'task';
  readonly exclusive: boolean;
  readonly style: 'declare' | 'define';
  readonly state: number;
}
/** A threadless func entry; `ret` is what it returns (ignored under 2.4-aio). */
interface FuncSpec {
  readonly kind: 'func';
  readonly exclusive: boolean;
  readonly ret: -1 | 0 | 1;
}
type EntrySpec = TaskSpec | FuncSpec;
/** The waker's own task entry: on the queue while its task runs. */
interface SelfSpec {
  readonly exclusive: boolean;
  readonly style: 'declare' | 'define';
}

interface Case {
  readonly entries: readonly EntrySpec[];
  readonly self: SelfSpec | null;
  readonly nr: number;
  readonly interruptible: boolean;
}

const taskSpec: fc.Arbitrary<EntrySpec> = fc.record({
  kind: fc.constant('task' as const),
  exclusive: fc.boolean(),
  style: fc.constantFrom('declare' as const, 'define' as const),
  state: fc.constantFrom(TASK_UNINTERRUPTIBLE, TASK_INTERRUPTIBLE),
});
const funcSpec: fc.Arbitrary<EntrySpec> = fc.record({
  kind: fc.constant('func' as const),
  exclusive: fc.boolean(),
  ret: fc.constantFrom(-1 as const, 0 as const, 1 as const),
});
const caseArb: fc.Arbitrary<Case> = fc.record({
  entries: fc.array(fc.oneof(taskSpec, funcSpec), { maxLength: 8 }),
  self: fc.option(
    fc.record({ exclusive: fc.boolean(), style: fc.constantFrom('declare' as const, 'define' as const) }),
    { nil: null },
  ),
  nr: fc.integer({ min: 0, max: 4 }),
  interruptible: fc.boolean(),
});

const nameOf = (i: number, e: EntrySpec): string => `${e.kind === 'task' ? 't' : 'f'}${i}`;

/** What the kernel's rule says. */
interface Outcome {
  readonly woken: string[];
  readonly called: string[];
  readonly count: number;
  readonly left: string[];
}

type ModelEntry = { name: string; exclusive: boolean } & (
  | { kind: 'task'; state: number; define: boolean }
  | { kind: 'self'; define: boolean }
  | { kind: 'func'; ret: number }
);

function model(c: Case, semantics: WakeSemantics): Outcome {
  // The list, built by the adds in order: head for non-exclusive, tail for exclusive.
  const list: ModelEntry[] = [];
  const add = (e: ModelEntry) => (e.exclusive ? list.push(e) : list.unshift(e));
  c.entries.forEach((e, i) => {
    const name = nameOf(i, e);
    if (e.kind === 'task')
      add({ name, exclusive: e.exclusive, kind: 'task', state: e.state, define: e.style === 'define' });
    else add({ name, exclusive: e.exclusive, kind: 'func', ret: e.ret });
  });
  if (c.self !== null)
    add({ name: 'self', exclusive: c.self.exclusive, kind: 'self', define: c.self.style === 'define' });

  const mode = c.interruptible ? TASK_INTERRUPTIBLE : TASK_NORMAL;
  let nr = c.nr;
  let count = 0;
  const woken: string[] = [];
  const called: string[] = [];
  const removed = new Set<string>();
  for (const e of list) {
    let result: number;
    if (e.kind === 'func') {
      called.push(e.name);
      // 2.4-aio: the func's result is ignored and the entry always counts.
      result = semantics === '2.4-aio' ? 1 : e.ret;
    } else {
      // A sleeping task wakes when its state is in the mode; the running waker never does.
      const wakes = e.kind === 'task' && (e.state & mode) !== 0;
      if (wakes) {
        woken.push(e.name);
        if (e.define) removed.add(e.name); // autoremove_wake_function
      }
      result = wakes ? 1 : 0;
    }
    if (result < 0) break; // only 'modern' funcs return a negative value
    if (result > 0) {
      count++;
      if (e.exclusive && --nr === 0) break;
    }
  }
  return {
    woken: woken.sort(),
    called,
    count,
    left: list.map((e) => e.name).filter((n) => !removed.has(n)),
  };
}

/** Builds the queue in the kernel, runs the wake-up, and reports what happened. */
function simulate(c: Case, semantics: WakeSemantics): Outcome & { sleptBefore: string[] } {
  const k = new Kernel({ cpus: 1, timed: false, trace: false, wakeSemantics: semantics }, seeded(1));
  const q = init_waitqueue_head(k, 'q');
  const called: string[] = [];
  const sleepers: Task[] = [];
  c.entries.forEach((e, i) => {
    const name = nameOf(i, e);
    if (e.kind === 'func') {
      const fe = init_waitqueue_func_entry(new WaitQueueEntry(name), function* f() {
        called.push(name);
        return e.ret;
      });
      k.spawn(`add-${name}`, function* () {
        if (e.exclusive) yield* add_wait_queue_exclusive(q, fe);
        else yield* add_wait_queue(q, fe);
      });
      return;
    }
    sleepers.push(
      k.spawn(
        name,
        function* (t) {
          if (e.style === 'declare') {
            const w = DECLARE_WAITQUEUE(name, t);
            if (e.exclusive) yield* add_wait_queue_exclusive(q, w);
            else yield* add_wait_queue(q, w);
            yield* set_current_state(e.state);
            yield* schedule('wq:q');
            yield* remove_wait_queue(q, w);
          } else {
            const w = DEFINE_WAIT(name);
            if (e.exclusive) yield* prepare_to_wait_exclusive(q, w, e.state);
            else yield* prepare_to_wait(q, w, e.state);
            yield* schedule('wq:q');
            yield* finish_wait(q, w);
          }
        },
        { daemon: true }, // the ones nobody wakes may sleep for ever
      ),
    );
  });
  let count = -1;
  let left: string[] = [];
  let sleptBefore: string[] = [];
  k.spawn('waker', function* (t) {
    sleptBefore = sleepers.filter((s) => s.sleeping).map((s) => s.name);
    let own: WaitQueueEntry | null = null;
    if (c.self !== null) {
      own = c.self.style === 'declare' ? DECLARE_WAITQUEUE('self', t) : DEFINE_WAIT('self');
      if (c.self.exclusive) yield* add_wait_queue_exclusive(q, own);
      else yield* add_wait_queue(q, own);
    }
    count = c.interruptible ? yield* wake_up_interruptible_nr(q, c.nr) : yield* wake_up_nr(q, c.nr);
    left = q.list.map((e) => e.name);
    if (own !== null && own.on !== null) yield* remove_wait_queue(q, own);
  });
  const r = k.run({ maxSteps: 10_000 });
  expect(r.status).toBe('done');
  expect(r.violations).toEqual([]);
  return {
    woken: sleepers
      .filter((s) => !s.sleeping)
      .map((s) => s.name)
      .sort(),
    called,
    count,
    left,
    sleptBefore,
  };
}

describe.each(['2.4-aio', 'modern'] as const)('wake_up_nr under %s semantics', (semantics) => {
  test.prop([caseArb], { numRuns: 400 })('wakes or calls exactly the entries the rule picks', (c) => {
    const got = simulate(c, semantics);
    // The setup really put every task to sleep before the wake-up.
    expect(got.sleptBefore).toEqual(c.entries.flatMap((e, i) => (e.kind === 'task' ? [nameOf(i, e)] : [])));
    const want = model(c, semantics);
    expect({ woken: got.woken, called: got.called, count: got.count, left: got.left }).toEqual(want);
  });

  it('examples where the two semantics part ways', () => {
    const U = TASK_UNINTERRUPTIBLE;
    // An exclusive func returning 0 ahead of an exclusive sleeper: under 2.4-aio the func uses
    // up wake_up's one slot; under modern it did not wake anything, so the walk goes on.
    const zeroFunc: Case = {
      entries: [
        { kind: 'func', exclusive: true, ret: 0 },
        { kind: 'task', exclusive: true, style: 'define', state: U },
      ],
      self: null,
      nr: 1,
      interruptible: false,
    };
    // A non-exclusive func returning -1 at the head stops a modern walk before anyone wakes.
    const stopFunc: Case = {
      entries: [
        { kind: 'task', exclusive: false, style: 'declare', state: U },
        { kind: 'func', exclusive: false, ret: -1 },
      ],
      self: null,
      nr: 0,
      interruptible: false,
    };
    const pick = (o: Outcome) => ({ woken: o.woken, called: o.called, count: o.count });
    expect(pick(simulate(zeroFunc, semantics))).toEqual(
      semantics === '2.4-aio'
        ? { woken: [], called: ['f0'], count: 1 }
        : { woken: ['t1'], called: ['f0'], count: 1 },
    );
    expect(pick(simulate(stopFunc, semantics))).toEqual(
      semantics === '2.4-aio'
        ? { woken: ['t0'], called: ['f1'], count: 2 }
        : { woken: [], called: ['f1'], count: 0 },
    );
  });
});
