/**
 * O_APPEND as 2.4's `precheck_file_write` has it: a write to a file opened with O_APPEND starts
 * at the file's size whatever offset it was given (`pwrite` too), buffered or O_DIRECT alike;
 * a block device ignores O_APPEND, so its writes land where they were aimed. `write` leaves the
 * file position past the bytes it wrote.
 */
import { fc, it } from '@fast-check/vitest';
import { describe, expect } from 'vitest';
import { type DiskSet, setup_disks } from '../../src/devices/setup.js';
import { fs_mkfile, pattern } from '../../src/devices/simplefs.js';
import { seeded } from '../../src/kernel/chooser.js';
import { EINVAL } from '../../src/kernel/errno.js';
import { Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { O_APPEND, O_DIRECT, O_RDWR, type Process } from '../../src/kernel/process.js';
import { create_process, SEEK_CUR, syscall } from '../../src/kernel/syscalls.js';

function world(): { k: Kernel; s: DiskSet } {
  const k = new Kernel({ cpus: 1, timed: false, trace: false }, seeded(3));
  const s = setup_disks(k, { disks: 1, model: 'ssd', diskBytes: 1 << 20, fs: { blocks: 64, maxInodes: 4 } });
  return { k, s };
}

function run(k: Kernel, body: (p: Process) => KernelCode<void>): void {
  create_process(k, 'p', body);
  const r = k.run({ maxSteps: 1_000_000 });
  expect(r.violations.map((v) => v.message)).toEqual([]);
  expect(r.status).toBe('done');
}

/** `n` bytes of a pattern no file or disk starts with. */
function bytes(n: number, seed: number): Uint8Array {
  return Uint8Array.from({ length: n }, (_, i) => (seed * 31 + i * 7 + 1) & 255);
}

describe('O_APPEND', () => {
  it.prop([fc.boolean(), fc.boolean(), fc.integer({ min: 0, max: 15 }), fc.integer({ min: 1, max: 4 })])(
    'a file appends at its size (buffered or O_DIRECT, write or pwrite); a block device writes where it is aimed',
    (direct, positioned, sector, sectors) => {
      const { k, s } = world();
      const size = 8192;
      fs_mkfile(s.fs!, 'f', size);
      const disk = s.paths.disks[0]!;
      const pos = sector * 512;
      const len = sectors * 512;
      const flags = O_RDWR | O_APPEND | (direct ? O_DIRECT : 0);
      run(k, function* (p) {
        const buf = p.mm.mmap(8192);
        for (const [path, at] of [
          ['/mnt/f', size],
          [disk, pos],
        ] as const) {
          const data = bytes(len, sector + sectors);
          p.mm.copy_to_user(buf, data);
          const fd = yield* syscall('open', path, flags);
          if (!positioned) expect(yield* syscall('lseek', fd, pos, 0)).toBe(pos);
          const n = positioned
            ? yield* syscall('pwrite', fd, buf, len, pos)
            : yield* syscall('write', fd, buf, len);
          expect([path, n]).toEqual([path, len]);
          // write moves the file position past what it wrote (the new end, when appending);
          // pwrite leaves it alone.
          expect([path, yield* syscall('lseek', fd, 0, SEEK_CUR)]).toEqual([path, positioned ? 0 : at + len]);
          const check = yield* syscall('open', path, O_RDWR);
          expect(yield* syscall('pread', check, buf, len, at)).toBe(len);
          expect([path, p.mm.copy_from_user(buf, len)]).toEqual([path, data]);
          if (path === '/mnt/f') {
            // The bytes at the offset given are the file's own still.
            expect(yield* syscall('pread', check, buf, 512, 0)).toBe(512);
            expect(p.mm.copy_from_user(buf, 512)).toEqual(pattern(size, 1).subarray(0, 512));
            expect(s.fs!.inodes.get('f')!.i_size).toBe(size + len);
          }
          yield* syscall('close', fd);
          yield* syscall('close', check);
        }
      });
    },
  );

  it('an O_DIRECT append to a file whose size is not sector-aligned is -EINVAL and changes nothing', () => {
    const { k, s } = world();
    fs_mkfile(s.fs!, 'f', 5000);
    run(k, function* (p) {
      const buf = p.mm.mmap(4096);
      const fd = yield* syscall('open', '/mnt/f', O_RDWR | O_APPEND | O_DIRECT);
      expect(yield* syscall('pwrite', fd, buf, 512, 0)).toBe(-EINVAL);
      expect(s.fs!.inodes.get('f')!.i_size).toBe(5000);
      const check = yield* syscall('open', '/mnt/f', O_RDWR);
      expect(yield* syscall('pread', check, buf, 512, 0)).toBe(512);
      expect(p.mm.copy_from_user(buf, 512)).toEqual(pattern(5000, 1).subarray(0, 512));
    });
  });
});
