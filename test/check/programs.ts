/**
 * Random small concurrent programs for the explorer's tests: 2-3 tasks on 2-3 CPUs, each a few
 * operations over 2-3 cells and maybe one spinlock, built as ad-hoc `Scenario`s whose final
 * state is every register read and every cell's final value.
 */
import fc from 'fast-check';
import type { Scenario } from '../../src/check/scenario.js';
import type { MemoryModel } from '../../src/kernel/memory.js';
import { READ_ONCE, smp_mb, WRITE_ONCE, xchg } from '../../src/kernel/ops.js';
import { spin_lock, spin_unlock } from '../../src/kernel/spinlock.js';

/** One operation of a task: `lock` takes the spinlock when the task does not hold it, else releases it. */
export type ProgOp =
  | { readonly op: 'read'; readonly cell: number }
  | { readonly op: 'write'; readonly cell: number; readonly value: number }
  | { readonly op: 'xchg'; readonly cell: number; readonly value: number }
  | { readonly op: 'mb' }
  | { readonly op: 'lock' };

/** A random program. */
export interface Program {
  readonly cpus: number;
  readonly cells: number;
  readonly model: MemoryModel;
  /** Pin each task to CPU (task index mod cpus). */
  readonly pinned: boolean;
  readonly tasks: readonly (readonly ProgOp[])[];
}

/** fast-check arbitrary of programs under the given models. */
export function programArb(models: readonly MemoryModel[] = ['sc', 'tso']): fc.Arbitrary<Program> {
  return fc
    .record({ cpus: fc.integer({ min: 2, max: 3 }), cells: fc.integer({ min: 2, max: 3 }) })
    .chain(({ cpus, cells }) => {
      const cell = fc.integer({ min: 0, max: cells - 1 });
      const value = fc.integer({ min: 1, max: 2 });
      const op: fc.Arbitrary<ProgOp> = fc.oneof(
        { weight: 3, arbitrary: cell.map((c) => ({ op: 'read' as const, cell: c })) },
        { weight: 3, arbitrary: fc.record({ op: fc.constant('write' as const), cell, value }) },
        { weight: 1, arbitrary: fc.record({ op: fc.constant('xchg' as const), cell, value }) },
        { weight: 1, arbitrary: fc.constant({ op: 'mb' as const }) },
        { weight: 1, arbitrary: fc.constant({ op: 'lock' as const }) },
      );
      return fc.record({
        cpus: fc.constant(cpus),
        cells: fc.constant(cells),
        model: fc.constantFrom(...models),
        pinned: fc.boolean(),
        tasks: fc.array(fc.array(op, { minLength: 1, maxLength: 4 }), { minLength: 2, maxLength: 3 }),
      });
    });
}

/** Prints a program (for failure messages). */
export function showProgram(p: Program): string {
  const ops = p.tasks.map(
    (t, i) =>
      `P${i}: ${t
        .map((o) =>
          o.op === 'read'
            ? `r=c${o.cell}`
            : o.op === 'write'
              ? `c${o.cell}=${o.value}`
              : o.op === 'xchg'
                ? `xchg(c${o.cell},${o.value})`
                : o.op,
        )
        .join('; ')}`,
  );
  return `${p.model} ${p.cpus} CPUs${p.pinned ? ' pinned' : ''}: ${ops.join(' | ')}`;
}

/** The program as a scenario: its state is every register and every cell's final value. */
export function programScenario(p: Program): Scenario {
  return {
    name: 'random-program',
    title: showProgram(p),
    description: 'a random small program for the explorer tests',
    config: { cpus: p.cpus, memoryModel: p.model, timed: false },
    setup(k) {
      const cells = Array.from({ length: p.cells }, (_, i) => k.cell(`c${i}`, 0));
      const lock = k.spinlock('l');
      const regs: Record<string, number> = {};
      p.tasks.forEach((ops, ti) => {
        const cpu = ti % p.cpus;
        k.spawn(
          `P${ti}`,
          function* () {
            let held = false;
            for (let i = 0; i < ops.length; i++) {
              const o = ops[i]!;
              switch (o.op) {
                case 'read':
                  regs[`P${ti}.r${i}`] = yield* READ_ONCE(cells[o.cell]!);
                  break;
                case 'write':
                  yield* WRITE_ONCE(cells[o.cell]!, o.value);
                  break;
                case 'xchg':
                  regs[`P${ti}.r${i}`] = yield* xchg(cells[o.cell]!, o.value);
                  break;
                case 'mb':
                  yield* smp_mb();
                  break;
                case 'lock':
                  if (held) yield* spin_unlock(lock);
                  else yield* spin_lock(lock);
                  held = !held;
                  break;
              }
            }
          },
          p.pinned ? { cpu, pinned: true } : { cpu },
        );
      });
      return {
        state: () => {
          // Registers in a fixed order (the order they were written in varies between runs).
          const s: Record<string, number> = {};
          for (const key of Object.keys(regs).sort()) s[key] = regs[key]!;
          cells.forEach((c, i) => {
            s[`c${i}`] = c.value;
          });
          return s;
        },
      };
    },
  };
}
