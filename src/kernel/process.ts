/**
 * Processes: an address space of mapped regions (user pointers are plain numbers), an fd table
 * of open files, and the VFS-lite that `open()` resolves paths through.
 *
 * - `Mm`: `mmap`/`munmap` of anonymous or device-backed regions, every byte of a mapping backed,
 *   within `TASK_SIZE` and the process's address-space limit (`rlimit_as`, `RLIMIT_AS`);
 *   `copy_from_user` / `copy_to_user` / `user_view` return null for addresses outside a mapping
 *   (the syscall layer turns that into -EFAULT).
 * - `File` and `FileOperations`: the kernel's `struct file` and `file_operations`, with the
 *   AIO patch's additional members (`aio_read`, `aio_write`, `aio_fsync`, `kvec_read`,
 *   `kvec_write`) filled in by the layers that support them.
 * - `Process`: pid, name, `mm`, `files` (fd → File), and the tasks that belong to it.
 */
import { EINVAL, ENOMEM } from './errno.js';
import type { KernelCode } from './ops.js';
import type { Task } from './task.js';

/** Page size of the simulated machine. */
export const PAGE_SIZE = 4096;
/** Where the first mapping of a process starts. */
export const USER_BASE = 0x10000;
/** The top of user address space (2.4 on i386: 3 GiB); no mapping reaches past it. */
export const TASK_SIZE = 0xc0000000;
/**
 * The default address-space limit of a process (`RLIMIT_AS`), in bytes: 64 MiB. Every mapped
 * byte is backed by simulator memory, so the limit is finite by default; raise a process's
 * `mm.rlimit_as` for a larger workload.
 */
export const DEFAULT_RLIMIT_AS = 64 * 1024 * 1024;

/** Mapping protections. */
export const PROT_READ = 1;
export const PROT_WRITE = 2;

/** A mapped region of user memory. */
export interface Region {
  readonly start: number;
  /** Bytes mapped: whole pages, every one backed by `data`. */
  readonly len: number;
  readonly prot: number;
  /** The bytes, at least `len` of them (shared with the kernel object for device mappings such as the AIO ring). */
  readonly data: Uint8Array;
  /** What it maps, for reports ('anon', 'aio-ring', ...). */
  readonly what: string;
  /** Pages pinned by the kernel (direct IO); munmap of a pinned region is refused. */
  pinned: number;
}

/** `PAGE_ALIGN(len)`. */
function page_align(len: number): number {
  return Math.ceil(len / PAGE_SIZE) * PAGE_SIZE;
}

/** A process's address space. */
export class Mm {
  /** The mappings, in address order. */
  readonly regions: Region[] = [];
  /** Where the search for a free range starts (`free_area_cache`): just past the last mapping made. */
  private next = USER_BASE;
  /** Bytes mapped (`total_vm`, in bytes). */
  total_vm = 0;
  /** The address-space limit (`RLIMIT_AS`), in bytes: a mapping past it is -ENOMEM. */
  rlimit_as: number = DEFAULT_RLIMIT_AS;

  /**
   * `do_mmap`: maps `len` bytes (rounded up to pages) and returns the address, or -EINVAL for a
   * length that is not a positive safe integer, -ENOMEM past `rlimit_as` or when no free range
   * of user address space is large enough. `data` backs the mapping if given (a device's bytes);
   * it must hold every byte of the rounded length.
   */
  do_mmap(len: number, prot = PROT_READ | PROT_WRITE, what = 'anon', data?: Uint8Array): number {
    if (!Number.isSafeInteger(len) || len <= 0) return -EINVAL;
    const size = page_align(len);
    if (size > TASK_SIZE - USER_BASE || this.total_vm + size > this.rlimit_as) return -ENOMEM;
    const start = this.get_unmapped_area(size);
    if (start < 0) return -ENOMEM;
    if (data !== undefined && data.length < size)
      throw new Error(`mmap of '${what}': ${data.length} bytes of backing for a mapping of ${size}`);
    this.next = start + size + PAGE_SIZE; // a guard page between mappings
    const region: Region = { start, len: size, prot, data: data ?? new Uint8Array(size), what, pinned: 0 };
    let i = this.regions.length;
    while (i > 0 && this.regions[i - 1]!.start > start) i--;
    this.regions.splice(i, 0, region);
    this.total_vm += size;
    return start;
  }

  /** `do_mmap` for library code: the address; a refused mapping throws, saying why. */
  mmap(len: number, prot = PROT_READ | PROT_WRITE, what = 'anon', data?: Uint8Array): number {
    const a = this.do_mmap(len, prot, what, data);
    if (a === -EINVAL) throw new Error(`mmap: length must be a positive safe integer, got ${len}`);
    if (a === -ENOMEM)
      throw new Error(
        `mmap: ${len} bytes do not fit: ${this.total_vm} of ${this.rlimit_as} bytes (rlimit_as) mapped already, or no free range below TASK_SIZE`,
      );
    return a;
  }

  /**
   * A free range of `size` bytes with a guard page after it: searched from `next`, then from
   * `USER_BASE` (the `free_area_cache` of `get_unmapped_area`); -1 when there is none.
   */
  private get_unmapped_area(size: number): number {
    const a = this.fit(this.next, size);
    return a >= 0 ? a : this.fit(USER_BASE, size);
  }

  /** The lowest address >= `from` where `size` bytes and a guard page fit, or -1. */
  private fit(from: number, size: number): number {
    let addr = from;
    for (const r of this.regions) {
      const end = r.start + r.len + PAGE_SIZE;
      if (end <= addr) continue;
      if (addr + size + PAGE_SIZE <= r.start) break;
      addr = end;
    }
    return addr + size <= TASK_SIZE ? addr : -1;
  }

  /** Unmaps the region starting at `addr`; false if there is none (or it is pinned). */
  munmap(addr: number): boolean {
    const i = this.regions.findIndex((r) => r.start === addr);
    if (i < 0 || this.regions[i]!.pinned > 0) return false;
    this.total_vm -= this.regions[i]!.len;
    this.regions.splice(i, 1);
    return true;
  }

  /** The region holding all of [addr, addr+len), or undefined. */
  find(addr: number, len: number): Region | undefined {
    if (!Number.isInteger(addr) || !Number.isInteger(len) || len < 0) return undefined;
    for (const r of this.regions) {
      if (addr >= r.start && addr + len <= r.start + r.len) return r;
    }
    return undefined;
  }

  /** A live view of user memory [addr, addr+len), or null (-EFAULT). */
  user_view(addr: number, len: number, write = false): Uint8Array | null {
    const r = this.find(addr, len);
    if (r === undefined) return null;
    if (write && (r.prot & PROT_WRITE) === 0) return null;
    if ((r.prot & PROT_READ) === 0) return null;
    const off = addr - r.start;
    return r.data.subarray(off, off + len);
  }

  /** `copy_from_user`: a copy of [addr, addr+len), or null (-EFAULT). */
  copy_from_user(addr: number, len: number): Uint8Array | null {
    const v = this.user_view(addr, len);
    return v === null ? null : v.slice();
  }

  /** `copy_to_user`: false (-EFAULT) if the range is not mapped writable. */
  copy_to_user(addr: number, src: Uint8Array): boolean {
    const v = this.user_view(addr, src.length, true);
    if (v === null) return false;
    v.set(src);
    return true;
  }
}

/** Open flags (Linux values). */
export const O_RDONLY = 0;
export const O_WRONLY = 1;
export const O_RDWR = 2;
export const O_ACCMODE = 3;
export const O_CREAT = 0o100;
export const O_TRUNC = 0o1000;
export const O_APPEND = 0o2000;
export const O_NONBLOCK = 0o4000;
export const O_DSYNC = 0o10000;
export const O_DIRECT = 0o40000;
export const O_SYNC = 0o4010000;

/**
 * A file position passed by reference (`loff_t *ppos`): `read` and `write` start at it and move
 * it past the bytes they transferred (`read`/`write` pass the file's `f_pos`, `pread`/`pwrite` a
 * copy). A write with O_APPEND starts at the end instead, and leaves it past what it wrote.
 */
export interface Ppos {
  pos: number;
}

/** `file_operations`. Methods return a count or a negative errno. */
export interface FileOperations {
  readonly name: string;
  read?(file: File, p: Process, buf: number, count: number, ppos: Ppos): KernelCode<number>;
  write?(file: File, p: Process, buf: number, count: number, ppos: Ppos): KernelCode<number>;
  fsync?(file: File, datasync: boolean): KernelCode<number>;
  /** Maps the file into `p`; returns the address or a negative errno. */
  mmap?(file: File, p: Process, len: number): KernelCode<number>;
  /** Called when the last reference goes away. */
  release?(file: File, p: Process): KernelCode<number>;
  /** Size for SEEK_END, if the file has one. */
  size?(file: File): number;
  /** Whether reads and writes use a file position (pipes and devices do not). */
  readonly seekable?: boolean;
  // The AIO patch's members, set by the layers that support asynchronous IO.
  aio_read?: unknown;
  aio_write?: unknown;
  aio_fsync?: unknown;
  kvec_read?: unknown;
  kvec_write?: unknown;
}

/** `struct file`. */
export class File {
  readonly f_op: FileOperations;
  readonly f_flags: number;
  f_pos = 0;
  /** References (fds pointing at it). */
  count = 1;
  /** Per-open data for the file's owner (an inode, a kioctx ...). */
  private_data: unknown;
  /** Path it was opened by, for reports. */
  readonly path: string;
  constructor(f_op: FileOperations, flags: number, path: string, private_data: unknown = null) {
    this.f_op = f_op;
    this.f_flags = flags;
    this.path = path;
    this.private_data = private_data;
  }
}

/** A process. */
export class Process {
  readonly pid: number;
  readonly name: string;
  readonly mm: Mm = new Mm();
  /** fd → open file. */
  readonly files: (File | null)[] = [];
  readonly tasks: Task[] = [];
  /** Limit on open files. */
  maxFiles = 64;
  exited = false;
  constructor(pid: number, name: string) {
    this.pid = pid;
    this.name = name;
  }

  /** The lowest free fd for `f`, or -1 when the table is full. */
  fd_install(f: File): number {
    for (let i = 0; i < this.maxFiles; i++) {
      if (this.files[i] === undefined || this.files[i] === null) {
        this.files[i] = f;
        return i;
      }
    }
    return -1;
  }

  /** `fget(fd)`: the file, or null for a bad fd. */
  fget(fd: number): File | null {
    if (!Number.isInteger(fd) || fd < 0 || fd >= this.files.length) return null;
    return this.files[fd] ?? null;
  }
}

/** Opens a path: a File, or a negative errno. */
export type Opener = (p: Process, path: string, flags: number) => KernelCode<File | number>;
