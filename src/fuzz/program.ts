/**
 * What the fuzzer runs: a program is a machine configuration and, for each of its processes, a
 * list of syscall operations. Operations name their arguments symbolically (the i-th fd this
 * process opened, the i-th mapping it made, a private buffer the byte model follows) or as a
 * raw value (garbage), so a program means the same thing however the numbers fall, and
 * fast-check can shrink it piece by piece.
 *
 * - `Program`, `Proc`, `Operation` and the argument types;
 * - `formatProgram`: the program as text, one operation a line, as a failure prints it.
 */

import type { MemoryModel } from '../kernel/memory.js';

/**
 * An fd argument: the i-th result of this process's `open` calls, of those that opened an AIO
 * context (`ctx`), or of those that opened anything else (`data`), each modulo their count; or a
 * raw value.
 */
export type FdArg =
  | { readonly k: 'fd' | 'ctx' | 'data'; readonly i: number }
  | { readonly k: 'raw'; readonly v: number };

/**
 * A user address: the process's private buffer (the byte model follows what goes through it),
 * an offset into the i-th region it mapped (the AIO ring too), or a raw value.
 */
export type BufArg =
  | { readonly k: 'priv' }
  | { readonly k: 'map'; readonly i: number; readonly off: number }
  | { readonly k: 'raw'; readonly v: number };

/** The paths a process may open: its own file and disk, the AIO devices, and paths that do not exist. */
export type PathArg =
  | 'file'
  | 'disk'
  | 'raw'
  | 'aio'
  | 'aio-small'
  | 'aiotest'
  | 'other-file'
  | 'bogus'
  | 'empty'
  | 'aio-bad';

/** The timeout argument of `__io_getevents` / `__io_wait`. */
export type TimeoutArg =
  | { readonly k: 'none' }
  | { readonly k: 'ns'; readonly ns: number }
  | { readonly k: 'timespec'; readonly sec: number; readonly nsec: number }
  | { readonly k: 'raw'; readonly v: number };

/** One iocb of a `__submit_ios` array. */
export type IocbArg =
  | {
      readonly k: 'iocb';
      readonly op: number;
      readonly fd: FdArg;
      readonly buf: BufArg;
      readonly len: number;
      readonly pos: number;
    }
  | { readonly k: 'bytes'; readonly bytes: readonly number[] }
  | { readonly k: 'ptr'; readonly v: number };

/** A request to name in `__io_wait` / `__io_cancel`: the i-th accepted one of this process, or raw numbers. */
export type ReqArg =
  | { readonly k: 'req'; readonly i: number }
  | { readonly k: 'raw'; readonly idx: number; readonly key: number };

/** One operation of a process. */
export type Operation =
  | { readonly t: 'open'; readonly path: PathArg; readonly flags: number }
  | { readonly t: 'close'; readonly fd: FdArg }
  | {
      readonly t: 'read' | 'write' | 'pread' | 'pwrite';
      readonly fd: FdArg;
      readonly buf: BufArg;
      readonly count: number;
      readonly pos: number;
    }
  | { readonly t: 'lseek'; readonly fd: FdArg; readonly off: number; readonly whence: number }
  | { readonly t: 'fsync' | 'fdatasync'; readonly fd: FdArg }
  | { readonly t: 'ftruncate'; readonly fd: FdArg; readonly len: number }
  | { readonly t: 'mmap'; readonly len: number; readonly prot: number; readonly fd: FdArg | null }
  | { readonly t: 'munmap'; readonly addr: BufArg }
  | { readonly t: 'getpid' | 'nosys' | 'exit' }
  | { readonly t: 'nanosleep'; readonly ns: number }
  | { readonly t: 'kill'; readonly proc: number }
  | {
      readonly t: 'submit';
      readonly ctx: FdArg;
      readonly iocbs: readonly IocbArg[];
      /** The `nr` argument: the array's length plus this (a lie when not 0). */
      readonly nrDelta: number;
      /** Where the pointer array is: the process's scratch memory, or an address. */
      readonly arr: BufArg | null;
    }
  | {
      readonly t: 'getevents';
      readonly ctx: FdArg;
      readonly nr: number;
      readonly events: BufArg | null;
      readonly timeout: TimeoutArg;
    }
  | { readonly t: 'io_wait'; readonly ctx: FdArg; readonly req: ReqArg; readonly timeout: TimeoutArg }
  | { readonly t: 'io_cancel'; readonly ctx: FdArg; readonly req: ReqArg }
  | {
      readonly t: 'ring-write';
      readonly ring: number;
      readonly which: 'head' | 'tail';
      readonly v: number;
    }
  | { readonly t: 'ring-reap'; readonly ring: number; readonly max: number };

/** One process: its operations, run in order. */
export interface Proc {
  readonly ops: readonly Operation[];
}

/** A whole program: the machine and its processes. */
export interface Program {
  readonly cpus: number;
  readonly timed: boolean;
  readonly memoryModel: MemoryModel;
  readonly fastForward: boolean;
  /** Seed of the machine's Chooser (schedules, interrupt placement, jitter). */
  readonly seed: number;
  readonly procs: readonly Proc[];
}

function num(v: number): string {
  if (Number.isNaN(v)) return 'NaN';
  if (Number.isInteger(v) && Math.abs(v) >= 0x10000)
    return `${v < 0 ? '-' : ''}0x${Math.abs(v).toString(16)}`;
  return String(v);
}

function fdText(a: FdArg | null): string {
  if (a === null) return '-1';
  return a.k === 'raw' ? num(a.v) : `${a.k}#${a.i}`;
}

function bufText(a: BufArg | null): string {
  if (a === null) return 'scratch';
  if (a.k === 'priv') return 'priv';
  if (a.k === 'map') return `map#${a.i}+${num(a.off)}`;
  return num(a.v);
}

function timeoutText(a: TimeoutArg): string {
  switch (a.k) {
    case 'none':
      return 'NULL';
    case 'ns':
      return `{${num(a.ns)}ns}`;
    case 'timespec':
      return `{${num(a.sec)}s,${num(a.nsec)}ns}`;
    default:
      return num(a.v);
  }
}

function reqText(a: ReqArg): string {
  return a.k === 'req' ? `req#${a.i}` : `${num(a.idx)},${num(a.key)}`;
}

function iocbText(a: IocbArg): string {
  if (a.k === 'ptr') return `*${num(a.v)}`;
  if (a.k === 'bytes') return `bytes[${a.bytes.join(',')}]`;
  return `{op ${a.op} ${fdText(a.fd)} ${bufText(a.buf)} ${num(a.len)} @${num(a.pos)}}`;
}

/** One operation as a line of text. */
export function formatOperation(o: Operation): string {
  switch (o.t) {
    case 'open':
      return `open(${o.path}, 0${o.flags.toString(8)})`;
    case 'close':
    case 'fsync':
    case 'fdatasync':
      return `${o.t}(${fdText(o.fd)})`;
    case 'read':
    case 'write':
      return `${o.t}(${fdText(o.fd)}, ${bufText(o.buf)}, ${num(o.count)})`;
    case 'pread':
    case 'pwrite':
      return `${o.t}(${fdText(o.fd)}, ${bufText(o.buf)}, ${num(o.count)}, ${num(o.pos)})`;
    case 'lseek':
      return `lseek(${fdText(o.fd)}, ${num(o.off)}, ${num(o.whence)})`;
    case 'ftruncate':
      return `ftruncate(${fdText(o.fd)}, ${num(o.len)})`;
    case 'mmap':
      return `mmap(${num(o.len)}, ${num(o.prot)}, ${fdText(o.fd)})`;
    case 'munmap':
      return `munmap(${bufText(o.addr)})`;
    case 'getpid':
    case 'nosys':
    case 'exit':
      return `${o.t}()`;
    case 'nanosleep':
      return `nanosleep(${num(o.ns)})`;
    case 'kill':
      return `kill(P${o.proc})`;
    case 'submit':
      return `__submit_ios(${fdText(o.ctx)}, nr${o.nrDelta === 0 ? '' : `${o.nrDelta > 0 ? '+' : ''}${num(o.nrDelta)}`}, ${bufText(o.arr)}: [${o.iocbs.map(iocbText).join(', ')}])`;
    case 'getevents':
      return `__io_getevents(${fdText(o.ctx)}, ${bufText(o.events)}, ${num(o.nr)}, ${timeoutText(o.timeout)})`;
    case 'io_wait':
      return `__io_wait(${fdText(o.ctx)}, ${reqText(o.req)}, ${timeoutText(o.timeout)})`;
    case 'io_cancel':
      return `__io_cancel(${fdText(o.ctx)}, ${reqText(o.req)})`;
    case 'ring-write':
      return `ring#${o.ring}.${o.which} = ${num(o.v)}`;
    case 'ring-reap':
      return `ring_reap(ring#${o.ring}, ${num(o.max)})`;
  }
}

/** The program as text: its machine on the first line, then each process's operations. */
export function formatProgram(p: Program): string {
  const lines = [
    `machine: cpus ${p.cpus}, ${p.timed ? 'timed' : 'untimed'}, ${p.memoryModel}, fastForward ${p.fastForward}, seed ${p.seed}`,
  ];
  p.procs.forEach((proc, i) => {
    lines.push(`P${i}:`);
    for (const o of proc.ops) lines.push(`  ${formatOperation(o)}`);
  });
  return lines.join('\n');
}
