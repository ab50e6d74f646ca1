/**
 * The memory models (issue 3): which outcomes of store buffering (SB) and message passing
 * (MP) each model reaches, with and without barriers, found by exhaustive exploration; and
 * coherence under the weakest model, `invq`: on random programs a CPU never sees a cell go
 * backwards in its coherence order, and CoRR is forbidden under every model.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/check/explore.js';
import { parseLitmus } from '../../src/check/litmus/parse.js';
import { runLitmus } from '../../src/check/litmus/run.js';
import type { Scenario } from '../../src/check/scenario.js';
import type { Cell } from '../../src/kernel/cell.js';
import { fromArray } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { MEMORY_MODELS, type MemoryModel } from '../../src/kernel/memory.js';
import {
  READ_ONCE,
  smp_load_acquire,
  smp_mb,
  smp_rmb,
  smp_store_release,
  smp_wmb,
  WRITE_ONCE,
  xchg,
} from '../../src/kernel/ops.js';
import { mpScenario, mpWmb, mpWmbRmb, sbMb, sbMbOne, sbScenario } from '../../src/scenarios/memory.js';

/** Whether exhaustive exploration of `s` under `model` reaches the relaxed outcome. */
function reaches(s: Scenario, model: MemoryModel): boolean {
  const r = explore(s, { strategy: 'exhaustive', config: { memoryModel: model } });
  if (r.violations.length === 0) {
    // "Not reachable" only counts when the whole space was searched.
    expect(r.complete).toBe(true);
    expect(r.explored).toBeGreaterThan(0);
    return false;
  }
  expect(r.violations[0]!.kind).toBe('invariant');
  return true;
}

describe('store buffering (SB)', () => {
  it('under tso: reachable without barriers and with smp_mb on one side, not with smp_mb on both', () => {
    expect(reaches(sbScenario, 'tso')).toBe(true);
    expect(reaches(sbMbOne, 'tso')).toBe(true);
    expect(reaches(sbMb, 'tso')).toBe(false);
  });

  it('under sc: never', () => {
    for (const s of [sbScenario, sbMbOne, sbMb]) expect(reaches(s, 'sc')).toBe(false);
  });

  it('the weaker models keep smp_mb on both sides sufficient', () => {
    for (const m of ['pso', 'invq'] as const) {
      expect(reaches(sbScenario, m)).toBe(true);
      expect(reaches(sbMbOne, m)).toBe(true);
      expect(reaches(sbMb, m)).toBe(false);
    }
  });
});

describe('message passing (MP)', () => {
  it('without barriers: reachable under pso and invq, not under sc or tso', () => {
    expect(reaches(mpScenario, 'sc')).toBe(false);
    expect(reaches(mpScenario, 'tso')).toBe(false);
    expect(reaches(mpScenario, 'pso')).toBe(true);
    expect(reaches(mpScenario, 'invq')).toBe(true);
  });

  it('with smp_wmb on the writer only: reachable under invq only', () => {
    expect(reaches(mpWmb, 'sc')).toBe(false);
    expect(reaches(mpWmb, 'tso')).toBe(false);
    expect(reaches(mpWmb, 'pso')).toBe(false);
    expect(reaches(mpWmb, 'invq')).toBe(true);
  });

  it('with smp_wmb + smp_rmb: never, in any model', () => {
    for (const m of MEMORY_MODELS) expect(reaches(mpWmbRmb, m)).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------
// Coherence under invq

type MemOp =
  | { readonly op: 'store' | 'release' | 'xchg'; readonly cell: number }
  | { readonly op: 'load' | 'acquire'; readonly cell: number }
  | { readonly op: 'mb' | 'wmb' | 'rmb' };

const memOp: fc.Arbitrary<MemOp> = fc.oneof(
  {
    arbitrary: fc.record({
      op: fc.constantFrom('store' as const, 'release' as const, 'xchg' as const),
      cell: fc.nat({ max: 1 }),
    }),
    weight: 3,
  },
  {
    arbitrary: fc.record({
      op: fc.constantFrom('load' as const, 'acquire' as const),
      cell: fc.nat({ max: 1 }),
    }),
    weight: 4,
  },
  { arbitrary: fc.record({ op: fc.constantFrom('mb' as const, 'wmb' as const, 'rmb' as const) }), weight: 1 },
);

/** One access seen by a CPU: the value read or written. */
interface Access {
  readonly cell: number;
  readonly write: boolean;
  readonly value: number;
}

describe('coherence under invq', () => {
  test.prop(
    [
      fc.array(fc.array(memOp, { minLength: 1, maxLength: 6 }), { minLength: 2, maxLength: 3 }),
      fc.array(fc.nat({ max: 7 }), { maxLength: 80 }),
    ],
    { numRuns: 100 },
  )('a CPU never sees a cell go backwards in its coherence order', (progs, choices) => {
    const k = new Kernel(
      { cpus: progs.length, memoryModel: 'invq', timed: false, trace: false },
      fromArray(choices),
    );
    const cells: Cell[] = [k.cell('x'), k.cell('y')];
    const seen: Access[][] = progs.map(() => []);
    let next = 1;
    progs.forEach((prog, i) => {
      k.spawn(
        `P${i}`,
        function* () {
          const log = seen[i]!;
          for (const o of prog) {
            if (!('cell' in o)) {
              if (o.op === 'mb') yield* smp_mb();
              else if (o.op === 'wmb') yield* smp_wmb();
              else yield* smp_rmb();
              continue;
            }
            const c = cells[o.cell]!;
            if (o.op === 'load' || o.op === 'acquire') {
              const v = o.op === 'load' ? yield* READ_ONCE(c) : yield* smp_load_acquire(c);
              log.push({ cell: o.cell, write: false, value: v });
              continue;
            }
            // Every store writes a value of its own, so coherence order is known from `hist`.
            const v = next++;
            if (o.op === 'xchg') {
              const old = yield* xchg(c, v);
              log.push({ cell: o.cell, write: false, value: old });
            } else if (o.op === 'store') yield* WRITE_ONCE(c, v);
            else yield* smp_store_release(c, v);
            log.push({ cell: o.cell, write: true, value: v });
          }
        },
        { cpu: i, pinned: true },
      );
    });
    const r = k.run({ maxSteps: 2000 });
    expect(r.status).toBe('done');
    for (const log of seen) {
      for (const [ci, c] of cells.entries()) {
        // hist: the cell's coherence order, initial value first.
        const pos = log.filter((a) => a.cell === ci).map((a) => c.hist.indexOf(a.value));
        expect(pos.every((p) => p >= 0)).toBe(true);
        for (let j = 1; j < pos.length; j++) expect(pos[j]!).toBeGreaterThanOrEqual(pos[j - 1]!);
      }
    }
  });

  it('CoRR (two reads of one cell in a row cannot see new then old) is Never under every model', () => {
    const file = fileURLToPath(new URL('../litmus/CoRR+poonceonce+Once.litmus', import.meta.url));
    const t = parseLitmus(readFileSync(file, 'utf8'), 'CoRR+poonceonce+Once.litmus');
    for (const m of MEMORY_MODELS) {
      const r = runLitmus(t, m);
      expect(r.complete).toBe(true);
      expect(r.verdict).toBe('Never');
      // Both coherent outcomes of the reader are reached: (0,0), (0,1), (1,1).
      const outcomes = new Set(r.states.map((s) => `${s['1:r0']},${s['1:r1']}`));
      expect([...outcomes].sort()).toEqual(['0,0', '0,1', '1,1']);
    }
  });
});
