/**
 * Processes and syscalls (issue 2): user-memory copies fault outside mappings, the syscall
 * layer checks fds, counts and buffers before calling a file's operations, unknown syscalls
 * get -ENOSYS, signals cut nanosleep short, and errno values are Linux's.
 */
import { describe, expect, it } from 'vitest';
import {
  EAGAIN,
  EBADF,
  EFAULT,
  EINTR,
  EINVAL,
  ENOENT,
  ENOSYS,
  ESRCH,
  errnoName,
} from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { cpu } from '../../src/kernel/ops.js';
import {
  File,
  type FileOperations,
  O_RDONLY,
  O_RDWR,
  O_WRONLY,
  type Ppos,
  PROT_READ,
  type Process,
} from '../../src/kernel/process.js';
import { create_process, register_path, syscall } from '../../src/kernel/syscalls.js';

/** Runs `body` as the main task of a process in a fresh timed kernel; returns the process. */
function inProcess(body: (p: Process) => KernelCode<void>, setup?: (k: Kernel) => void): Process {
  const k = new Kernel({ cpus: 1, timed: true });
  setup?.(k);
  const p = create_process(k, 'proc', body);
  const r = k.run();
  expect(r.status).toBe('done');
  expect(r.violations).toEqual([]);
  return p;
}

/** A device whose reads fill the buffer with 7s and record the calls. */
function device(calls: string[]): FileOperations {
  return {
    name: 'dev',
    *read(_f: File, p: Process, buf: number, count: number, ppos: Ppos) {
      calls.push(`read ${count}`);
      p.mm.copy_to_user(buf, new Uint8Array(count).fill(7));
      ppos.pos += count;
      return count;
    },
    *write(_f: File, _p: Process, _buf: number, count: number, ppos: Ppos) {
      calls.push(`write ${count}`);
      ppos.pos += count;
      return count;
    },
  };
}

describe('errno', () => {
  it('errno values are the Linux numbers', () => {
    expect({ EINVAL, EFAULT, EBADF, EAGAIN, ENOSYS, EINTR, ENOENT, ESRCH }).toEqual({
      EINVAL: 22,
      EFAULT: 14,
      EBADF: 9,
      EAGAIN: 11,
      ENOSYS: 38,
      EINTR: 4,
      ENOENT: 2,
      ESRCH: 3,
    });
    expect(errnoName(-EINVAL)).toBe('-EINVAL');
    expect(errnoName(-4)).toBe('-EINTR');
    expect(errnoName(5)).toBe('5');
  });
});

describe('user memory', () => {
  it('copy_from_user / copy_to_user fail outside mappings and work inside them', () => {
    inProcess(function* (p) {
      expect(p.mm.copy_from_user(0x1000, 4)).toBeNull();
      expect(p.mm.copy_to_user(0x1000, new Uint8Array([1]))).toBe(false);
      const a = p.mm.mmap(100);
      expect(p.mm.copy_to_user(a + 10, new Uint8Array([1, 2, 3]))).toBe(true);
      expect([...p.mm.copy_from_user(a + 10, 3)!]).toEqual([1, 2, 3]);
      // A range running past the end of the mapping (one page) faults.
      expect(p.mm.copy_from_user(a + 4090, 10)).toBeNull();
      // A read-only mapping cannot be written.
      const ro = p.mm.mmap(10, PROT_READ);
      expect(p.mm.copy_to_user(ro, new Uint8Array([1]))).toBe(false);
      expect(p.mm.copy_from_user(ro, 1)).not.toBeNull();
      expect(yield* syscall('munmap', a)).toBe(0);
      expect(p.mm.copy_from_user(a + 10, 3)).toBeNull();
      expect(yield* syscall('munmap', a)).toBe(-EINVAL);
    });
  });
});

describe('syscalls', () => {
  it('an unknown syscall returns -ENOSYS', () => {
    inProcess(function* () {
      expect(yield* syscall('no_such_call', 1, 2)).toBe(-ENOSYS);
    });
  });

  it('bad fds get -EBADF; the access mode is checked', () => {
    const calls: string[] = [];
    inProcess(
      function* (p) {
        const buf = p.mm.mmap(64);
        expect(yield* syscall('read', 42, buf, 4)).toBe(-EBADF);
        expect(yield* syscall('write', -1, buf, 4)).toBe(-EBADF);
        expect(yield* syscall('close', 3)).toBe(-EBADF);
        expect(yield* syscall('fsync', 3)).toBe(-EBADF);
        const ro = yield* syscall('open', '/dev/x', O_RDONLY);
        const wo = yield* syscall('open', '/dev/x', O_WRONLY);
        expect([ro, wo]).toEqual([0, 1]);
        expect(yield* syscall('write', ro, buf, 4)).toBe(-EBADF);
        expect(yield* syscall('read', wo, buf, 4)).toBe(-EBADF);
        expect(yield* syscall('close', ro)).toBe(0);
        expect(yield* syscall('read', ro, buf, 4)).toBe(-EBADF);
        expect(yield* syscall('open', '/dev/none', O_RDONLY)).toBe(-ENOENT);
      },
      (k) =>
        register_path(k, '/dev/x', function* (_p, path, flags) {
          return new File(device(calls), flags, path);
        }),
    );
    // No bad call reached the device.
    expect(calls).toEqual([]);
  });

  it('buffers outside mappings get -EFAULT and bad counts -EINVAL, before the file is called', () => {
    const calls: string[] = [];
    inProcess(
      function* (p) {
        const fd = yield* syscall('open', '/dev/x', O_RDWR);
        expect(yield* syscall('read', fd, 0x10, 4)).toBe(-EFAULT);
        expect(yield* syscall('write', fd, 0x10, 4)).toBe(-EFAULT);
        const ro = p.mm.mmap(16, PROT_READ);
        // read() fills the buffer: a read-only mapping faults.
        expect(yield* syscall('read', fd, ro, 4)).toBe(-EFAULT);
        expect(yield* syscall('read', fd, ro, -1)).toBe(-EINVAL);
        expect(calls).toEqual([]);
        const buf = p.mm.mmap(16);
        expect(yield* syscall('read', fd, buf, 4)).toBe(4);
        expect([...p.mm.copy_from_user(buf, 5)!]).toEqual([7, 7, 7, 7, 0]);
        expect(yield* syscall('write', fd, ro, 3)).toBe(3);
        expect(calls).toEqual(['read 4', 'write 3']);
      },
      (k) =>
        register_path(k, '/dev/x', function* (_p, path, flags) {
          return new File(device(calls), flags, path);
        }),
    );
  });

  it('kill cuts a nanosleep short: it returns the time left', () => {
    const k = new Kernel({ cpus: 2, timed: true });
    let left = -1;
    const sleeper = create_process(
      k,
      'sleeper',
      function* () {
        left = yield* syscall('nanosleep', 1_000_000);
      },
      { cpu: 0 },
    );
    create_process(
      k,
      'killer',
      function* () {
        yield* cpu(10_000);
        expect(yield* syscall('kill', sleeper.pid)).toBe(0);
        expect(yield* syscall('kill', 99_999)).toBe(-ESRCH);
        expect(yield* syscall('nanosleep', -5)).toBe(-EINVAL);
      },
      { cpu: 1 },
    );
    expect(k.run().status).toBe('done');
    // Sleep started after the 200 ns syscall entry; the kill landed at 10 us + 200 ns.
    expect(left).toBe(1_000_000 - 10_000);
    expect(sleeper.exited).toBe(true);
  });

  it('getpid returns the process id', () => {
    const p = inProcess(function* (p) {
      expect(yield* syscall('getpid')).toBe(p.pid);
    });
    expect(p.exited).toBe(true);
  });
});
