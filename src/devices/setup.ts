/**
 * One-call setup of disks, RAID0, the page cache, a filesystem and raw devices, for scenarios,
 * tests, benchmarks and the AIO layer.
 *
 *     const s = setup_disks(k, { disks: 4, model: 'hdd', raid0: true, fs: true, raw: true });
 *     // /dev/sda../dev/sdd, /dev/md0, files under /mnt/, /dev/raw1 bound to /dev/md0
 *
 * Several sets can live in one kernel (`prefix`, `mdName`, `mount`, `rawPath` tell them
 * apart); they share the kernel's page cache (configured by the first call) and pinned-memory
 * limit. Also registers the `ftruncate` syscall.
 */
import type { Kernel } from '../kernel/kernel.js';
import { register_mount, register_syscall, type SyscallHandler } from '../kernel/syscalls.js';
import { type BlockCosts, type BlockDevice, DEFAULT_BLOCK_COSTS, Disk, type Elevator } from './blkdev.js';
import { set_pinned_limit } from './kiobuf.js';
import { type LatencyParams, latencyParams } from './latency.js';
import { type Inode, init_page_cache, type PageCache, type PageCacheConfig } from './pagecache.js';
import { Raid0 } from './raid0.js';
import { raw_bind, register_blkdev } from './raw.js';
import {
  fs_opener,
  type SimpleFs,
  type SimpleFsOptions,
  simplefs_create,
  sys_ftruncate,
} from './simplefs.js';

/** Options of `setup_disks`. */
export interface SetupDisksOptions {
  /** Number of disks (default 1). */
  readonly disks?: number;
  /** Latency model (default 'hdd': a 2001-era 7200 rpm disk). */
  readonly model?: 'hdd' | 'ssd' | 'ram' | LatencyParams;
  /** Relative service-time jitter drawn from the Chooser (default 0). */
  readonly jitter?: number;
  /** Bytes per disk (default 1 TiB: storage is sparse). */
  readonly diskBytes?: number;
  readonly elevator?: Elevator;
  /** Plugging (default on). */
  readonly plug?: boolean;
  readonly blockCosts?: BlockCosts;
  /** A RAID0 array over the disks (`true`: 64 KiB chunks). */
  readonly raid0?: boolean | { readonly chunkBytes?: number };
  /** A filesystem on the top device (md0, else the first disk), mounted at `mount`. */
  readonly fs?: boolean | SimpleFsOptions;
  /** A raw device bound to the top device, at `rawPath`. */
  readonly raw?: boolean;
  /** Page-cache configuration (only the first call of a kernel sets it). */
  readonly pageCache?: Partial<PageCacheConfig>;
  /** Limit on pinned user memory (bytes). */
  readonly pinnedLimitBytes?: number;
  /** Disk name prefix (default 'sd': sda, sdb ...). */
  readonly prefix?: string;
  /** RAID0 device name (default 'md0'). */
  readonly mdName?: string;
  /** Mount point of the filesystem (default '/mnt/'). */
  readonly mount?: string;
  /** Raw device path (default '/dev/raw1'). */
  readonly rawPath?: string;
}

/** What `setup_disks` built. */
export interface DiskSet {
  readonly disks: readonly Disk[];
  readonly md: Raid0 | null;
  /** The device the filesystem and raw device sit on (md0, else the first disk). */
  readonly top: BlockDevice;
  /** Inode of the top device (its page cache). */
  readonly topInode: Inode;
  readonly pc: PageCache;
  readonly fs: SimpleFs | null;
  /** Paths: every disk, md0, the raw device, the mount point. */
  readonly paths: {
    readonly disks: readonly string[];
    readonly md: string | null;
    readonly raw: string | null;
    readonly mount: string | null;
  };
}

/** Builds disks (and optionally RAID0, a filesystem and a raw device) on `k`. */
export function setup_disks(k: Kernel, opts: SetupDisksOptions = {}): DiskSet {
  const n = opts.disks ?? 1;
  if (!Number.isInteger(n) || n < 1 || n > 26) throw new Error(`setup_disks: disks must be 1..26, got ${n}`);
  const pc = init_page_cache(k, opts.pageCache ?? {});
  if (opts.pinnedLimitBytes !== undefined) set_pinned_limit(k, opts.pinnedLimitBytes);
  register_syscall(k, 'ftruncate', sys_ftruncate as SyscallHandler);
  const model = latencyParams(opts.model ?? 'hdd');
  const prefix = opts.prefix ?? 'sd';
  const disks: Disk[] = [];
  const diskPaths: string[] = [];
  for (let i = 0; i < n; i++) {
    const name = `${prefix}${String.fromCharCode(97 + i)}`;
    const d = new Disk(k, name, {
      sizeBytes: opts.diskBytes ?? 2 ** 40,
      model,
      jitter: opts.jitter ?? 0,
      elevator: opts.elevator ?? 'sorted',
      costs: opts.blockCosts ?? DEFAULT_BLOCK_COSTS,
      plug: opts.plug ?? true,
    });
    disks.push(d);
    const path = `/dev/${name}`;
    register_blkdev(k, pc, path, d);
    diskPaths.push(path);
  }
  let md: Raid0 | null = null;
  let mdPath: string | null = null;
  if (opts.raid0 !== undefined && opts.raid0 !== false) {
    const chunk = opts.raid0 === true ? undefined : opts.raid0.chunkBytes;
    md = new Raid0(k, opts.mdName ?? 'md0', disks, chunk);
    mdPath = `/dev/${md.name}`;
    register_blkdev(k, pc, mdPath, md);
  }
  const top: BlockDevice = md ?? disks[0]!;
  const topInode = register_blkdev(k, pc, mdPath ?? diskPaths[0]!, top);
  let fs: SimpleFs | null = null;
  let mount: string | null = null;
  if (opts.fs !== undefined && opts.fs !== false) {
    fs = simplefs_create(k, pc, top, opts.fs === true ? {} : opts.fs);
    mount = opts.mount ?? '/mnt/';
    register_mount(k, mount, fs_opener(fs, mount));
  }
  let raw: string | null = null;
  if (opts.raw === true) {
    raw = opts.rawPath ?? '/dev/raw1';
    raw_bind(k, pc, raw, top);
  }
  return { disks, md, top, topInode, pc, fs, paths: { disks: diskPaths, md: mdPath, raw, mount } };
}
