/**
 * The address space (issue 15): every byte of a mapping is backed, `mmap` lengths are checked
 * (-EINVAL for lengths that are not positive safe integers, -ENOMEM past the address-space
 * limit or when no free range is left), and unmapped ranges are found again.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { EINVAL, ENOMEM } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import {
  DEFAULT_RLIMIT_AS,
  Mm,
  PAGE_SIZE,
  type Process,
  TASK_SIZE,
  USER_BASE,
} from '../../src/kernel/process.js';
import { create_process, syscall } from '../../src/kernel/syscalls.js';

/** Runs `body` as a process of a fresh kernel. */
function inProcess(body: (p: Process) => KernelCode<void>): void {
  const k = new Kernel({ cpus: 1 });
  create_process(k, 'proc', body);
  const r = k.run();
  expect(r.violations).toEqual([]);
  expect(r.status).toBe('done');
}

const GiB = 1024 * 1024 * 1024;

describe('mmap lengths', () => {
  it('0, negative, fractional, NaN, infinite and unsafe lengths are -EINVAL; absurd ones -ENOMEM', () => {
    const got: number[] = [];
    inProcess(function* () {
      for (const len of [0, -1, -4096, 2.5, Number.NaN, Infinity, -Infinity, 1e300, 2 ** 53])
        got.push(yield* syscall('mmap', len, 3, -1));
      for (const len of [2 ** 40, TASK_SIZE, DEFAULT_RLIMIT_AS + 1])
        got.push(yield* syscall('mmap', len, 3, -1));
    });
    expect(got).toEqual([...Array(9).fill(-EINVAL), -ENOMEM, -ENOMEM, -ENOMEM]);
  });

  it('the address-space limit (rlimit_as) counts every mapping; munmap gives its room back', () => {
    const got: number[] = [];
    inProcess(function* (p) {
      p.mm.rlimit_as = 4 * PAGE_SIZE;
      const a = yield* syscall('mmap', 2 * PAGE_SIZE, 3, -1);
      got.push(a > 0 ? 1 : a, p.mm.total_vm);
      got.push(yield* syscall('mmap', 2 * PAGE_SIZE + 1, 3, -1)); // three pages: one too many
      const b = yield* syscall('mmap', 1, 3, -1); // one page
      got.push(b > a ? 1 : b, p.mm.total_vm);
      got.push(yield* syscall('munmap', a), p.mm.total_vm);
      got.push((yield* syscall('mmap', 3 * PAGE_SIZE, 3, -1)) > 0 ? 1 : 0, p.mm.total_vm);
    });
    expect(got).toEqual([1, 2 * PAGE_SIZE, -ENOMEM, 1, 3 * PAGE_SIZE, 0, PAGE_SIZE, 1, 4 * PAGE_SIZE]);
  });

  it('library code gets an Error that says why', () => {
    const mm = new Mm();
    expect(() => mm.mmap(0)).toThrow(/positive safe integer, got 0/);
    expect(() => mm.mmap(DEFAULT_RLIMIT_AS + 1)).toThrow(/rlimit_as/);
    expect(() => mm.mmap(2 * PAGE_SIZE, 3, 'dev', new Uint8Array(PAGE_SIZE))).toThrow(
      /4096 bytes of backing for a mapping of 8192/,
    );
  });
});

describe('mappings', () => {
  test.prop([fc.array(fc.integer({ min: 1, max: 3 * PAGE_SIZE }), { minLength: 1, maxLength: 12 })])(
    'every byte of a mapping is backed: its last byte reads and writes; mappings never overlap',
    (lens) => {
      const mm = new Mm();
      const addrs = lens.map((len) => mm.mmap(len));
      addrs.forEach((a, i) => {
        const r = mm.find(a, 1)!;
        expect(r.len).toBe(Math.ceil(lens[i]! / PAGE_SIZE) * PAGE_SIZE);
        expect(r.data.length).toBeGreaterThanOrEqual(r.len);
        expect(mm.copy_to_user(a + r.len - 1, new Uint8Array([9]))).toBe(true);
        expect([...mm.copy_from_user(a + r.len - 1, 1)!]).toEqual([9]);
        expect(mm.copy_from_user(a + r.len, 1)).toBeNull(); // the guard page
      });
      const rs = [...mm.regions].sort((x, y) => x.start - y.start);
      for (let i = 1; i < rs.length; i++)
        expect(rs[i]!.start).toBeGreaterThanOrEqual(rs[i - 1]!.start + rs[i - 1]!.len + PAGE_SIZE);
    },
  );

  it('addresses are handed out upwards; past TASK_SIZE the search starts again from the bottom and finds freed ranges', () => {
    const mm = new Mm();
    mm.rlimit_as = TASK_SIZE;
    const backing = new Uint8Array(GiB); // one backing for all three: no gigabytes touched
    const a = mm.do_mmap(GiB, 3, 'big', backing);
    const b = mm.do_mmap(GiB, 3, 'big', backing);
    expect([a, b]).toEqual([USER_BASE, USER_BASE + GiB + PAGE_SIZE]);
    expect(mm.do_mmap(GiB, 3, 'big', backing)).toBe(-ENOMEM); // no range left below TASK_SIZE
    expect(mm.munmap(a)).toBe(true);
    expect(mm.do_mmap(GiB, 3, 'big', backing)).toBe(USER_BASE);
    expect(mm.regions.map((r) => r.start)).toEqual([USER_BASE, b]);
  });
});
