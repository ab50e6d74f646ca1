/**
 * Latency models: the HDD model's sequential and random service times, checked on the model and
 * measured through the whole stack (4 KiB reads of a raw device in a timed run).
 */
import { describe, expect, it } from 'vitest';
import {
  HDD_7200_2001,
  hddGeometry,
  LatencyModel,
  RAM_DEFAULT,
  SSD_DEFAULT,
  transferNs,
} from '../../src/devices/latency.js';
import { setup_disks } from '../../src/devices/setup.js';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { O_RDONLY } from '../../src/kernel/process.js';
import { Xoshiro128 } from '../../src/kernel/random.js';
import { create_process, syscall } from '../../src/kernel/syscalls.js';

const hdd = HDD_7200_2001;
const geo = hddGeometry(hdd);
const xfer4k = transferNs(4096, hdd.transferMBps);
const halfRot = geo.rotationNs / 2;

/** Runs `n` 4 KiB raw reads at the offsets `at(i)`; returns the mean ns per read and MB/s. */
function rawReads(n: number, at: (i: number) => number): { nsPerRead: number; mbps: number } {
  const k = new Kernel({ cpus: 2, timed: true, trace: false }, seeded(7));
  setup_disks(k, { disks: 1, model: 'hdd', raw: true, diskBytes: 40e9 - (40e9 % 4096) });
  let t0 = 0;
  let t1 = 0;
  create_process(k, 'reader', function* (p) {
    const fd = yield* syscall('open', '/dev/raw1', O_RDONLY);
    const buf = p.mm.mmap(4096);
    yield* syscall('pread', fd, buf, 4096, at(-1)); // position the head
    t0 = k.now;
    for (let i = 0; i < n; i++) expect(yield* syscall('pread', fd, buf, 4096, at(i))).toBe(4096);
    t1 = k.now;
  });
  expect(k.run().status).toBe('done');
  const ns = (t1 - t0) / n;
  return { nsPerRead: ns, mbps: 4096 / 1e6 / (ns / 1e9) };
}

describe('HDD model (a 2001-era 7200 rpm disk)', () => {
  it('derives its geometry from the parameters', () => {
    expect(geo.rotationNs).toBe(8_333_333);
    expect(geo.sectorsPerTrack).toBe(651); // 40 MB/s * 8.33 ms / 512
    expect(geo.fullStrokeNs).toBeCloseTo(15_062_500, -3);
  });

  it('serves a request that starts at the head from its read-ahead segment: overhead + transfer', () => {
    const m = new LatencyModel(hdd);
    m.head = 1000;
    expect(m.service(123_456, false, 1000, 8, () => 0)).toBe(hdd.commandOverheadNs + xfer4k);
    expect(m.head).toBe(1008);
  });

  it('random requests cost about average seek + half a rotation (+ overhead and transfer)', () => {
    const m = new LatencyModel(hdd);
    const rng = new Xoshiro128(3);
    let sum = 0;
    const n = 4000;
    let now = 0;
    for (let i = 0; i < n; i++) {
      const sector = Math.floor(rng.next() * (geo.capacitySectors - 8));
      const t = m.service(now, false, sector, 8, () => 0);
      now += t + Math.floor(rng.next() * 1000);
      sum += t;
    }
    const expected = hdd.avgSeekNs + halfRot + hdd.commandOverheadNs + xfer4k;
    expect(sum / n).toBeGreaterThan(expected * 0.93);
    expect(sum / n).toBeLessThan(expected * 1.07);
  });

  it('seek time grows with distance, from track-to-track to a full stroke', () => {
    const m = new LatencyModel(hdd);
    expect(m.seekNs(0)).toBe(0);
    expect(m.seekNs(1)).toBeGreaterThanOrEqual(hdd.trackToTrackNs);
    expect(m.seekNs(geo.capacitySectors / 100)).toBeLessThan(m.seekNs(geo.capacitySectors / 2));
    expect(m.seekNs(geo.capacitySectors)).toBe(Math.round(geo.fullStrokeNs));
  });

  it('jitter draws one of five levels from the Chooser', () => {
    const m = new LatencyModel(RAM_DEFAULT, 0.2);
    const base = RAM_DEFAULT.latencyNs + transferNs(4096, RAM_DEFAULT.transferMBps);
    const got = [0, 1, 2, 3, 4].map((c) => m.service(0, false, 0, 8, () => c));
    expect(got).toEqual([0.8, 0.9, 1, 1.1, 1.2].map((f) => Math.round(base * f)));
  });

  it('SSD writes cost more than reads', () => {
    const m = new LatencyModel(SSD_DEFAULT);
    expect(m.service(0, true, 0, 8, () => 0)).toBeGreaterThan(m.service(0, false, 100, 8, () => 0));
  });
});

describe('measured through the stack (raw 4 KiB reads, timed)', () => {
  it('sequential 4 KiB reads approach the transfer rate', () => {
    const r = rawReads(400, (i) => (i + 1) * 4096);
    // 40 MB/s media rate; per request: 20 µs command overhead, the syscall, pinning, the interrupt.
    expect(r.mbps).toBeGreaterThan(0.75 * hdd.transferMBps);
    expect(r.mbps).toBeLessThan(hdd.transferMBps);
  });

  it('random 4 KiB reads cost about seek + half a rotation', () => {
    const rng = new Xoshiro128(11);
    const offs = Array.from({ length: 301 }, () => Math.floor(rng.next() * (40e9 / 4096 - 1)) * 4096);
    const r = rawReads(300, (i) => offs[i + 1]!);
    const expected = hdd.avgSeekNs + halfRot;
    expect(r.nsPerRead).toBeGreaterThan(expected * 0.9);
    expect(r.nsPerRead).toBeLessThan(expected * 1.15);
  });
});
