/**
 * Installs the AIO and kvec members on the file operations of the devices layer (the 2.4
 * patch's additions to `file_operations`), so that `io_submit` takes the asynchronous paths:
 *
 * - raw devices (`rawFileOperations`): `aio_read` / `aio_write` / `aio_check` of direct IO
 *   (`src/aio/raw.ts`), `aio_fsync` (a data sync of the device's cached pages, without
 *   `i_sem`, as the synchronous raw fsync), `kvec_read` / `kvec_write`;
 * - files and buffered block devices (`fsFileOperations`): with O_DIRECT the direct paths (and
 *   the kvec members), otherwise the page-cache paths (`src/aio/pagecache.ts`); `aio_fsync`
 *   through the page cache under `i_sem`.
 *
 * The devices layer stays free of imports from `src/aio`: the members are set here, on the
 * shared operation objects, once (`aio_init` calls `aio_install_devices`).
 */

import { rawFileOperations } from '../devices/raw.js';
import { fsFileOperations } from '../devices/simplefs.js';
import { EINVAL } from '../kernel/errno.js';
import type { KernelCode } from '../kernel/ops.js';
import { type File, type FileOperations, O_DIRECT } from '../kernel/process.js';
import type { Kiocb } from './kioctx.js';
import type { KvecCb, KvecMethods } from './kvec.js';
import { pc_aio_fsync, pc_aio_read, pc_aio_write } from './pagecache.js';
import {
  direct_aio_check,
  direct_aio_read,
  direct_aio_write,
  direct_kvec_read,
  direct_kvec_write,
} from './raw.js';
import type { AioMethods } from './syscalls.js';

type Ops = FileOperations & AioMethods & KvecMethods;

let installed = false;

function direct(file: File): boolean {
  return (file.f_flags & O_DIRECT) !== 0;
}

function* notDirect(): KernelCode<number> {
  return -EINVAL;
}

/** Sets the AIO and kvec members of `rawFileOperations` and `fsFileOperations` (idempotent). */
export function aio_install_devices(): void {
  if (installed) return;
  installed = true;
  const raw = rawFileOperations as Ops;
  raw.aio_read = direct_aio_read;
  raw.aio_write = direct_aio_write;
  raw.aio_check = direct_aio_check;
  raw.aio_fsync = (file: File, req: Kiocb, datasync: boolean) =>
    pc_aio_fsync(file, req, datasync, false, true);
  raw.kvec_read = direct_kvec_read;
  raw.kvec_write = direct_kvec_write;
  const fs = fsFileOperations as Ops;
  fs.aio_read = (file: File, req: Kiocb) =>
    direct(file) ? direct_aio_read(file, req) : pc_aio_read(file, req);
  fs.aio_write = (file: File, req: Kiocb) =>
    direct(file) ? direct_aio_write(file, req) : pc_aio_write(file, req);
  fs.aio_check = (file: File, opcode: number, buf: number, nbytes: number, pos: number) =>
    direct(file) ? direct_aio_check(file, opcode, buf, nbytes, pos) : 0;
  fs.aio_fsync = (file: File, req: Kiocb, datasync: boolean) => pc_aio_fsync(file, req, datasync);
  fs.kvec_read = (file: File, cb: KvecCb, size: number, pos: number) =>
    direct(file) ? direct_kvec_read(file, cb, size, pos) : notDirect();
  fs.kvec_write = (file: File, cb: KvecCb, size: number, pos: number) =>
    direct(file) ? direct_kvec_write(file, cb, size, pos) : notDirect();
}
