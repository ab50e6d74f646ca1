/**
 * Tests of the ring encoding helper of src/aio/kioctx.ts: `put64` stores the bytes a BigInt
 * 64-bit store would, for any safe integer (negative ones in two's complement) and for large
 * doubles (their low 64 bits).
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { put64 } from '../../src/aio/kioctx.js';

function viaPut64(v: number): number[] {
  const dv = new DataView(new ArrayBuffer(16));
  put64(dv, 4, v);
  return [...new Uint8Array(dv.buffer)];
}

function viaBigInt(v: number): number[] {
  const dv = new DataView(new ArrayBuffer(16));
  dv.setBigUint64(4, BigInt.asUintN(64, BigInt(v)), true);
  return [...new Uint8Array(dv.buffer)];
}

describe('put64', () => {
  test.prop([fc.maxSafeInteger()])('matches setBigUint64(asUintN(64, BigInt(v))) for safe integers', (v) => {
    expect(viaPut64(v)).toEqual(viaBigInt(v));
  });

  test.prop([fc.integer({ min: 53, max: 70 }), fc.integer({ min: 1, max: 2 ** 20 })])(
    'matches it for integers above 2^53 too (the low 64 bits)',
    (e, m) => {
      const v = m * 2 ** e;
      expect(viaPut64(v)).toEqual(viaBigInt(v));
    },
  );

  it('writes errnos as two’s complement and leaves the neighbours alone', () => {
    expect(viaPut64(-22)).toEqual([0, 0, 0, 0, 234, 255, 255, 255, 255, 255, 255, 255, 0, 0, 0, 0]);
    expect(viaPut64(2 ** 32 + 1)).toEqual([0, 0, 0, 0, 1, 0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0]);
  });
});
