/** The known bug classes take the failures of their programs, and only those. */
import { describe, expect, it } from 'vitest';
import { classify } from '../../src/fuzz/classify.js';
import type { Operation, Program } from '../../src/fuzz/program.js';

function prog(ops: Operation[]): Program {
  return { cpus: 1, timed: false, memoryModel: 'sc', fastForward: false, seed: 0, procs: [{ ops }] };
}

const hang = {
  kind: 'violation',
  message: 'hang: no task can make progress and nothing pending can wake one',
} as const;

describe('fuzz classes', () => {
  it("a hang in a program that wrote its ring's head is the ring's, in one that did not it is new", () => {
    const ops: Operation[] = [
      { t: 'open', path: 'aio', flags: 2 },
      { t: 'mmap', len: 4096, prot: 3, fd: { k: 'ctx', i: 0 } },
    ];
    expect(classify(prog([...ops, { t: 'ring-write', ring: 0, which: 'head', v: 45 }]), hang)).toBe(
      'ring-head-tail',
    );
    expect(classify(prog(ops), hang)).toBeNull();
  });
});
