/**
 * Tests of the exhaustive search (`DfsSearch`): it enumerates every decision sequence exactly
 * once, counts and bounds preemptions, detects nondeterminism on replay, and — the reduction
 * cross-check — on random small programs (2-3 tasks on 2-3 CPUs, 1-4 operations each over 2-3
 * cells and a spinlock, under sc and tso) the search with sleep sets reaches exactly the final
 * states (hangs included) of plain DFS, in no more executions.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/check/explore.js';
import { runScenario } from '../../src/check/runner.js';
import { DfsSearch, dependent } from '../../src/check/strategies/dfs.js';
import { Abandon } from '../../src/check/strategy.js';
import type { ActionInfo, ChoicePoint, Chooser } from '../../src/kernel/chooser.js';
import { findScenario } from '../../src/scenarios/index.js';
import { type Program, programArb, programScenario, showProgram } from './programs.js';

function act(p: Partial<ActionInfo> & { actor: number }): ActionInfo {
  return { cpu: -1, obj: -1, write: false, sched: false, global: false, kind: 'op', label: '', ...p };
}

/** Runs a search to the end over `body` (one execution per call); returns the decision lists. */
function enumerate(search: DfsSearch, body: (c: Chooser) => void, cap = 10_000): number[][] {
  const out: number[][] = [];
  for (let i = 0; i < cap; i++) {
    const c = search.chooser();
    try {
      body(c);
      out.push(search.choices());
    } catch (e) {
      if (!(e instanceof Abandon)) throw e;
    }
    if (!search.next()) return out;
  }
  throw new Error('search did not end');
}

describe('DfsSearch', () => {
  it('enumerates every choice sequence once, in lexicographic order', () => {
    const seqs = enumerate(new DfsSearch(), (c) => {
      const a = c.choose(2, 'jitter');
      c.choose(a === 0 ? 3 : 2, 'jitter');
    });
    expect(seqs).toEqual([
      [0, 0],
      [0, 1],
      [0, 2],
      [1, 0],
      [1, 1],
    ]);
  });

  it('a run with no decisions is one execution', () => {
    expect(enumerate(new DfsSearch(), () => {})).toEqual([[]]);
  });

  it('reports nondeterminism when a replay offers different options', () => {
    const search = new DfsSearch();
    let n = 2;
    const c = search.chooser();
    c.choose(n, 'jitter');
    c.choose(2, 'jitter');
    expect(search.next()).toBe(true);
    n = 3;
    expect(() => search.chooser().choose(n, 'jitter')).toThrow(/nondeterminism: decision 0 offered 3/);
  });

  it('counts preemptions and cuts executions beyond the bound', () => {
    // Three step decisions between two actors where option 0 continues the last one.
    const a0 = act({ actor: 1, cpu: 0, obj: 1, write: true });
    const a1 = act({ actor: 2, cpu: 1, obj: 1, write: true });
    const point: ChoicePoint = { actions: [a0, a1], continues: true };
    const body = (c: Chooser) => {
      for (let i = 0; i < 3; i++) c.choose(2, 'step', point);
    };
    const all = enumerate(new DfsSearch({ sleepSets: false }), body);
    expect(all).toHaveLength(8);
    for (const k of [0, 1, 2, 3]) {
      const search = new DfsSearch({ preemptionBound: k, sleepSets: false });
      const seqs = enumerate(search, body);
      const expected = all.filter((s) => s.filter((x) => x !== 0).length <= k);
      expect(seqs).toEqual(expected);
      expect(search.cutByPreemption > 0).toBe(k < 3);
    }
  });

  it('sleep sets prune the orders of independent actions that plain DFS repeats', () => {
    // Three actors with one independent action each; the body plays the kernel: it asks only
    // when more than one action is enabled and reports every executed action.
    const acts = [1, 2, 3].map((i) => act({ actor: i, cpu: i, obj: i, write: true }));
    const body = (c: Chooser) => {
      let left = acts.slice();
      while (left.length > 0) {
        const pick = left.length > 1 ? c.choose(left.length, 'step', { actions: left, continues: false }) : 0;
        c.observe?.(left[pick]!);
        left = left.filter((_, i) => i !== pick);
      }
    };
    expect(enumerate(new DfsSearch({ sleepSets: false }), body)).toHaveLength(6);
    const reduced = new DfsSearch({ sleepSets: true });
    const seqs = enumerate(reduced, body);
    expect(seqs.length).toBeLessThan(6);
    expect(reduced.redundant).toBeGreaterThan(0);
    // A dependent pair is never pruned: with one shared written object, all 6 orders remain.
    const shared = [1, 2, 3].map((i) => act({ actor: i, cpu: i, obj: 9, write: true }));
    const body2 = (c: Chooser) => {
      let left = shared.slice();
      while (left.length > 0) {
        const pick = left.length > 1 ? c.choose(left.length, 'step', { actions: left, continues: false }) : 0;
        c.observe?.(left[pick]!);
        left = left.filter((_, i) => i !== pick);
      }
    };
    expect(enumerate(new DfsSearch({ sleepSets: true }), body2)).toHaveLength(6);
  });

  it('dependent(): same object with a write, same CPU, scheduler pairs and globals conflict', () => {
    const base = { cpu: 0, obj: 5, write: false };
    expect(dependent(act({ actor: 1, ...base }), act({ actor: 2, ...base, cpu: 1 }))).toBe(false);
    expect(dependent(act({ actor: 1, ...base }), act({ actor: 2, ...base, cpu: 1, write: true }))).toBe(true);
    expect(dependent(act({ actor: 1, ...base }), act({ actor: 2, ...base }))).toBe(true);
    expect(dependent(act({ actor: 1, cpu: 0, obj: 1 }), act({ actor: 2, cpu: 1, obj: 2, write: true }))).toBe(
      false,
    );
    expect(dependent(act({ actor: 1, cpu: 0, sched: true }), act({ actor: 2, cpu: 1, sched: true }))).toBe(
      true,
    );
    expect(dependent(act({ actor: 1, cpu: 0, global: true }), act({ actor: 2, cpu: 1, obj: 3 }))).toBe(true);
  });
});

/** Explores a program both ways and checks the reduction against plain DFS. */
function crossCheck(p: Program): { plain: number; reduced: number } {
  const s = programScenario(p);
  const base = { strategy: 'exhaustive' as const, stopOnFirst: false, minimize: false, runs: 200_000 };
  const plain = explore(s, { ...base, sleepSets: false });
  const reduced = explore(s, { ...base, sleepSets: true });
  const what = showProgram(p);
  expect(plain.complete, what).toBe(true);
  expect(reduced.complete, what).toBe(true);
  expect(reduced.stateKeys, what).toEqual(plain.stateKeys);
  expect(reduced.explored, what).toBeLessThanOrEqual(plain.explored);
  return { plain: plain.explored, reduced: reduced.explored };
}

describe('reduction cross-check: sleep sets against plain DFS', () => {
  it('equal sets of final states (and hangs) on random small programs, never more executions', () => {
    let plain = 0;
    let reduced = 0;
    let hangs = 0;
    fc.assert(
      fc.property(programArb(['sc', 'tso']), (p) => {
        // Keep each program small enough for plain DFS (3 tasks of 4 ops under tso reach ~10^5).
        fc.pre(p.tasks.reduce((a, t) => a + t.length, 0) <= 8);
        const r = crossCheck(p);
        plain += r.plain;
        reduced += r.reduced;
        if (runScenario(programScenario(p), { config: { timed: false } }).status === 'hang') hangs++;
      }),
      { numRuns: 150 },
    );
    // The reduction does reduce, overall.
    expect(reduced).toBeLessThan(plain);
    expect(hangs).toBeGreaterThanOrEqual(0);
  });

  it('a program whose tasks migrate: the CPU a queued task lands on depends on who ends first', () => {
    // P2 waits on CPU0 behind P0 and is stolen by CPU1 if P1 ends first: P2 then reads memory
    // (c0 = 1 once the first store drained) instead of P0's store buffer.
    const p: Program = {
      cpus: 2,
      cells: 2,
      model: 'tso',
      pinned: false,
      tasks: [
        [{ op: 'lock' }, { op: 'write', cell: 0, value: 1 }, { op: 'write', cell: 0, value: 2 }],
        [{ op: 'read', cell: 0 }],
        [{ op: 'read', cell: 0 }],
      ],
    };
    crossCheck(p);
    const s = programScenario(p);
    const r = explore(s, { strategy: 'exhaustive', stopOnFirst: false, minimize: false });
    expect(r.stateKeys.some((k) => k.includes('"P1.r0":0,"P2.r0":1'))).toBe(true);
  });

  it('a spinlock held to the end leaves the others hanging, in both searches', () => {
    const p: Program = {
      cpus: 2,
      cells: 2,
      model: 'tso',
      pinned: true,
      tasks: [
        [{ op: 'lock' }, { op: 'write', cell: 0, value: 1 }],
        [{ op: 'read', cell: 0 }, { op: 'lock' }, { op: 'lock' }],
      ],
    };
    crossCheck(p);
    const r = explore(programScenario(p), { strategy: 'exhaustive', stopOnFirst: false, minimize: false });
    expect(r.stateKeys.some((k) => k.startsWith('hang|'))).toBe(true);
    expect(r.stateKeys.some((k) => k.startsWith('done|'))).toBe(true);
  });

  it('the catalogue scenarios agree too (sb-mb, wq-active-mb)', () => {
    for (const name of ['sb-mb', 'wq-active-mb', 'mp-wmb-rmb']) {
      const s = findScenario(name)!;
      const plain = explore(s, { strategy: 'exhaustive', sleepSets: false, stopOnFirst: false });
      const reduced = explore(s, { strategy: 'exhaustive', sleepSets: true, stopOnFirst: false });
      expect(reduced.stateKeys, name).toEqual(plain.stateKeys);
      expect(reduced.explored, name).toBeLessThan(plain.explored);
    }
  });
});
