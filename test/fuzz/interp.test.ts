/**
 * The interpreter accuses the kernel of nothing it was right to do: programs the fuzzer once
 * reported, where the fault was the interpreter's own reading of them, run clean.
 */
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { runProgram } from '../../src/fuzz/interp.js';
import type { IocbArg, Operation, Program } from '../../src/fuzz/program.js';

function prog(ops: Operation[], memoryModel: Program['memoryModel'] = 'sc'): Program {
  return { cpus: 1, timed: false, memoryModel, fastForward: false, seed: 0, procs: [{ ops }] };
}

const ctx0 = { k: 'ctx', i: 0 } as const;
const aSecond = { k: 'ns', ns: 1e9 } as const;

/** `__submit_ios` of `iocbs` on the first context, with `nr` telling the truth. */
function submit(iocbs: readonly IocbArg[]): Operation {
  return { t: 'submit', ctx: ctx0, iocbs, nrDelta: 0, arr: null };
}

describe('fuzz interpreter', () => {
  it("follows an iocb's fd as the kernel reads it: 32 bits, so 2^32 is fd 0 (the file, grown by the write)", () => {
    const r = runProgram(
      prog([
        { t: 'open', path: 'file', flags: 2 },
        { t: 'open', path: 'aio', flags: 2 },
        submit([{ k: 'iocb', op: 1, fd: { k: 'raw', v: 2 ** 32 }, buf: { k: 'priv' }, len: 512, pos: 4608 }]),
        { t: 'getevents', ctx: ctx0, nr: 1, events: null, timeout: aSecond },
        { t: 'read', fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, count: 8192, pos: 0 },
      ]),
    );
    expect(r.failures).toEqual([]);
    expect(r.syscalls).toBe(5);
  });

  it("follows an iocb's offset as the kernel reads it: 64 bits of its integer part, so 0.5 is 0", () => {
    const r = runProgram(
      prog([
        { t: 'open', path: 'aio', flags: 2 },
        { t: 'open', path: 'file', flags: 0o40002 }, // O_RDWR | O_DIRECT
        submit([{ k: 'iocb', op: 1, fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, len: 512, pos: 0.5 }]),
        { t: 'getevents', ctx: ctx0, nr: 1, events: null, timeout: aSecond },
        { t: 'pread', fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, count: 512, pos: 0 },
      ]),
    );
    expect(r.failures).toEqual([]);
    expect(r.syscalls).toBe(5);
  });

  it('lays no iocb pointers where a mapping is not backed (the tail of the ring mapping)', () => {
    const r = runProgram(
      prog([
        { t: 'open', path: 'aio', flags: 2 },
        { t: 'mmap', len: 4096, prot: 3, fd: ctx0 },
        { t: 'open', path: 'aiotest', flags: 2 },
        {
          t: 'submit',
          ctx: ctx0,
          iocbs: [{ k: 'iocb', op: 5, fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, len: 512, pos: 0 }],
          nrDelta: 0,
          arr: { k: 'map', i: 0, off: 313 },
        },
      ]),
    );
    expect(r.failures).toEqual([]);
  });

  it('does not read events back from the ring mapping, where the kernel moves the head after copying them', () => {
    const r = runProgram(
      prog([
        { t: 'open', path: 'aio', flags: 2 },
        { t: 'mmap', len: 4096, prot: 3, fd: ctx0 },
        { t: 'open', path: 'disk', flags: 2 },
        { t: 'mmap', len: 16384, prot: 3, fd: null },
        submit([
          {
            k: 'iocb',
            op: 0,
            fd: { k: 'data', i: 0 },
            buf: { k: 'map', i: 1, off: 0 },
            len: 512,
            pos: 3585,
          },
          { k: 'iocb', op: 0, fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, len: 0, pos: 0 },
        ]),
        { t: 'getevents', ctx: ctx0, nr: 2, events: { k: 'map', i: 0, off: 1 }, timeout: aSecond },
      ]),
    );
    expect(r.failures).toEqual([]);
  });

  it('models a write the kernel finds through a stale pointer, laid by an earlier call', () => {
    const r = runProgram(
      prog([
        { t: 'open', path: 'file', flags: 2 },
        { t: 'open', path: 'aio', flags: 2 },
        { t: 'open', path: 'disk', flags: 2 },
        {
          t: 'submit',
          ctx: ctx0,
          // Refused at its first pointer, it leaves a write to the disk behind in memory.
          iocbs: [
            { k: 'ptr', v: -4096 },
            { k: 'iocb', op: 1, fd: { k: 'data', i: 1 }, buf: { k: 'priv' }, len: 512, pos: 0 },
          ],
          nrDelta: 0,
          arr: null,
        },
        {
          t: 'submit',
          ctx: ctx0,
          // nr one more than laid: the kernel takes the write left behind.
          iocbs: [{ k: 'iocb', op: 3, fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, len: 0, pos: 0 }],
          nrDelta: 1,
          arr: null,
        },
        { t: 'getevents', ctx: ctx0, nr: 2, events: null, timeout: aSecond },
        { t: 'getevents', ctx: ctx0, nr: 2, events: null, timeout: aSecond },
        { t: 'read', fd: { k: 'data', i: 1 }, buf: { k: 'priv' }, count: 512, pos: 0 },
      ]),
    );
    expect(r.failures).toEqual([]);
    expect(r.syscalls).toBe(8);
  });

  it.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean()], { numRuns: 30 })(
    'keeps a mapping offset given with no mapping made out of the private buffer',
    (seed, timed) => {
      const r = runProgram({
        ...prog([
          { t: 'open', path: 'file', flags: 2 },
          { t: 'open', path: 'aio', flags: 2 },
          { t: 'open', path: 'raw', flags: 2 },
          {
            t: 'submit',
            ctx: ctx0,
            // No mapping was made: the offset alone would be the private buffer's address.
            iocbs: [
              {
                k: 'iocb',
                op: 0,
                fd: { k: 'data', i: 1 },
                buf: { k: 'map', i: 0, off: 0x10000 },
                len: 7168,
                pos: 0,
              },
            ],
            nrDelta: 0,
            arr: null,
          },
          { t: 'read', fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, count: 7884, pos: 0 },
        ]),
        cpus: 2,
        timed,
        seed,
      });
      expect(r.failures).toEqual([]);
    },
  );

  it('gives each read of one batch a buffer of its own', () => {
    const r = runProgram(
      prog([
        { t: 'open', path: 'aio', flags: 2 },
        { t: 'open', path: 'file', flags: 0o40002 }, // O_RDWR | O_DIRECT
        { t: 'open', path: 'aiotest', flags: 2 },
        {
          t: 'submit',
          ctx: ctx0,
          // The direct read of the file lands first, then the test device's read of zeroes.
          iocbs: [
            { k: 'iocb', op: 0, fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, len: 512, pos: 0 },
            { k: 'iocb', op: 0, fd: { k: 'data', i: 1 }, buf: { k: 'priv' }, len: 512, pos: 0 },
          ],
          nrDelta: 0,
          arr: null,
        },
        { t: 'getevents', ctx: ctx0, nr: 2, events: null, timeout: aSecond },
        { t: 'getevents', ctx: ctx0, nr: 2, events: null, timeout: aSecond },
      ]),
    );
    expect(r.failures).toEqual([]);
  });

  it('does not wait forever where a reaped head still sits in the store buffer (pso)', () => {
    const r = runProgram(
      prog(
        [
          { t: 'open', path: 'aio', flags: 2 },
          { t: 'mmap', len: 4096, prot: 3, fd: ctx0 },
          { t: 'open', path: 'aiotest', flags: 2 },
          submit([{ k: 'iocb', op: 0, fd: { k: 'data', i: 0 }, buf: { k: 'priv' }, len: 0, pos: 0 }]),
          { t: 'ring-reap', ring: 0, max: 1 },
          { t: 'getevents', ctx: ctx0, nr: 1, events: null, timeout: { k: 'none' } },
        ],
        'pso',
      ),
    );
    expect(r.failures).toEqual([]);
  });

  it.prop([fc.integer({ min: 0, max: 2 ** 31 - 1 }), fc.boolean()], { numRuns: 100 })(
    'does not read events back from memory that a read still in flight may overwrite (2 CPUs)',
    (seed, timed) => {
      const fsync = {
        k: 'iocb',
        op: 2,
        fd: { k: 'data', i: 0 },
        buf: { k: 'priv' },
        len: 0,
        pos: 0,
      } as const;
      // The events land on the read's buffer; the read's bytes may land on them after.
      const reap = {
        t: 'getevents',
        ctx: ctx0,
        nr: 4,
        events: { k: 'map', i: 0, off: 4064 },
        timeout: { k: 'ns', ns: 1e8 },
      } as const;
      const r = runProgram({
        ...prog([
          { t: 'open', path: 'disk', flags: 2 },
          { t: 'open', path: 'aio', flags: 2 },
          { t: 'mmap', len: 16384, prot: 3, fd: null },
          submit([fsync, fsync]),
          { t: 'nanosleep', ns: 1e6 },
          submit([
            {
              k: 'iocb',
              op: 0,
              fd: { k: 'data', i: 0 },
              buf: { k: 'map', i: 0, off: 4064 },
              len: 7680,
              pos: 10752,
            },
          ]),
          reap,
          reap,
          reap,
        ]),
        cpus: 2,
        timed,
        seed,
      });
      expect(r.failures).toEqual([]);
    },
  );
});
