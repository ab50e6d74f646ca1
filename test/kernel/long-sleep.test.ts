/**
 * Long and huge timeouts cost O(1) steps while nothing else happens: the page cache's bdflush
 * has no kupdate timer while nothing is dirty, and a timeout longer than the clock can count
 * expires at its last nanosecond (CLOCK_MAX), as the kernel clamps an hrtimer to KTIME_MAX.
 */
import { describe, expect, it } from 'vitest';
import { io_iocb_array, io_prep_pwrite, timespec } from '../../src/aio/libaio.js';
import { aio_init } from '../../src/aio/syscalls.js';
import { setup_disks } from '../../src/devices/setup.js';
import { seeded } from '../../src/kernel/chooser.js';
import { CLOCK_MAX, Kernel } from '../../src/kernel/kernel.js';
import type { KernelCode } from '../../src/kernel/ops.js';
import { O_CREAT, O_RDWR, type Process } from '../../src/kernel/process.js';
import { create_process, syscall } from '../../src/kernel/syscalls.js';

const DAY = 86_400_000_000_000;

function machine(timed = true): Kernel {
  const k = new Kernel({ cpus: 2, timed, trace: false }, seeded(3));
  setup_disks(k, {
    disks: 1,
    model: 'hdd',
    diskBytes: 4 << 20,
    fs: { blocks: 512, maxInodes: 8 },
    raw: true,
  });
  aio_init(k);
  return k;
}

function run(k: Kernel, body: (p: Process) => KernelCode<void>) {
  create_process(k, 'p', body);
  const r = k.run({ maxSteps: 10_000 });
  expect(r.violations.map((v) => v.message)).toEqual([]);
  expect(r.status).toBe('done');
  return r;
}

describe('long sleeps', () => {
  it('a simulated day of nanosleep beside an idle page cache takes a handful of steps', () => {
    const k = machine();
    let ret = -1;
    const r = run(k, function* () {
      ret = yield* syscall('nanosleep', DAY);
    });
    expect(ret).toBe(0);
    expect(r.simTimeNs - DAY).toBeGreaterThanOrEqual(0);
    expect(r.simTimeNs - DAY).toBeLessThan(1_000_000);
    expect(r.steps).toBeLessThan(20);
  });

  it('nanosleep(1e30) is waited out to the end of the clock in a handful of steps', () => {
    const k = machine();
    let ret = -1;
    create_process(k, 'p', function* () {
      ret = yield* syscall('nanosleep', 1e30);
    });
    const r = k.run({ maxSteps: 10_000 });
    // The clock ends before the sleep does: the run stops there, exactly, not past it.
    expect(r.status).toBe('until');
    expect(r.violations).toEqual([]);
    expect(r.simTimeNs).toBeLessThanOrEqual(CLOCK_MAX);
    expect(r.steps).toBeLessThan(20);
    expect(ret).toBe(-1);
  });

  it('an untimed run stops the clock at its end too, and a page dirtied there arms no timer in the past', () => {
    const k = machine(false);
    create_process(k, 'sleeper', function* () {
      yield* syscall('nanosleep', 1e30);
    });
    create_process(k, 'writer', function* (p) {
      const fd = yield* syscall('open', '/mnt/f', O_RDWR | O_CREAT);
      const buf = p.mm.mmap(4096);
      expect(yield* syscall('write', fd, buf, 512)).toBe(512);
      expect(yield* syscall('nanosleep', 2 ** 52)).toBe(0);
      expect(yield* syscall('write', fd, buf, 512)).toBe(512);
    });
    const r = k.run({ maxSteps: 100_000 });
    expect(r.violations).toEqual([]);
    expect(r.status).toBe('until');
    expect(r.simTimeNs).toBeLessThanOrEqual(CLOCK_MAX);
  });

  it('__io_getevents with a timeout of 2^62 seconds waits to the end of the clock', () => {
    const k = machine();
    create_process(k, 'p', function* (p) {
      const ctx = yield* syscall('open', '/dev/aio', O_RDWR);
      const mem = p.mm.mmap(4096);
      const dv = new DataView(new ArrayBuffer(16));
      dv.setBigInt64(0, 1n << 62n, true);
      p.mm.copy_to_user(mem, new Uint8Array(dv.buffer));
      yield* syscall('__io_getevents', ctx, mem + 64, 4, mem);
    });
    const r = k.run({ maxSteps: 10_000 });
    expect(r.status).toBe('until');
    expect(r.simTimeNs).toBeLessThanOrEqual(CLOCK_MAX);
    expect(r.steps).toBeLessThan(40);
  });

  it('a signal cutting a 2^53 ns sleep short leaves at most the time asked for', () => {
    const k = machine();
    let left = -1;
    run(k, function* (p) {
      expect(yield* syscall('kill', p.pid)).toBe(0);
      left = yield* syscall('nanosleep', Number.MAX_SAFE_INTEGER);
    });
    expect(left).toBeGreaterThan(0);
    expect(left).toBeLessThanOrEqual(Number.MAX_SAFE_INTEGER);
  });

  it('a 50-day sleep ends and the clock is still exact after it', () => {
    const k = machine();
    let ret = -1;
    const r = run(k, function* () {
      ret = yield* syscall('nanosleep', 50 * DAY);
      ret += yield* syscall('nanosleep', 1);
    });
    expect(ret).toBe(0);
    expect(r.simTimeNs - 50 * DAY).toBeGreaterThan(1);
    expect(r.simTimeNs - 50 * DAY).toBeLessThan(1_000_000);
  });

  it('a page dirtied after a long idle spell is still written back by kupdate', () => {
    const k = machine();
    let s = 0;
    const r = run(k, function* (p) {
      expect(yield* syscall('nanosleep', DAY)).toBe(0);
      const fd = yield* syscall('open', '/mnt/f', O_RDWR | O_CREAT);
      const buf = p.mm.mmap(4096);
      p.mm.copy_to_user(buf, new Uint8Array(4096).fill(0x5a));
      expect(yield* syscall('pwrite', fd, buf, 4096, 0)).toBe(4096);
      s = k.steps;
      // The default expiry is 30 s, written at the kupdate tick after it (every 5 s).
      expect(yield* syscall('nanosleep', 40_000_000_000)).toBe(0);
      expect(yield* syscall('close', fd)).toBe(0);
    });
    expect(r.steps - s).toBeLessThan(400);
    expect(k.stats['writeback.batches']).toBeGreaterThan(0);
  });

  it('an AIO write beside the page cache completes and a day-long reap wait ends early', () => {
    const k = machine();
    let got = -1;
    const r = run(k, function* (p) {
      const ctx = yield* syscall('open', '/dev/aio', O_RDWR);
      const fd = yield* syscall('open', '/mnt/g', O_RDWR | O_CREAT);
      const mem = p.mm.mmap(3 * 4096);
      io_prep_pwrite(p, mem, fd, mem + 4096, 512, 0, 1);
      io_iocb_array(p, mem + 128, [mem]);
      expect(yield* syscall('__submit_ios', ctx, 1, mem + 128)).toBe(1);
      timespec(p, mem + 256, DAY);
      got = yield* syscall('__io_getevents', ctx, mem + 512, 4, mem + 256);
      expect(yield* syscall('close', fd)).toBe(0);
      expect(yield* syscall('close', ctx)).toBe(0);
    });
    expect(got).toBe(1);
    expect(r.simTimeNs).toBeLessThan(1_000_000_000);
  });
});
