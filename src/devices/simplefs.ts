/**
 * A small filesystem on a block device, so that files have block maps (create, extend, truncate).
 *
 * Layout in 4 KiB blocks: one metadata block per inode (`0 .. maxInodes-1`, written by
 * `write_inode`: the size and block map, as real bytes), then data blocks, allocated with a
 * rotor (so a file written in order is contiguous) and zeroed on allocation (a discard, so that
 * no stale bytes of a freed block show through). The directory is flat and lives in memory.
 *
 * - `SimpleFs`, `simplefs_create(k, pc, dev, opts)`, `fs_lookup`, `fs_create`, `fs_mkfile`
 *   (a scenario helper: a file with given bytes, written straight to the device).
 * - `fsFileOperations`: buffered read/write through the page cache (with readahead), O_DIRECT
 *   through `direct_io`, O_SYNC/O_DSYNC, `fsync`/`fdatasync`.
 * - `do_truncate(inode, len)` and the `ftruncate(fd, len)` syscall (`sys_ftruncate`).
 * - `DevFile`: the per-open data of files of this layer (an inode and readahead state).
 * - `fs_read_ondisk(fs, name)`: the bytes a file has on the device (a check: what survives a crash).
 */
import { EBADF, EFBIG, EINVAL, EISDIR, ENOENT, ENOSPC } from '../kernel/errno.js';
import type { Kernel } from '../kernel/kernel.js';
import { atomic, cpu, type KernelCode } from '../kernel/ops.js';
import {
  File,
  type FileOperations,
  O_ACCMODE,
  O_CREAT,
  O_DIRECT,
  O_RDONLY,
  O_TRUNC,
  type Opener,
  type Process,
} from '../kernel/process.js';
import { kernel } from '../kernel/sched.js';
import { down, up } from '../waitqueue/semaphore.js';
import type { BlockDevice } from './blkdev.js';
import { READ, sync_bh_io, WRITE } from './blkdev.js';
import { alloc_buffer_head, type BufferHead, lock_buffer, mark_buffer_dirty } from './buffer.js';
import { direct_io } from './kiobuf.js';
import { lock_page, PAGE_SIZE, UnlockPage } from './page.js';
import {
  type BlockMap,
  generic_file_read,
  generic_file_write,
  generic_osync_inode,
  I_DIRTY_DATASYNC,
  I_DIRTY_SYNC,
  Inode,
  type InodeOps,
  type PageCache,
  page_cache_release,
  ReadaheadState,
  read_cache_page,
  readahead_pages,
  set_page_dirty,
  truncate_inode_pages,
} from './pagecache.js';

/** Options of a filesystem. */
export interface SimpleFsOptions {
  /** Blocks the filesystem spans from the start of the device (default: all, up to 1 GiB). */
  readonly blocks?: number;
  /** Inode (and metadata block) count (default 64). */
  readonly maxInodes?: number;
  /** Largest file, in bytes (default 256 MiB). */
  readonly maxFileBytes?: number;
}

/** CPU cost of a block allocation or free in timed runs (ns). */
export const BALLOC_NS = 300;

/** A filesystem instance. */
export class SimpleFs {
  readonly k: Kernel;
  readonly pc: PageCache;
  readonly dev: BlockDevice;
  readonly blocks: number;
  readonly maxInodes: number;
  readonly maxFileBytes: number;
  /** 1 = block in use. */
  readonly bitmap: Uint8Array;
  readonly inodes = new Map<string, Inode>();
  readonly obj: number;
  freeBlocks: number;
  private rotor: number;
  private nextIno = 1;
  readonly ops: InodeOps;
  constructor(k: Kernel, pc: PageCache, dev: BlockDevice, opts: SimpleFsOptions = {}) {
    const devBlocks = Math.floor(dev.sizeBytes / PAGE_SIZE);
    this.k = k;
    this.pc = pc;
    this.dev = dev;
    this.blocks = Math.min(devBlocks, opts.blocks ?? 262_144);
    this.maxInodes = opts.maxInodes ?? 64;
    if (this.blocks <= this.maxInodes)
      throw new Error(
        `simplefs: ${this.blocks} blocks leave no room for data after ${this.maxInodes} inodes`,
      );
    this.maxFileBytes = opts.maxFileBytes ?? 256 * 1024 * 1024;
    this.bitmap = new Uint8Array(this.blocks);
    this.bitmap.fill(1, 0, this.maxInodes);
    this.freeBlocks = this.blocks - this.maxInodes;
    this.rotor = this.maxInodes;
    this.obj = k.newObjectId();
    this.ops = {
      maxBytes: this.maxFileBytes,
      fixedSize: false,
      get_block: (inode, iblock, create) => this.get_block(inode, iblock, create),
      write_inode: (inode) => this.write_inode(inode),
      truncate_blocks: (inode, from) => this.truncate_blocks(inode, from),
    };
  }

  /** Allocates a free block (plain; the caller is inside a step). -1 when full. */
  private balloc(): number {
    if (this.freeBlocks === 0) return -1;
    for (let n = 0; n < this.blocks; n++) {
      const b = this.rotor;
      this.rotor = this.rotor + 1 >= this.blocks ? this.maxInodes : this.rotor + 1;
      if (this.bitmap[b] === 0) {
        this.bitmap[b] = 1;
        this.freeBlocks--;
        this.dev.discard(b * PAGE_SIZE, PAGE_SIZE);
        return b;
      }
    }
    return -1;
  }

  /** `get_block`: maps (and with `create`, allocates) file block `iblock`. */
  *get_block(inode: Inode, iblock: number, create: boolean): KernelCode<BlockMap | null | number> {
    const map = inode.fsPrivate as number[];
    const b = map[iblock];
    if (b !== undefined && b >= 0) return { block: b, fresh: false };
    if (!create) return null;
    if ((iblock + 1) * PAGE_SIZE > this.maxFileBytes) return -EFBIG;
    if (this.k.config.timed) yield* cpu(BALLOC_NS);
    return yield* atomic(this.obj, true, `balloc ${inode.name}:${iblock}`, () => {
      const nb = this.balloc();
      if (nb < 0) return -ENOSPC;
      while (map.length < iblock) map.push(-1);
      map[iblock] = nb;
      this.k.count('fs.blocksAllocated');
      return { block: nb, fresh: true };
    });
  }

  /** Frees the blocks of file blocks >= `from`. */
  *truncate_blocks(inode: Inode, from: number): KernelCode<void> {
    const map = inode.fsPrivate as number[];
    if (map.length <= from) return;
    if (this.k.config.timed) yield* cpu(BALLOC_NS);
    yield* atomic(this.obj, true, `bfree ${inode.name}`, () => {
      for (let i = from; i < map.length; i++) {
        const b = map[i]!;
        if (b >= 0) {
          this.bitmap[b] = 0;
          this.freeBlocks++;
          this.k.count('fs.blocksFreed');
        }
      }
      map.length = from;
    });
  }

  /** Encodes the inode (size, block map) into its metadata block. */
  encode_inode(inode: Inode): Uint8Array {
    const out = new Uint8Array(PAGE_SIZE);
    const dv = new DataView(out.buffer);
    const map = inode.fsPrivate as number[];
    dv.setFloat64(0, inode.i_size, true);
    dv.setUint32(8, map.length, true);
    const n = Math.min(map.length, (PAGE_SIZE - 12) / 4);
    for (let i = 0; i < n; i++) dv.setInt32(12 + 4 * i, map[i]!, true);
    return out;
  }

  /** `write_inode`: writes the inode's metadata block and waits: 0 or -EIO. */
  *write_inode(inode: Inode): KernelCode<number> {
    let bh = metaBhs.get(inode);
    if (bh === undefined) {
      bh = alloc_buffer_head(this.k, `inode:${inode.name}`, inode.ino - 1, PAGE_SIZE);
      bh.b_dev = this.dev;
      metaBhs.set(inode, bh);
    }
    yield* lock_buffer(bh);
    bh.b_data.set(this.encode_inode(inode));
    yield* mark_buffer_dirty(bh);
    this.k.count('fs.inodeWrites');
    return yield* sync_bh_io(WRITE, bh);
  }

  /** A new empty inode named `name` (plain: the caller is inside a step or outside the run). */
  new_inode(name: string): Inode | null {
    if (this.nextIno > this.maxInodes) return null;
    const inode = new Inode(this.k, this.pc, this.nextIno++, name, this.dev, this.ops, 0);
    inode.fsPrivate = [] as number[];
    this.inodes.set(name, inode);
    return inode;
  }
}

const metaBhs = new WeakMap<Inode, BufferHead>();

/** Creates a filesystem on `dev`. */
export function simplefs_create(
  k: Kernel,
  pc: PageCache,
  dev: BlockDevice,
  opts: SimpleFsOptions = {},
): SimpleFs {
  return new SimpleFs(k, pc, dev, opts);
}

/** The inode of `name`, if any. */
export function fs_lookup(fs: SimpleFs, name: string): Inode | undefined {
  return fs.inodes.get(name);
}

/**
 * Scenario helper (outside the run): creates `name` holding `data` (or `data` zero-free bytes of
 * a pattern when a number is given), written straight to the device, nothing cached.
 */
export function fs_mkfile(fs: SimpleFs, name: string, data: Uint8Array | number): Inode {
  const bytes = typeof data === 'number' ? pattern(data, name.length) : data;
  const inode = fs.new_inode(name);
  if (inode === null) throw new Error(`fs_mkfile('${name}'): no free inode`);
  const map = inode.fsPrivate as number[];
  const nblocks = Math.ceil(bytes.length / PAGE_SIZE);
  for (let i = 0; i < nblocks; i++) {
    let b = -1;
    for (let j = fs.maxInodes; j < fs.blocks; j++)
      if (fs.bitmap[j] === 0) {
        b = j;
        break;
      }
    if (b < 0) throw new Error(`fs_mkfile('${name}'): the filesystem is full`);
    fs.bitmap[b] = 1;
    fs.freeBlocks--;
    map.push(b);
    const chunk = new Uint8Array(PAGE_SIZE);
    chunk.set(bytes.subarray(i * PAGE_SIZE, Math.min(bytes.length, (i + 1) * PAGE_SIZE)));
    fs.dev.poke(b * PAGE_SIZE, chunk);
  }
  inode.i_size = bytes.length;
  fs.dev.poke((inode.ino - 1) * PAGE_SIZE, fs.encode_inode(inode));
  return inode;
}

/** A deterministic non-zero byte pattern of `n` bytes. */
export function pattern(n: number, seed = 0): Uint8Array {
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = ((i * 31 + seed * 7 + (i >> 12)) % 251) + 1;
  return out;
}

/** The bytes of file `name` on the device (through its block map, up to `i_size`): what a crash keeps. */
export function fs_read_ondisk(fs: SimpleFs, name: string): Uint8Array {
  const inode = fs.inodes.get(name);
  if (inode === undefined) throw new Error(`fs_read_ondisk: no file '${name}'`);
  const out = new Uint8Array(inode.i_size);
  const map = inode.fsPrivate as number[];
  for (let i = 0; i * PAGE_SIZE < inode.i_size; i++) {
    const b = map[i];
    const n = Math.min(PAGE_SIZE, inode.i_size - i * PAGE_SIZE);
    if (b !== undefined && b >= 0) out.set(fs.dev.peek(b * PAGE_SIZE, n), i * PAGE_SIZE);
  }
  return out;
}

/** Per-open data of files of the devices layer. */
export class DevFile {
  readonly inode: Inode;
  readonly ra: ReadaheadState;
  constructor(inode: Inode, raPages: number) {
    this.inode = inode;
    this.ra = new ReadaheadState(raPages);
  }
}

/**
 * `do_truncate(inode, len)` (`vmtruncate` + the filesystem's truncate): under `i_sem`, zeroes
 * the tail of the new last block (`block_truncate_page`), drops the cached pages past the end,
 * frees the blocks past it and sets `i_size`. 0 or -errno.
 */
export function* do_truncate(inode: Inode, len: number): KernelCode<number> {
  yield* down(inode.i_sem);
  const r = yield* truncate_locked(inode, len);
  yield* up(inode.i_sem);
  return r;
}

function* truncate_locked(inode: Inode, len: number): KernelCode<number> {
  if (len < inode.i_size && len % PAGE_SIZE !== 0) {
    const idx = Math.floor(len / PAGE_SIZE);
    const m = yield* inode.ops.get_block(inode, idx, false);
    if (m !== null && typeof m !== 'number') {
      const page = yield* read_cache_page(inode, idx);
      if (typeof page === 'number') return page;
      yield* lock_page(page);
      if (page.mapping === inode.mapping) {
        page.data.fill(0, len % PAGE_SIZE);
        const bh = page.buffers as BufferHead | null;
        if (bh !== null) yield* mark_buffer_dirty(bh);
        yield* set_page_dirty(page);
      }
      yield* UnlockPage(page);
      yield* page_cache_release(page);
    }
  }
  const keep = Math.ceil(len / PAGE_SIZE);
  if (len < inode.i_size) {
    inode.i_size = len;
    yield* truncate_inode_pages(inode.mapping, keep);
    if (inode.ops.truncate_blocks !== undefined) yield* inode.ops.truncate_blocks(inode, keep);
  } else {
    inode.i_size = len;
  }
  inode.i_state |= I_DIRTY_SYNC | I_DIRTY_DATASYNC;
  kernel().count('fs.truncates');
  return 0;
}

/** `ftruncate(fd, len)`. */
export function* sys_ftruncate(p: Process, fd: number, len: number): KernelCode<number> {
  const f = p.fget(fd);
  if (f === null) return -EBADF;
  if (!Number.isInteger(len) || len < 0) return -EINVAL;
  const df = f.private_data;
  if (!(df instanceof DevFile) || df.inode.ops.fixedSize) return -EINVAL;
  if ((f.f_flags & O_ACCMODE) === O_RDONLY) return -EINVAL;
  if (len > df.inode.ops.maxBytes) return -EFBIG;
  return yield* do_truncate(df.inode, len);
}

function devFile(f: File): DevFile {
  return f.private_data as DevFile;
}

/**
 * File operations of regular files of the page-cache layer (simplefs files and buffered block
 * devices): buffered through the page cache, or direct with O_DIRECT.
 */
export const fsFileOperations: FileOperations = {
  name: 'simplefs',
  seekable: true,
  *read(file, p, buf, count, ppos) {
    const df = devFile(file);
    if ((file.f_flags & O_DIRECT) !== 0)
      return yield* direct_io(READ, df.inode, file.f_flags, p, buf, count, ppos);
    const n = yield* generic_file_read(df.inode, df.ra, p, buf, count, ppos.pos);
    if (n > 0) ppos.pos += n;
    return n;
  },
  *write(file, p, buf, count, ppos) {
    const df = devFile(file);
    if ((file.f_flags & O_DIRECT) !== 0)
      return yield* direct_io(WRITE, df.inode, file.f_flags, p, buf, count, ppos);
    return yield* generic_file_write(df.inode, file.f_flags, p, buf, count, ppos);
  },
  *fsync(file, datasync) {
    const inode = devFile(file).inode;
    yield* down(inode.i_sem);
    const r = yield* generic_osync_inode(inode, datasync ? 'dsync' : 'sync');
    yield* up(inode.i_sem);
    return r;
  },
  size(file) {
    return devFile(file).inode.i_size;
  },
  *release() {
    return 0;
  },
};

/** The opener of a mount of `fs` at `prefix` (`/mnt/`): files by name, O_CREAT and O_TRUNC. */
export function fs_opener(fs: SimpleFs, prefix: string): Opener {
  return function* (_p, path, flags) {
    const name = path.slice(prefix.length);
    if (name === '') return -EISDIR;
    if (name.includes('/')) return -ENOENT;
    let inode = fs.inodes.get(name);
    if (inode === undefined) {
      if ((flags & O_CREAT) === 0) return -ENOENT;
      const made = yield* atomic(
        fs.obj,
        true,
        `create ${name}`,
        () => fs.inodes.get(name) ?? fs.new_inode(name),
      );
      if (made === null) return -ENOSPC;
      inode = made;
    }
    if ((flags & O_TRUNC) !== 0 && (flags & O_ACCMODE) !== O_RDONLY && inode.i_size > 0) {
      const r = yield* do_truncate(inode, 0);
      if (r < 0) return r;
    }
    return new File(fsFileOperations, flags, path, new DevFile(inode, readahead_pages(fs.pc, fs.dev)));
  };
}
