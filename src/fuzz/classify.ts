/**
 * Known bug classes: a failure is put in one when what it says and what its program did match
 * a bug that is known and tracked, so that a report tells the known from the new. The classes:
 *
 * - `double-resume`: a timed run with fast-forward on skipped an operation (a task resumed
 *   twice): a lock released by a context that does not hold it, a read that misses the process's
 *   own write, a request completed twice;
 * - `user-memory`: user memory that throws instead of behaving like memory (an access to the
 *   tail of the `/dev/aio` ring mapping, an absurd mmap length, a ring mapping gone stale);
 * - `ring-head-tail`: the kernel trusting a `head` or `tail` that user space wrote into the ring;
 * - `huge-timeout`: a sleep or timeout that costs steps in proportion to its length.
 *
 * A failure in no class is new.
 */

import type { Failure } from './interp.js';
import type { Operation, Program } from './program.js';

/** The known bug classes. */
export type KnownClass = 'double-resume' | 'user-memory' | 'ring-head-tail' | 'huge-timeout';

function ops(prog: Program): Operation[] {
  return prog.procs.flatMap((p) => p.ops);
}

const HUGE_NS = 1e10;

function hasHugeTimeout(prog: Program): boolean {
  return ops(prog).some(
    (o) =>
      (o.t === 'nanosleep' && o.ns > HUGE_NS) ||
      ((o.t === 'getevents' || o.t === 'io_wait') &&
        ((o.timeout.k === 'ns' && o.timeout.ns > HUGE_NS) ||
          (o.timeout.k === 'timespec' && o.timeout.sec > 10))),
  );
}

/**
 * The known class of `f` in `prog`, or null when it is new. `withoutFastForward`: the failures of
 * the same program run with fast-forward off (the same steps, by contract), when it had it on.
 */
export function classify(
  prog: Program,
  f: Failure,
  withoutFastForward?: readonly Failure[],
): KnownClass | null {
  const all = ops(prog);
  if (f.kind === 'run' && /max-steps|until/.test(f.message) && hasHugeTimeout(prog)) return 'huge-timeout';
  if (all.some((o) => o.t === 'ring-write')) {
    if (f.kind === 'exception' || f.kind === 'event' || f.kind === 'run' || f.kind === 'accounting')
      return 'ring-head-tail';
    if (f.kind === 'violation' && /^hang/.test(f.message)) return 'ring-head-tail';
  }
  if (f.kind === 'exception' && /RangeError|Invalid typed array length|out of bounds/.test(f.message))
    return 'user-memory';
  if (f.kind === 'return' && /not mapped/.test(f.message)) return 'user-memory';
  if (
    withoutFastForward !== undefined &&
    !withoutFastForward.some((g) => g.kind === f.kind && g.message === f.message)
  )
    return 'double-resume';
  return null;
}

/** A failure's signature: its class (or `new`), kind and message with the numbers taken out. */
export function signature(prog: Program, f: Failure, withoutFastForward?: readonly Failure[]): string {
  const cls = classify(prog, f, withoutFastForward) ?? 'new';
  return `${cls}/${f.kind}: ${f.message.replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, 'N')}`;
}
