/**
 * The checks of the fuzzer, as plain functions of what a program observed: each returns a
 * failure message, or null when the observation is as the kernel promises.
 *
 * - `checkReturn`: a syscall returned an integer, and either a success value within its bounds
 *   or the negation of an errno of the kernel's table (`src/kernel/errno.ts`);
 * - `checkEventRes`: an io_event's result is one too;
 * - `checkReadBytes`: a read returned what the byte model predicts;
 * - `checkAccounting`: after the run every context is gone with every accepted request
 *   completed once, and the AIO gauges and the pinned pages are back to zero;
 * - `checkFastForward`: a timed run gave the same failures with fast-forward on as with it off.
 */

import type { AioStats } from '../aio/stats.js';
import { errnoName } from '../kernel/errno.js';
import { firstDifference } from './model.js';

/** The errnos of the kernel's table: what `errnoName` can name. */
export function isKernelErrno(ret: number): boolean {
  return Number.isInteger(ret) && ret < 0 && errnoName(ret) !== String(ret);
}

/** What a syscall's success value may be: at most `max` (when given), and exactly `exact` (when given). */
export interface ReturnBounds {
  readonly max?: number;
  readonly exact?: number;
}

/** `ret` of `name`: an integer, a success within `bounds` or a kernel errno. */
export function checkReturn(name: string, ret: unknown, bounds: ReturnBounds = {}): string | null {
  if (typeof ret !== 'number' || !Number.isInteger(ret))
    return `${name} returned ${String(ret)}, not an integer`;
  if (ret < 0)
    return isKernelErrno(ret) ? null : `${name} returned ${ret}, not an errno of the kernel's table`;
  if (bounds.exact !== undefined && ret !== bounds.exact)
    return `${name} returned ${ret}, expected ${bounds.exact}`;
  if (bounds.max !== undefined && ret > bounds.max) return `${name} returned ${ret}, more than ${bounds.max}`;
  return null;
}

/** An io_event's `res`: a success (at most `max` bytes, when given) or a kernel errno. */
export function checkEventRes(res: number, max?: number): string | null {
  return checkReturn('io_event.res', res, max === undefined ? {} : { max });
}

/** A read of `ret` bytes that returned `got`, against the model's prediction. */
export function checkReadBytes(
  what: string,
  ret: number,
  got: Uint8Array,
  want: { n: number; data: Uint8Array; known: Uint8Array },
): string | null {
  if (ret !== want.n) return `${what} returned ${ret}, the byte model says ${want.n}`;
  const d = firstDifference(got, want);
  return d === null ? null : `${what}: ${d}`;
}

/** One context's life, as the run left it. */
export interface ContextEnd {
  readonly id: number;
  readonly dead: boolean;
  readonly reqsActive: number;
  readonly submitted: number;
  readonly published: number;
}

/** What is left after every process exited. */
export interface EndState {
  readonly contexts: readonly ContextEnd[];
  readonly stats: AioStats;
  /** Per process: open files, pinned regions. */
  readonly procs: readonly { readonly name: string; readonly openFiles: number; readonly pinned: number }[];
}

/** Everything back to zero, every accepted request completed exactly once. */
export function checkAccounting(end: EndState): string[] {
  const out: string[] = [];
  for (const c of end.contexts) {
    if (!c.dead) out.push(`ctx ${c.id} still alive after its process exited`);
    if (c.reqsActive !== 0) out.push(`ctx ${c.id}: ${c.reqsActive} requests still active after exit`);
    if (c.published !== c.submitted)
      out.push(`ctx ${c.id}: ${c.submitted} requests accepted but ${c.published} events published`);
  }
  const s = end.stats;
  for (const key of ['aio.nr', 'aio.reqsActive', 'aio.pinned'] as const)
    if (s[key] !== 0) out.push(`${key} is ${s[key]} after every process exited`);
  for (const p of end.procs) {
    if (p.openFiles !== 0) out.push(`${p.name}: ${p.openFiles} files still open after exit`);
    if (p.pinned !== 0) out.push(`${p.name}: ${p.pinned} pages still pinned after exit`);
  }
  return out;
}

/**
 * The events of a context, against what was accepted: `pending` counts, per `aio_data`, the
 * accepted requests not yet reaped. An event nobody submitted, or one reaped twice, is a failure.
 */
export function checkEventData(pending: Map<number, number>, data: number): string | null {
  const n = pending.get(data) ?? 0;
  if (n === 0)
    return `an event with aio_data ${data} that no accepted request is waiting for (stray or duplicate)`;
  if (n === 1) pending.delete(data);
  else pending.set(data, n - 1);
  return null;
}

/** A failure as the fast-forward check compares it. */
interface Seen {
  readonly kind: string;
  readonly message: string;
  readonly at?: string;
}

function line(f: Seen): string {
  return `${f.at === undefined ? '' : `${f.at}: `}${f.kind}: ${f.message}`;
}

/**
 * The failures of one timed program run with fast-forward on and with it off: the same (the
 * same steps, by fast-forward's contract, so the same observations); else what each run alone
 * reported.
 */
export function checkFastForward(on: readonly Seen[], off: readonly Seen[]): string | null {
  const onlyOff = off.map(line);
  const onlyOn: string[] = [];
  for (const x of on.map(line)) {
    const i = onlyOff.indexOf(x);
    if (i < 0) onlyOn.push(x);
    else onlyOff.splice(i, 1);
  }
  if (onlyOn.length === 0 && onlyOff.length === 0) return null;
  const list = (xs: string[]) => (xs.length === 0 ? 'nothing' : xs.join('; '));
  return `fast-forward on and off differ: only on, ${list(onlyOn)}; only off, ${list(onlyOff)}`;
}
