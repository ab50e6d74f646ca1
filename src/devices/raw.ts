/**
 * Block-device files and raw devices (2.4's `fs/block_dev.c` and `drivers/char/raw.c`).
 *
 * - `bdev_inode(pc, dev)`: the block device's inode, whose page cache holds the device's blocks
 *   (block i of the file is device block i; the size is fixed).
 * - `register_blkdev(k, path, dev)`: makes `/dev/sdX` openable: buffered IO through the page
 *   cache (with readahead), or direct IO with O_DIRECT.
 * - `raw_bind(k, path, dev)`: makes `/dev/rawN` openable: every read and write is direct IO on
 *   the bound device, with user pages pinned (`map_user_kiobuf`), 512-byte alignment of the
 *   buffer, the offset and the count (-EINVAL otherwise), and transfers split at
 *   `KIO_MAX_BYTES`. Unlike 2.4's raw driver, a raw transfer first writes back the dirty cached
 *   pages of its range and a raw write drops the cached copies of its range, so buffered and raw
 *   IO on one device stay coherent.
 */
import type { Kernel } from '../kernel/kernel.js';
import type { KernelCode } from '../kernel/ops.js';
import { File, type FileOperations } from '../kernel/process.js';
import { register_path } from '../kernel/syscalls.js';
import type { BlockDevice } from './blkdev.js';
import { READ, WRITE } from './blkdev.js';
import { direct_io } from './kiobuf.js';
import { PAGE_SIZE } from './page.js';
import {
  type BlockMap,
  generic_osync_inode,
  Inode,
  type InodeOps,
  type PageCache,
  readahead_pages,
} from './pagecache.js';
import { DevFile, fsFileOperations } from './simplefs.js';

const bdevs = new WeakMap<BlockDevice, Inode>();

/** The inode of block device `dev` (created on first use). */
export function bdev_inode(k: Kernel, pc: PageCache, dev: BlockDevice): Inode {
  let inode = bdevs.get(dev);
  if (inode !== undefined) return inode;
  const blocks = Math.floor(dev.sizeBytes / PAGE_SIZE);
  const ops: InodeOps = {
    maxBytes: dev.sizeBytes,
    fixedSize: true,
    *get_block(_inode, iblock): KernelCode<BlockMap | null | number> {
      if (iblock < 0 || iblock >= blocks) return -28; // -ENOSPC
      return { block: iblock, fresh: false };
    },
    bmap(_inode, iblock): number {
      if (iblock < 0 || iblock >= blocks) return -28; // -ENOSPC
      return iblock;
    },
  };
  inode = new Inode(k, pc, 1_000_000 + k.nextId('bdev.inode'), dev.name, dev, ops, dev.sizeBytes);
  bdevs.set(dev, inode);
  return inode;
}

/** Makes `path` open block device `dev` (buffered, or direct with O_DIRECT). */
export function register_blkdev(k: Kernel, pc: PageCache, path: string, dev: BlockDevice): Inode {
  const inode = bdev_inode(k, pc, dev);
  const ra = readahead_pages(pc, dev);
  register_path(k, path, function* (_p, p2, flags) {
    return new File(fsFileOperations, flags, p2, new DevFile(inode, ra));
  });
  return inode;
}

/** File operations of raw devices: direct IO on the bound device. */
export const rawFileOperations: FileOperations = {
  name: 'raw',
  seekable: true,
  *read(file, p, buf, count, ppos) {
    const df = file.private_data as DevFile;
    return yield* direct_io(READ, df.inode, file.f_flags, p, buf, count, ppos);
  },
  *write(file, p, buf, count, ppos) {
    const df = file.private_data as DevFile;
    return yield* direct_io(WRITE, df.inode, file.f_flags, p, buf, count, ppos);
  },
  *fsync(file) {
    // Raw writes are synchronous; flush anything buffered IO left in the device's cache.
    return yield* generic_osync_inode((file.private_data as DevFile).inode, 'dsync');
  },
  size(file) {
    return (file.private_data as DevFile).inode.i_size;
  },
  *release() {
    return 0;
  },
};

/** Binds raw device `path` (`/dev/raw1`) to `dev`. */
export function raw_bind(k: Kernel, pc: PageCache, path: string, dev: BlockDevice): void {
  const inode = bdev_inode(k, pc, dev);
  register_path(k, path, function* (_p, p2, flags) {
    return new File(rawFileOperations, flags, p2, new DevFile(inode, 0));
  });
}
