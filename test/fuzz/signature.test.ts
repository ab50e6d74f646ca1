/** A failure's signature: its kind and its message without numbers, so that one bug is one signature. */
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { signature } from '../../src/fuzz/signature.js';

describe('fuzz signatures', () => {
  it('takes decimal, fractional and hexadecimal numbers out of the message', () => {
    expect(
      signature({ kind: 'return', message: 'mmap returned 0x7f00a000, which is not mapped', at: 'P1 op 9' }),
    ).toBe('return: mmap returned N, which is not mapped');
    expect(
      signature({ kind: 'data', message: 'pread(file @512, 4096): byte 17 is 3, the model says 2.5' }),
    ).toBe('data: pread(file @N, N): byte N is N, the model says N');
  });

  it('keeps the kind apart: the same message of two kinds is two failures', () => {
    const message = "the run ended 'hang'";
    expect(signature({ kind: 'run', message })).not.toBe(signature({ kind: 'violation', message }));
  });

  it.prop([fc.nat(), fc.nat()])('two failures differing only in their numbers share a signature', (a, b) => {
    const f = (n: number) => ({ kind: 'event', message: `ctx ${n}: aio_data ${n * 3} stray or duplicate` });
    expect(signature(f(a))).toBe(signature(f(b)));
  });
});
