import { describe, expect, it } from 'vitest';
import { alloc_page, lock_page, type Page, SetPageUptodate, unlock_page } from '../../src/devices/page.js';
import type { Kernel } from '../../src/kernel/kernel.js';
import { cpu } from '../../src/kernel/ops.js';
import { current, in_interrupt, msleep_ns } from '../../src/kernel/sched.js';
import { WTD_NEXT, WTD_WAIT, wtd_chain, wtd_chain_start } from '../../src/wtd/chain.js';
import { wtd_lock_page, wtd_wait_page } from '../../src/wtd/primitives.js';
import { wtd_describe, wtd_init } from '../../src/wtd/worktodo.js';
import { kernelWithPool } from './helpers.js';

const DISK = Uint8Array.from({ length: 64 }, (_, i) => (i * 7 + 3) & 0xff);

/** A fake `readpage`: the disk fills the page and unlocks it from its interrupt, `ns` later. */
function readpage(k: Kernel, page: Page, ns: number): void {
  k.hold();
  k.after(ns, `read ${page.name}`, () =>
    k.raise_irq('disk', function* () {
      page.data.set(DISK);
      yield* SetPageUptodate(page);
      yield* unlock_page(page);
      k.release();
    }),
  );
}

/** The read path as a chain: lock page → readpage → wait on page → copy → complete. */
function readChain(k: Kernel, page: Page, user: Uint8Array, log: string[]) {
  const where = (step: string): void => {
    log.push(`${step}@${in_interrupt() ? 'irq' : current().name}`);
  };
  return wtd_chain('read', {
    *lock(wtd) {
      where('lock');
      return yield* wtd_lock_page(wtd, page);
    },
    *readpage() {
      where('readpage');
      readpage(k, page, 5000);
      return WTD_NEXT;
    },
    *wait(wtd) {
      where('wait');
      return yield* wtd_wait_page(wtd, page);
    },
    *copy() {
      where('copy');
      yield* cpu(200);
      user.set(page.data.subarray(0, user.length));
      return WTD_NEXT;
    },
    *complete() {
      where('complete');
      return WTD_NEXT;
    },
  });
}

describe('wtd chains', () => {
  it('runs lock → readpage → wait → copy → complete without the submitter ever sleeping', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const user = new Uint8Array(16);
    const log: string[] = [];
    const chain = readChain(k, page, user, log);
    let switchesDuring = -1;
    let parkedAs = '';
    k.spawn('submitter', function* (me) {
      const w = wtd_init('io');
      const before = me.switches;
      yield* wtd_chain_start(w, chain);
      switchesDuring = me.switches - before;
      parkedAs = wtd_describe(w);
      log.push(`submitter returns at ${k.now}`);
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(r.violations).toEqual([]);
    expect(switchesDuring).toBe(0);
    expect(parkedAs).toBe('io: read.copy []');
    expect(log).toEqual([
      'lock@submitter',
      'readpage@submitter',
      'wait@submitter',
      'submitter returns at 0',
      'copy@keventd/0',
      'complete@keventd/0',
    ]);
    expect([...user]).toEqual([...DISK.subarray(0, 16)]);
    expect(k.stats['wtd.actions']).toBe(1);
  });

  it('parks at the first step when the page is held, and resumes there on a worker', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    const user = new Uint8Array(8);
    const log: string[] = [];
    const chain = readChain(k, page, user, log);
    k.spawn('holder', function* () {
      yield* lock_page(page);
      yield* msleep_ns(1000);
      yield* unlock_page(page);
    });
    k.spawn('submitter', function* () {
      yield* msleep_ns(100);
      yield* wtd_chain_start(wtd_init('io'), chain);
      log.push('submitted');
    });
    const r = k.run();
    expect(r.status).toBe('done');
    expect(log).toEqual([
      'lock@submitter',
      'submitted',
      'readpage@keventd/0',
      'wait@keventd/0',
      'copy@keventd/0',
      'complete@keventd/0',
    ]);
    expect([...user]).toEqual([...DISK.subarray(0, 8)]);
    expect(k.stats['wtd.actions']).toBe(2);
  });

  it('loops by jumping to a step by name', () => {
    const k = kernelWithPool(1);
    const page = alloc_page(k, 'p');
    let reads = 0;
    const chain = wtd_chain('loop', {
      *lock(wtd) {
        return yield* wtd_lock_page(wtd, page);
      },
      *io() {
        readpage(k, page, 1000);
        return WTD_NEXT;
      },
      *wait(wtd) {
        return yield* wtd_wait_page(wtd, page);
      },
      *again() {
        return ++reads < 3 ? 'lock' : WTD_NEXT;
      },
    });
    k.spawn('submitter', () => wtd_chain_start(wtd_init('io'), chain));
    const r = k.run();
    expect(r.status).toBe('done');
    expect(reads).toBe(3);
    expect(r.simTimeNs).toBe(3000);
  });

  it('rejects bad step results and unknown step names', () => {
    expect(() => wtd_chain('empty', {})).toThrow(/no steps/);
    const bad = wtd_chain('bad', {
      *a() {
        return 'nowhere';
      },
    });
    const k = kernelWithPool(1);
    expect(() => {
      k.spawn('t', () => wtd_chain_start(wtd_init('w'), bad));
      k.run();
    }).toThrow(/jumps to unknown step 'nowhere'/);
    const k2 = kernelWithPool(1);
    expect(() => k2.spawn('t', () => wtd_chain_start(wtd_init('w'), bad, 'zz'))).toThrow(/no step 'zz'/);
    expect(WTD_WAIT).toBe(0);
  });
});
