/**
 * errno values, with the Linux (i386/x86-64) numbers. Simulated syscalls return them
 * negated (`-EINVAL`), as the kernel does.
 */
export const EPERM = 1;
export const ENOENT = 2;
export const ESRCH = 3;
export const EINTR = 4;
export const EIO = 5;
export const ENXIO = 6;
export const E2BIG = 7;
export const EBADF = 9;
export const EAGAIN = 11;
export const ENOMEM = 12;
export const EACCES = 13;
export const EFAULT = 14;
export const EBUSY = 16;
export const EEXIST = 17;
export const ENODEV = 19;
export const ENOTDIR = 20;
export const EISDIR = 21;
export const EINVAL = 22;
export const ENFILE = 23;
export const EMFILE = 24;
export const ENOTTY = 25;
export const EFBIG = 27;
export const ENOSPC = 28;
export const ESPIPE = 29;
export const EPIPE = 32;
export const ERANGE = 34;
export const ENOSYS = 38;
export const ETIME = 62;
export const EOVERFLOW = 75;
export const ETIMEDOUT = 110;
export const EINPROGRESS = 115;
export const ECANCELED = 125;

const NAMES: Record<number, string> = {
  [EPERM]: 'EPERM',
  [ENOENT]: 'ENOENT',
  [ESRCH]: 'ESRCH',
  [EINTR]: 'EINTR',
  [EIO]: 'EIO',
  [ENXIO]: 'ENXIO',
  [E2BIG]: 'E2BIG',
  [EBADF]: 'EBADF',
  [EAGAIN]: 'EAGAIN',
  [ENOMEM]: 'ENOMEM',
  [EACCES]: 'EACCES',
  [EFAULT]: 'EFAULT',
  [EBUSY]: 'EBUSY',
  [EEXIST]: 'EEXIST',
  [ENODEV]: 'ENODEV',
  [ENOTDIR]: 'ENOTDIR',
  [EISDIR]: 'EISDIR',
  [EINVAL]: 'EINVAL',
  [ENFILE]: 'ENFILE',
  [EMFILE]: 'EMFILE',
  [ENOTTY]: 'ENOTTY',
  [EFBIG]: 'EFBIG',
  [ENOSPC]: 'ENOSPC',
  [ESPIPE]: 'ESPIPE',
  [EPIPE]: 'EPIPE',
  [ERANGE]: 'ERANGE',
  [ENOSYS]: 'ENOSYS',
  [ETIME]: 'ETIME',
  [EOVERFLOW]: 'EOVERFLOW',
  [ETIMEDOUT]: 'ETIMEDOUT',
  [EINPROGRESS]: 'EINPROGRESS',
  [ECANCELED]: 'ECANCELED',
};

/** `errnoName(-22)` → `'-EINVAL'`; `errnoName(5)` → `'5'` (a non-negative result is not an error). */
export function errnoName(ret: number): string {
  if (ret >= 0) return String(ret);
  const name = NAMES[-ret];
  return name === undefined ? String(ret) : `-${name}`;
}
