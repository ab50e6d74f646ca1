/**
 * The fuzzer's bounded, seeded share for CI, and proof that it is not vacuous: its checks reject
 * fake failing observations, and a run on a kernel with a bug planted finds and shrinks it.
 */
import { describe, expect, it } from 'vitest';
import {
  checkAccounting,
  checkEventData,
  checkFastForward,
  checkReadBytes,
  checkReturn,
} from '../../src/fuzz/checks.js';
import { ByteModel } from '../../src/fuzz/model.js';
import { formatProgram, type Operation, type Program } from '../../src/fuzz/program.js';
import { fuzz, judge, replayToken } from '../../src/fuzz/runner.js';
import { errnoName } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { syscalls } from '../../src/kernel/syscalls.js';

/**
 * Plants a bug in every kernel `on` picks while it runs: pread reports a byte more than it read.
 * Returns what takes it out again.
 */
function plantPreadBug(on: (k: Kernel) => boolean): () => void {
  const orig = Kernel.prototype.run;
  Kernel.prototype.run = function (this: Kernel, opts) {
    if (on(this)) {
      const e = syscalls(this).table.get('pread')!;
      const h = e.handler as (...a: never[]) => Generator<unknown, number, unknown>;
      (e as { handler: unknown }).handler = function* (...a: never[]) {
        const r: number = yield* h(...a);
        return r > 0 ? r + 1 : r;
      };
    }
    return orig.call(this, opts);
  };
  return () => {
    Kernel.prototype.run = orig;
  };
}

describe('fuzz: the seeded share', () => {
  it('runs 2,500 programs of seed 1 without a failure', () => {
    const r = fuzz({ programs: 2500, seed: 1 });
    const report = r.found.map((f) => `${f.signature}\n${formatProgram(f.program)}`).join('\n\n');
    expect(report).toBe('');
    expect(r.programs).toBe(2500);
    expect(r.syscalls).toBeGreaterThan(2500 * 10);
  }, 60_000);
});

describe('fuzz: the checks reject what they must', () => {
  it('returns: a non-integer, an errno outside the table, a success out of bounds', () => {
    expect(checkReturn('read', 0.5)).toMatch(/not an integer/);
    expect(checkReturn('read', -999)).toMatch(/not an errno/);
    expect(checkReturn('read', 10, { max: 4 })).toMatch(/more than 4/);
    expect(checkReturn('getpid', 3, { exact: 2 })).toMatch(/expected 2/);
    expect(checkReturn('read', -22)).toBeNull();
    expect(errnoName(-22)).toBe('-EINVAL');
  });

  it('events: a stray or a second event of one request', () => {
    const pending = new Map([[7, 1]]);
    expect(checkEventData(pending, 7)).toBeNull();
    expect(checkEventData(pending, 7)).toMatch(/stray or duplicate/);
    expect(checkEventData(pending, 8)).toMatch(/stray or duplicate/);
  });

  it('data: a byte the model knows, read wrong; a wrong length', () => {
    const m = new ByteModel(0, false);
    m.write(0, new Uint8Array([1, 2, 3, 4]));
    const want = m.expect(0, 10)!;
    expect(want.n).toBe(4);
    expect(checkReadBytes('pread', 4, new Uint8Array([1, 2, 9, 4]), want)).toMatch(/byte 2/);
    expect(checkReadBytes('pread', 3, new Uint8Array([1, 2, 3]), want)).toMatch(/byte model says 4/);
    m.blur(2, 1);
    expect(checkReadBytes('pread', 4, new Uint8Array([1, 2, 9, 4]), m.expect(0, 10)!)).toBeNull();
  });

  it('data: bytes an asynchronous write past the end may have reached stay unknown after later writes and a truncate', () => {
    // A 5000-byte file; an AIO write of 4096 bytes at 4487 (its bytes land when they land); a
    // synchronous write far past the end; a truncate below that end. The bytes from 5000 to
    // 8583 may hold the AIO write's data: the model must not take them for zeroes.
    const m = new ByteModel(5000, false);
    m.write(0, new Uint8Array(5000).fill(7));
    m.blur(4487, 4096);
    m.write(17920, new Uint8Array(5120).fill(9));
    m.truncate(11051);
    const want = m.expect(4000, 6000)!;
    expect(want.n).toBe(6000);
    expect(want.known.subarray(0, 487).every((b) => b === 1)).toBe(true); // 4000..4486: the file's
    expect(want.known.subarray(487, 4583).every((b) => b === 0)).toBe(true); // 4487..8582: the AIO write's
    expect(want.known.subarray(4583).every((b) => b === 1)).toBe(true); // 8583..9999: zeroes
    expect(
      checkReadBytes('pread', 6000, new Uint8Array(6000).fill(53).fill(7, 0, 487).fill(0, 4583), want),
    ).toBeNull();
  });

  it('accounting: a request without its event, a gauge left over', () => {
    const stats = {
      'aio.nr': 0,
      'aio.maxNr': 40,
      'aio.pinned': 1,
      'aio.maxPinned': 8,
      'aio.maxSize': 8192,
      'aio.reqsActive': 0,
    };
    const out = checkAccounting({
      contexts: [{ id: 1, dead: true, reqsActive: 0, submitted: 3, published: 2 }],
      stats,
      procs: [{ name: 'P0', openFiles: 0, pinned: 0 }],
    });
    expect(out).toEqual([
      'ctx 1: 3 requests accepted but 2 events published',
      'aio.pinned is 1 after every process exited',
    ]);
  });
});

describe('fuzz: fast-forward on and off give the same failures', () => {
  it('the check: equal lists (in any order) pass, a failure of one run only is named', () => {
    const hang = { kind: 'run', message: "the run ended 'hang'" };
    const data = { kind: 'data', message: 'pread: byte 2 is 9', at: 'P0 op 3' };
    expect(checkFastForward([hang, data], [data, hang])).toBeNull();
    expect(checkFastForward([data], [])).toBe(
      'fast-forward on and off differ: only on, P0 op 3: data: pread: byte 2 is 9; only off, nothing',
    );
    expect(checkFastForward([hang], [hang, hang])).toMatch(/only on, nothing; only off, run: /);
  });

  it('a kernel whose pread goes wrong only with fast-forward on is caught by the comparison', async () => {
    const unplant = plantPreadBug((k) => k.config.fastForward);
    const ops: Operation[] = [
      { t: 'open', path: 'file', flags: 2 },
      { t: 'pwrite', fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, count: 4, pos: 0 },
      { t: 'pread', fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, count: 4, pos: 0 },
    ];
    const prog = (fastForward: boolean, memoryModel: Program['memoryModel'] = 'sc'): Program => ({
      cpus: 1,
      timed: true,
      memoryModel,
      fastForward,
      seed: 0,
      procs: [{ ops }],
    });
    try {
      const on = judge(prog(true));
      expect(on.failures.find((f) => f.kind === 'fast-forward')?.message).toBe(
        'fast-forward on and off differ: only on, P0 op 2: return: pread returned 5, more than 4; ' +
          'P0 op 2: data: pread(file @0, 4) returned 5, the byte model says 4; only off, nothing',
      );
      // Without fast-forward, or where the kernel does not fast-forward (tso), nothing is compared.
      expect(judge(prog(false)).failures).toEqual([]);
      expect(judge(prog(true, 'tso')).failures.some((f) => f.kind === 'fast-forward')).toBe(false);
    } finally {
      unplant();
    }
  });
});

describe('fuzz: a planted bug is found, shrunk and replayable', () => {
  it('a kernel whose pread returns one byte too many is caught', async () => {
    const unplant = plantPreadBug(() => true);
    try {
      const r = fuzz({ programs: 400, seed: 3, shrinkRuns: 200 });
      expect(r.found.length).toBeGreaterThan(0);
      const f = r.found[0]!;
      expect(f.failures.some((x) => x.kind === 'return' || x.kind === 'data')).toBe(true);
      // Shrunk: one process, a few operations, one of them a pread.
      const ops = f.program.procs.flatMap((p) => p.ops);
      expect(f.program.procs.length).toBe(1);
      expect(ops.length).toBeLessThanOrEqual(4);
      expect(ops.some((o) => o.t === 'pread')).toBe(true);
      // The token names the minimal program.
      expect(replayToken(f.token)).toEqual(f.program);
    } finally {
      unplant();
    }
  }, 60_000);
});
