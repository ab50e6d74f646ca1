/**
 * The AIO layer (`src/aio`): LaHaise's 2.4 asynchronous IO on the simulated kernel.
 *
 * - `kioctx.ts`: contexts, requests, the completion ring, `aio_complete`;
 * - `syscalls.ts`: `/dev/aio`, `__submit_ios`, `__io_getevents`, `__io_wait`, `__io_cancel`,
 *   `io_submit(filp, req)`, `aio_init`;
 * - `limits.ts`, `stats.ts`: the sysctl-like limits and the accounting figures;
 * - `kvec.ts`: kvecs, `brw_kvec_async`, `rw_kiovec`, the kvec members;
 * - `raw.ts`: raw devices and O_DIRECT files; `pagecache.ts`: the page-cache paths;
 * - `devices.ts`: installs the members on the devices layer's file operations;
 * - `libaio.ts`: a user-space library; `testdev.ts`: `/dev/aiotest`.
 */
export { aio_install_devices } from './devices.js';
export type { CompleteWakeup, IoEvent, KiocbState, RingSlot } from './kioctx.js';
export {
  AIO_RING_HEADER_SIZE,
  AIO_RING_MAGIC,
  aio_complete,
  aio_get_req,
  aio_put_req,
  aio_read_evt,
  aio_start,
  contexts,
  ctxOfFile,
  IO_EVENT_SIZE,
  IOCB_CMD_FDSYNC,
  IOCB_CMD_FSYNC,
  IOCB_CMD_NOOP,
  IOCB_CMD_POLL,
  IOCB_CMD_PREAD,
  IOCB_CMD_PWRITE,
  IOCB_SIZE,
  Kiocb,
  Kioctx,
} from './kioctx.js';
export type { Kvec, KvecCb, KvecMethods, KvecPage, Veclet } from './kvec.js';
export {
  brw_kvec_async,
  kvec_block_size,
  kvec_of,
  map_user_kvec,
  rw_kiovec,
  unmap_kvec,
} from './kvec.js';
export type { UserRing } from './libaio.js';
export {
  aio_ring_reap,
  io_iocb_array,
  io_prep,
  io_prep_fdsync,
  io_prep_fsync,
  io_prep_noop,
  io_prep_pread,
  io_prep_pwrite,
  io_setup,
  iocb_key,
  read_event,
  timespec,
  user_ring,
} from './libaio.js';
export type { AioLimits, AioOptions } from './limits.js';
export { aio_limits, DEFAULT_AIO_LIMITS, set_aio_limits } from './limits.js';
export { pc_aio_fsync, pc_aio_read, pc_aio_write } from './pagecache.js';
export {
  direct_aio_check,
  direct_aio_read,
  direct_aio_write,
  direct_kvec_read,
  direct_kvec_write,
} from './raw.js';
export type { AioStats } from './stats.js';
export { aio_stats, aio_update_stats } from './stats.js';
export type { AioMethods, UserIocb } from './syscalls.js';
export {
  aio_init,
  decodeIocb,
  encodeEvent,
  io_submit,
  io_submit_one,
  sys_io_cancel,
  sys_io_getevents,
  sys_io_wait,
  sys_submit_ios,
} from './syscalls.js';
export type { AioTestOptions } from './testdev.js';
export { register_aiotest, testPattern } from './testdev.js';
