/**
 * The syscall layer: the table, the entry path user code calls through, the VFS-lite, and the
 * file syscalls that do not depend on a particular file type (open, close, read, write, pread,
 * pwrite, lseek, fsync, fdatasync, mmap, munmap, getpid, nanosleep, kill).
 *
 * Contract: a bad argument gets the kernel's errno, checked before anything is
 * changed; a JS exception means the simulator itself was misused.
 *
 * Paths are plain strings here (the simulated C library hands the kernel the string); every
 * other pointer is a user address checked against the caller's mappings.
 */

import { current as cur } from './current.js';
import { EBADF, EFAULT, EINVAL, EMFILE, ENOENT, ENOSYS, ESPIPE, ESRCH } from './errno.js';
import type { Counter, Kernel } from './kernel.js';
import { keyed } from './keyed.js';
import { cpu, type KernelCode, type Op } from './ops.js';
import { prebuilt } from './prebuilt.js';
import {
  type File,
  O_ACCMODE,
  O_RDONLY,
  O_WRONLY,
  type Opener,
  PROT_READ,
  PROT_WRITE,
  Process,
} from './process.js';
import { kernel, schedule_timeout, send_sig, set_current_state, TASK_INTERRUPTIBLE } from './sched.js';
import type { SpawnOptions, Task } from './task.js';

/** A syscall handler: gets the calling process and the arguments; returns >= 0 or -errno. */
export type SyscallHandler = (p: Process, ...args: never[]) => KernelCode<number>;

export const SEEK_SET = 0;
export const SEEK_CUR = 1;
export const SEEK_END = 2;

/**
 * A syscall of the table: its handler, the name of its counter (`syscall.<name>`) and the
 * counter itself once the syscall was first made (a table is its kernel's).
 */
interface SyscallEntry {
  readonly handler: SyscallHandler;
  readonly counter: string;
  ctr: Counter | null;
}

/** Per-kernel syscall state: the table, the namespace, the processes. */
export class SyscallState {
  readonly table = new Map<string, SyscallEntry>();
  /** Exact paths (`/dev/aio`). */
  readonly paths = new Map<string, Opener>();
  /** Mount points: a path prefix and the opener of everything below it. */
  readonly mounts: { prefix: string; opener: Opener }[] = [];
  readonly processes: Process[] = [];
  /** Cost of entering and leaving the kernel, in timed runs (ns). */
  syscallNs = 200;
  /** The `cpu(syscallNs)` operation, made again when `syscallNs` changes. */
  entryCost: Op | null = null;
  entryCostNs = -1;
}

/** The syscall state of `k` (created with the base syscalls on first use). */
export const syscalls: (k: Kernel) => SyscallState = keyed(() => {
  const s = new SyscallState();
  registerBase(s);
  return s;
});

/** Registers (or replaces) a syscall. */
export function register_syscall(k: Kernel, name: string, handler: SyscallHandler): void {
  enter(syscalls(k), name, handler);
}

/** Puts `name` in the table of `s`. */
function enter(s: SyscallState, name: string, handler: SyscallHandler): void {
  s.table.set(name, { handler, counter: `syscall.${name}`, ctr: null });
}

/** Makes `path` openable. */
export function register_path(k: Kernel, path: string, opener: Opener): void {
  syscalls(k).paths.set(path, opener);
}

/** Makes every path under `prefix` (e.g. `/mnt/`) openable through `opener`. */
export function register_mount(k: Kernel, prefix: string, opener: Opener): void {
  syscalls(k).mounts.push({ prefix, opener });
}

/** The process of the current task; throws outside a process. */
export function current_process(): Process {
  const t = cur.task;
  const p = t === null ? undefined : (t.data.process as Process | undefined);
  if (p === undefined)
    throw new Error(
      `syscall made by ${t === null ? 'no task' : `kernel thread '${t.name}'`}: only process tasks make syscalls`,
    );
  return p;
}

/**
 * Creates a user process whose main task runs `code(p)`; when it returns, the process exits
 * (its files are closed as `exit()` would).
 */
export function create_process(
  k: Kernel,
  name: string,
  code: (p: Process, t: Task) => KernelCode<unknown>,
  opts: SpawnOptions = {},
): Process {
  const st = syscalls(k);
  const p = new Process(st.processes.length + 1000, name);
  st.processes.push(p);
  const t = k.spawn(
    name,
    function* (task) {
      // spawn() runs the task up to its first visible operation before returning, so the
      // process must be attached here, before user code can make its first syscall.
      task.data.process = p;
      // A trampolined call: the process's code runs as a frame below this one, which costs its
      // operations nothing.
      const r: unknown = yield code(p, task);
      yield* exit_files(p);
      p.exited = true;
      return r;
    },
    opts,
  );
  t.data.process = p;
  p.tasks.push(t);
  return p;
}

/** Closes every open file of `p` (process exit). */
export function* exit_files(p: Process): KernelCode<void> {
  for (let fd = 0; fd < p.files.length; fd++) if (p.files[fd] != null) yield* sys_close(p, fd);
}

/** `syscall(name, ...args)`: the entry from user code in the current process. */
export function* syscall(name: string, ...args: unknown[]): KernelCode<number> {
  const p = current_process();
  const k = kernel();
  const st = syscalls(k);
  const e = st.table.get(name);
  if (e === undefined) {
    k.count(`syscall.${name}`);
    return -ENOSYS;
  }
  k.add(e.ctr ?? (e.ctr = k.counterOf(e.counter)));
  if (k.config.timed) {
    // The entry cost, built once per cost.
    if (st.entryCostNs !== st.syscallNs) {
      st.entryCost = prebuilt(cpu(st.syscallNs));
      st.entryCostNs = st.syscallNs;
    }
    yield st.entryCost!;
  }
  // A trampolined call: the handler's operations do not pass through this frame.
  const r: number = yield (e.handler as (p: Process, ...a: unknown[]) => KernelCode<number>)(p, ...args);
  return r;
}

function* resolve(k: Kernel, p: Process, path: string, flags: number): KernelCode<File | number> {
  const st = syscalls(k);
  const exact = st.paths.get(path);
  if (exact !== undefined) return yield* exact(p, path, flags);
  for (const m of st.mounts) if (path.startsWith(m.prefix)) return yield* m.opener(p, path, flags);
  return -ENOENT;
}

/** `open(path, flags)`. */
export function* sys_open(p: Process, path: string, flags: number): KernelCode<number> {
  if (typeof path !== 'string' || path === '') return -EFAULT;
  if (!Number.isInteger(flags) || (flags & O_ACCMODE) === 3) return -EINVAL;
  if (p.files.filter((f) => f != null).length >= p.maxFiles) return -EMFILE;
  const r = yield* resolve(kernel(), p, path, flags);
  if (typeof r === 'number') return r;
  const fd = p.fd_install(r);
  return fd < 0 ? -EMFILE : fd;
}

/** `close(fd)`. */
export function* sys_close(p: Process, fd: number): KernelCode<number> {
  const f = p.fget(fd);
  if (f === null) return -EBADF;
  p.files[fd] = null;
  if (--f.count === 0 && f.f_op.release !== undefined) return yield* f.f_op.release(f, p);
  return 0;
}

function readable(f: File): boolean {
  return (f.f_flags & O_ACCMODE) !== O_WRONLY;
}
function writable(f: File): boolean {
  return (f.f_flags & O_ACCMODE) !== O_RDONLY;
}

function checkBuf(p: Process, buf: number, count: number, write: boolean): number {
  if (!Number.isInteger(count) || count < 0) return -EINVAL;
  if (count === 0) return 0;
  const r = p.mm.find(buf, count);
  if (r === undefined) return -EFAULT;
  if ((r.prot & (write ? PROT_WRITE : PROT_READ)) === 0) return -EFAULT;
  return 0;
}

function* rw(
  p: Process,
  fd: number,
  buf: number,
  count: number,
  pos: number | null,
  isWrite: boolean,
): KernelCode<number> {
  const f = p.fget(fd);
  if (f === null) return -EBADF;
  if (isWrite ? !writable(f) : !readable(f)) return -EBADF;
  const method = isWrite ? f.f_op.write : f.f_op.read;
  if (method === undefined) return -EINVAL;
  if (pos !== null) {
    if (f.f_op.seekable === false) return -ESPIPE;
    if (!Number.isInteger(pos) || pos < 0) return -EINVAL;
  }
  // Reading fills the user buffer (it must be writable); writing reads it.
  const bad = checkBuf(p, buf, count, !isWrite);
  if (bad < 0) return bad;
  const ppos = { pos: pos ?? f.f_pos };
  const n = yield* method.call(f.f_op, f, p, buf, count, ppos);
  if (n > 0 && pos === null && f.f_op.seekable !== false) f.f_pos = ppos.pos;
  return n;
}

/** `read(fd, buf, count)`. */
export function sys_read(p: Process, fd: number, buf: number, count: number): KernelCode<number> {
  return rw(p, fd, buf, count, null, false);
}
/** `write(fd, buf, count)`. */
export function sys_write(p: Process, fd: number, buf: number, count: number): KernelCode<number> {
  return rw(p, fd, buf, count, null, true);
}
/** `pread(fd, buf, count, pos)`. */
export function sys_pread(
  p: Process,
  fd: number,
  buf: number,
  count: number,
  pos: number,
): KernelCode<number> {
  return rw(p, fd, buf, count, pos, false);
}
/** `pwrite(fd, buf, count, pos)`. */
export function sys_pwrite(
  p: Process,
  fd: number,
  buf: number,
  count: number,
  pos: number,
): KernelCode<number> {
  return rw(p, fd, buf, count, pos, true);
}

/** `lseek(fd, offset, whence)`. */
export function* sys_lseek(p: Process, fd: number, offset: number, whence: number): KernelCode<number> {
  const f = p.fget(fd);
  if (f === null) return -EBADF;
  if (f.f_op.seekable === false) return -ESPIPE;
  if (!Number.isInteger(offset)) return -EINVAL;
  let base: number;
  if (whence === SEEK_SET) base = 0;
  else if (whence === SEEK_CUR) base = f.f_pos;
  else if (whence === SEEK_END) base = f.f_op.size?.(f) ?? 0;
  else return -EINVAL;
  const np = base + offset;
  if (np < 0) return -EINVAL;
  f.f_pos = np;
  return np;
}

function* fsyncCommon(p: Process, fd: number, datasync: boolean): KernelCode<number> {
  const f = p.fget(fd);
  if (f === null) return -EBADF;
  if (f.f_op.fsync === undefined) return -EINVAL;
  return yield* f.f_op.fsync(f, datasync);
}
/** `fsync(fd)`. */
export function sys_fsync(p: Process, fd: number): KernelCode<number> {
  return fsyncCommon(p, fd, false);
}
/** `fdatasync(fd)`. */
export function sys_fdatasync(p: Process, fd: number): KernelCode<number> {
  return fsyncCommon(p, fd, true);
}

/**
 * `mmap(len, prot, fd)`: anonymous when fd is -1, else the file's own mmap. A length that is not
 * a positive safe integer is -EINVAL; one past the address-space limit (`mm.rlimit_as`) or
 * larger than any free range is -ENOMEM (`do_mmap`).
 */
export function* sys_mmap(p: Process, len: number, prot: number, fd: number): KernelCode<number> {
  if (!Number.isSafeInteger(len) || len <= 0) return -EINVAL;
  if (!Number.isInteger(prot) || (prot & ~(PROT_READ | PROT_WRITE)) !== 0) return -EINVAL;
  if (fd === -1) return p.mm.do_mmap(len, prot);
  const f = p.fget(fd);
  if (f === null) return -EBADF;
  if (f.f_op.mmap === undefined) return -EINVAL;
  return yield* f.f_op.mmap(f, p, len);
}

/** `munmap(addr)`. */
export function* sys_munmap(p: Process, addr: number): KernelCode<number> {
  return p.mm.munmap(addr) ? 0 : -EINVAL;
}

/** `getpid()`. */
export function* sys_getpid(p: Process): KernelCode<number> {
  return p.pid;
}

/** `nanosleep(ns)`: 0, or the time left if a signal cut it short. */
export function* sys_nanosleep(_p: Process, ns: number): KernelCode<number> {
  if (!Number.isInteger(ns) || ns < 0) return -EINVAL;
  yield* set_current_state(TASK_INTERRUPTIBLE);
  return yield* schedule_timeout(ns, 'nanosleep');
}

/** `kill(pid)`: makes a signal pending in every task of process `pid`. */
export function* sys_kill(_p: Process, pid: number): KernelCode<number> {
  const target = syscalls(kernel()).processes.find((q) => q.pid === pid && !q.exited);
  if (target === undefined) return -ESRCH;
  for (const t of target.tasks) yield* send_sig(t);
  return 0;
}

function registerBase(s: SyscallState): void {
  enter(s, 'open', sys_open as SyscallHandler);
  enter(s, 'close', sys_close as SyscallHandler);
  enter(s, 'read', sys_read as SyscallHandler);
  enter(s, 'write', sys_write as SyscallHandler);
  enter(s, 'pread', sys_pread as SyscallHandler);
  enter(s, 'pwrite', sys_pwrite as SyscallHandler);
  enter(s, 'lseek', sys_lseek as SyscallHandler);
  enter(s, 'fsync', sys_fsync as SyscallHandler);
  enter(s, 'fdatasync', sys_fdatasync as SyscallHandler);
  enter(s, 'mmap', sys_mmap as SyscallHandler);
  enter(s, 'munmap', sys_munmap as SyscallHandler);
  enter(s, 'getpid', sys_getpid as SyscallHandler);
  enter(s, 'nanosleep', sys_nanosleep as SyscallHandler);
  enter(s, 'kill', sys_kill as SyscallHandler);
}
