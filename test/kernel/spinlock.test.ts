/**
 * Spinlocks under the memory models (issue 3): under tso the unlock is a store that waits in
 * the holder's store buffer, so another CPU keeps seeing the lock held (spin_trylock fails,
 * spin_lock spins) until that entry drains; spin_trylock returns 0 on a held lock and 1 on a
 * free one; the lock still gives mutual exclusion under every model.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { MEMORY_MODELS } from '../../src/kernel/memory.js';
import { READ_ONCE, WRITE_ONCE } from '../../src/kernel/ops.js';
import { spin_lock, spin_trylock, spin_unlock } from '../../src/kernel/spinlock.js';
import type { TraceEvent } from '../../src/trace/events.js';

/**
 * CPU0 takes the lock, signals `started`, and unlocks; CPU1 waits for `started` and then takes
 * the lock with `spin_trylock` in a loop (or `spin_lock`).
 */
function handover(seed: number, trylock: boolean) {
  const k = new Kernel({ cpus: 2, memoryModel: 'tso', timed: false, trace: true }, seeded(seed));
  const l = k.spinlock('l');
  const started = k.cell('started');
  const events: TraceEvent[] = [];
  k.events.on('trace', (e: TraceEvent) => {
    events.push(e);
  });
  let afterUnlock: { mem: number; buffered: number[] } | null = null;
  const results: number[] = [];
  k.spawn(
    'A',
    function* () {
      yield* spin_lock(l);
      yield* WRITE_ONCE(started, 1);
      yield* spin_unlock(l);
      // Still inside the step that ran the unlock: nothing has drained yet.
      afterUnlock = {
        mem: l.cell.value,
        buffered: k.cpus[0]!.sb.entries.filter((e) => e.cell === l.cell).map((e) => e.value),
      };
    },
    { cpu: 0, pinned: true },
  );
  k.spawn(
    'B',
    function* () {
      while ((yield* READ_ONCE(started)) === 0) {}
      if (trylock) {
        for (;;) {
          const got = yield* spin_trylock(l);
          results.push(got);
          if (got === 1) break;
        }
      } else {
        yield* spin_lock(l);
      }
      yield* spin_unlock(l);
    },
    { cpu: 1, pinned: true },
  );
  const r = k.run({ maxSteps: 10_000 });
  expect(r.status).toBe('done');
  expect(r.violations).toEqual([]);
  const drain = events.findIndex(
    (e) => e.kind === 'mem.drain' && e.cell === 'l.locked' && e.value === 0 && e.from === 0,
  );
  const acquireB = events.findIndex((e) => e.kind === 'lock.acquire' && e.cpu === 1);
  return { afterUnlock: afterUnlock!, results, drain, acquireB, events };
}

describe('spinlocks under tso', () => {
  it("the unlock store waits in the holder's store buffer", () => {
    const { afterUnlock } = handover(1, true);
    expect(afterUnlock).toEqual({ mem: 1, buffered: [0] });
  });

  it('another CPU sees the lock held until the unlock drains (spin_trylock fails, then succeeds)', () => {
    let failures = 0;
    for (let seed = 1; seed <= 30; seed++) {
      const { results, drain, acquireB, events } = handover(seed, true);
      expect(drain).toBeGreaterThanOrEqual(0);
      expect(acquireB).toBeGreaterThan(drain);
      expect(results.at(-1)).toBe(1);
      expect(results.slice(0, -1).every((x) => x === 0)).toBe(true);
      // Every failed attempt happened before the drain.
      const tries = events
        .map((e, i) => ({ e, i }))
        .filter(({ e }) => e.kind === 'mem.rmw' && e.op === 'spin_trylock' && e.cpu === 1);
      expect(tries).toHaveLength(results.length - 1);
      for (const { i } of tries) expect(i).toBeLessThan(drain);
      failures += tries.length;
    }
    // Some schedules do run B's attempts in the window between the unlock and its drain.
    expect(failures).toBeGreaterThan(0);
  });

  it('spin_lock on another CPU completes only after the unlock drained', () => {
    for (let seed = 1; seed <= 30; seed++) {
      const { drain, acquireB } = handover(seed, false);
      expect(drain).toBeGreaterThanOrEqual(0);
      expect(acquireB).toBeGreaterThan(drain);
    }
  });
});

describe('spin_trylock', () => {
  it('returns 0 on a held lock and 1 on a free one, under every model', () => {
    for (const m of MEMORY_MODELS) {
      const k = new Kernel({ cpus: 2, memoryModel: m, timed: false });
      const l = k.spinlock('l');
      const got: number[] = [];
      k.spawn('T', function* () {
        yield* spin_lock(l);
        got.push(yield* spin_trylock(l));
        yield* spin_unlock(l);
        got.push(yield* spin_trylock(l));
        yield* spin_unlock(l);
      });
      const r = k.run();
      expect(r.status).toBe('done');
      expect(got).toEqual([0, 1]);
      expect(l.cell.value).toBe(0);
      expect(l.owner).toBeNull();
    }
  });

  it('gives mutual exclusion to unlocked read-modify-write under every model', () => {
    for (const m of MEMORY_MODELS) {
      for (let seed = 1; seed <= 20; seed++) {
        const k = new Kernel({ cpus: 2, memoryModel: m, timed: false, trace: false }, seeded(seed));
        const l = k.spinlock('l');
        const x = k.cell('x');
        for (let i = 0; i < 2; i++) {
          k.spawn(
            `inc${i}`,
            function* () {
              for (let j = 0; j < 2; j++) {
                yield* spin_lock(l);
                const v = yield* READ_ONCE(x);
                yield* WRITE_ONCE(x, v + 1);
                yield* spin_unlock(l);
              }
            },
            { cpu: i, pinned: true },
          );
        }
        expect(k.run({ maxSteps: 10_000 }).status).toBe('done');
        expect(x.value).toBe(4);
      }
    }
  });
});

describe('the locks a context holds', () => {
  test.prop([
    fc
      .integer({ min: 1, max: 6 })
      .chain((n) =>
        fc.tuple(fc.constant(n), fc.shuffledSubarray([...Array(n).keys()], { minLength: n, maxLength: n })),
      ),
  ])(
    'released in any order, each unlock takes out exactly its own lock and keeps the order of the rest',
    ([n, order]) => {
      const k = new Kernel({ cpus: 1, timed: false, trace: false, lockdep: false }, seeded(1));
      const locks = Array.from({ length: n }, (_, i) => k.spinlock(`l${i}`));
      const seen: string[][] = [];
      const t = k.spawn('T', function* () {
        for (const l of locks) yield* spin_lock(l);
        let model = locks.map((l) => l.name);
        for (const i of order) {
          yield* spin_unlock(locks[i]!);
          model = model.filter((m) => m !== `l${i}`);
          seen.push(t.held.map((l) => l.name));
          expect(t.held.map((l) => l.name)).toEqual(model);
        }
      });
      expect(k.run().status).toBe('done');
      expect(seen).toHaveLength(n);
      expect(t.held).toEqual([]);
      for (const l of locks) expect(l.cell.value).toBe(0);
    },
  );
});
