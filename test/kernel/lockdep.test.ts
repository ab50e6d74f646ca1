/**
 * The lock validator (issue 3): on random programs of nested spinlock acquisitions, an order
 * inversion is reported exactly when the union of the held→taken orders has a cycle, and each
 * report names a real cycle; recursion is reported; a lock taken in interrupt context and also
 * with interrupts enabled elsewhere is reported, while spin_lock_irqsave in both places is not.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { Kernel } from '../../src/kernel/kernel.js';
import { cpu } from '../../src/kernel/ops.js';
import {
  type Spinlock,
  spin_lock,
  spin_lock_irqsave,
  spin_unlock,
  spin_unlock_irqrestore,
} from '../../src/kernel/spinlock.js';

const LOCKS = ['A', 'B', 'C', 'D'] as const;

/** A task's program: sequences of distinct locks, each taken nested and released in reverse. */
const program = fc.array(
  fc.array(fc.constantFrom(...LOCKS), { minLength: 1, maxLength: 3 }).map((s) => [...new Set(s)]),
  { minLength: 1, maxLength: 3 },
);

/** Edges held→taken of the programs: every earlier lock of a sequence to every later one. */
function edgesOf(progs: readonly (readonly (readonly string[])[])[]): Set<string> {
  const out = new Set<string>();
  for (const p of progs)
    for (const seq of p)
      for (let i = 0; i < seq.length; i++)
        for (let j = i + 1; j < seq.length; j++) out.add(`${seq[i]}>${seq[j]}`);
  return out;
}

/** Strongly connected components with more than one node (Tarjan's algorithm). */
function cyclicComponents(edges: ReadonlySet<string>): string[][] {
  const adj = new Map<string, string[]>();
  for (const e of edges) {
    const [a, b] = e.split('>') as [string, string];
    adj.set(a, [...(adj.get(a) ?? []), b]);
    if (!adj.has(b)) adj.set(b, []);
  }
  let counter = 0;
  const index = new Map<string, number>();
  const low = new Map<string, number>();
  const stack: string[] = [];
  const on = new Set<string>();
  const out: string[][] = [];
  const visit = (v: string): void => {
    index.set(v, counter);
    low.set(v, counter++);
    stack.push(v);
    on.add(v);
    for (const w of adj.get(v)!) {
      if (!index.has(w)) {
        visit(w);
        low.set(v, Math.min(low.get(v)!, low.get(w)!));
      } else if (on.has(w)) low.set(v, Math.min(low.get(v)!, index.get(w)!));
    }
    if (low.get(v) === index.get(v)) {
      const comp: string[] = [];
      for (;;) {
        const w = stack.pop()!;
        on.delete(w);
        comp.push(w);
        if (w === v) break;
      }
      if (comp.length > 1) out.push(comp);
    }
  };
  for (const v of adj.keys()) if (!index.has(v)) visit(v);
  return out;
}

describe('lock order inversions', () => {
  test.prop([fc.array(program, { minLength: 1, maxLength: 4 })], { numRuns: 100 })(
    'an inversion is reported exactly when the union of the lock orders has a cycle',
    (progs) => {
      const k = new Kernel({ cpus: 1, timed: false, trace: false });
      const locks = new Map<string, Spinlock>(LOCKS.map((n) => [n, k.spinlock(n)]));
      progs.forEach((prog, i) => {
        k.spawn(`T${i}`, function* () {
          for (const seq of prog) {
            for (const n of seq) yield* spin_lock(locks.get(n)!);
            for (const n of [...seq].reverse()) yield* spin_unlock(locks.get(n)!);
          }
        });
      });
      const r = k.run({ maxSteps: 10_000 });
      // One CPU: the tasks run one after another and never deadlock.
      expect(r.status).toBe('done');
      const expected = edgesOf(progs);
      expect(new Set(k.lockdep.graph().map(([a, b]) => `${a}>${b}`))).toEqual(expected);
      expect(r.violations.every((v) => v.kind === 'lock-validator')).toBe(true);
      const inversions = r.violations.filter((v) => v.message.startsWith('lock order inversion'));
      expect(inversions).toHaveLength(r.violations.length);
      const comps = cyclicComponents(expected);
      expect(inversions.length > 0).toBe(comps.length > 0);
      const reported: string[][] = [];
      for (const v of inversions) {
        // "took 'b' while holding 'a'" pairs: the closing edge a→b, then a path b → … → a.
        const pairs = [...v.message.matchAll(/took '([^']+)' while holding '([^']+)'/g)].map(
          (m) => [m[2]!, m[1]!] as const,
        );
        expect(pairs.length).toBeGreaterThanOrEqual(2);
        for (const [a, b] of pairs) expect(expected.has(`${a}>${b}`)).toBe(true);
        for (let j = 0; j < pairs.length; j++) {
          expect(pairs[j]![1]).toBe(pairs[(j + 1) % pairs.length]![0]);
        }
        reported.push(pairs.map((p) => p[0]));
      }
      // Every cyclic component gets a report, each lying inside one component.
      for (const comp of comps) expect(reported.some((c) => c.every((n) => comp.includes(n)))).toBe(true);
      for (const c of reported) expect(comps.some((comp) => c.every((n) => comp.includes(n)))).toBe(true);
    },
  );

  it('reports AB-BA with both sites', () => {
    const k = new Kernel({ cpus: 1, timed: false });
    const a = k.spinlock('a');
    const b = k.spinlock('b');
    k.spawn('T1', function* () {
      yield* spin_lock(a);
      yield* spin_lock(b);
      yield* spin_unlock(b);
      yield* spin_unlock(a);
    });
    k.spawn('T2', function* () {
      yield* spin_lock(b);
      yield* spin_lock(a);
      yield* spin_unlock(a);
      yield* spin_unlock(b);
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]!.message).toMatch(
      /lock order inversion: T2 took 'a' while holding 'b' \(step \d+\); earlier T1 took 'b' while holding 'a'/,
    );
  });
});

describe('recursion and interrupt safety', () => {
  it('taking a lock class already held is reported as recursion', () => {
    const k = new Kernel({ cpus: 1, timed: false });
    const l1 = k.spinlock('inode1.lock', 'inode.lock');
    const l2 = k.spinlock('inode2.lock', 'inode.lock');
    k.spawn('T', function* () {
      yield* spin_lock(l1);
      yield* spin_lock(l2);
      yield* spin_unlock(l2);
      yield* spin_unlock(l1);
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(r.violations).toHaveLength(1);
    expect(r.violations[0]!.message).toMatch(/recursive locking: T takes 'inode.lock'/);
  });

  it('taking the very same lock twice is reported as recursion, and the CPU spins forever', () => {
    const k = new Kernel({ cpus: 1, timed: false });
    const l = k.spinlock('l');
    k.spawn('T', function* () {
      yield* spin_lock(l);
      yield* spin_lock(l);
    });
    const r = k.run();
    expect(r.status).toBe('hang');
    expect(
      r.violations.some(
        (v) => v.kind === 'lock-validator' && /recursive locking: T takes 'l'/.test(v.message),
      ),
    ).toBe(true);
    expect(r.violations.find((v) => v.kind === 'hang')!.message).toMatch(
      /T \(pid 1\) spins on CPU0 for 'l', held by T/,
    );
  });

  /** A task takes `l` at t=0; an interrupt handler takes it at t=2us (after the task released it). */
  function irqRun(taskIrqsave: boolean, handlerIrqsave: boolean) {
    const k = new Kernel({ cpus: 1, timed: true });
    const l = k.spinlock('dev.lock');
    k.spawn('T', function* () {
      if (taskIrqsave) {
        yield* spin_lock_irqsave(l);
        yield* spin_unlock_irqrestore(l);
      } else {
        yield* spin_lock(l);
        yield* spin_unlock(l);
      }
      yield* cpu(5_000);
    });
    k.after(2_000, 'device', () =>
      k.raise_irq('dev', function* () {
        if (handlerIrqsave) {
          yield* spin_lock_irqsave(l);
          yield* spin_unlock_irqrestore(l);
        } else {
          yield* spin_lock(l);
          yield* spin_unlock(l);
        }
      }),
    );
    const r = k.run();
    expect(r.status).toBe('done');
    return r.violations;
  }

  it('a lock taken in interrupt context and with interrupts enabled elsewhere is reported', () => {
    const v = irqRun(false, false);
    expect(v).toHaveLength(1);
    expect(v[0]!.message).toMatch(
      /lock 'dev.lock' is taken in interrupt context \(irq:dev, step \d+\) and also with interrupts enabled \(T, step \d+\)/,
    );
    expect(irqRun(false, true)).toHaveLength(1);
  });

  it('spin_lock_irqsave in process context (and in the handler) is not reported', () => {
    expect(irqRun(true, true)).toEqual([]);
    expect(irqRun(true, false)).toEqual([]);
  });
});
