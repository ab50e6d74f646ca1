/**
 * RAID0: the block→member mapping (property-tested), remapping of buffers to members with the
 * bytes landing where the mapping says, and the raid0-seq-read scenario's ≈4x throughput.
 */
import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import { raid0_map, raid0_unmap } from '../../src/devices/raid0.js';
import { setup_disks } from '../../src/devices/setup.js';
import { pattern } from '../../src/devices/simplefs.js';
import { seeded } from '../../src/kernel/chooser.js';
import { Kernel } from '../../src/kernel/kernel.js';
import { O_RDWR } from '../../src/kernel/process.js';
import { create_process, syscall } from '../../src/kernel/syscalls.js';
import { raid0SeqRead } from '../../src/scenarios/devices.js';

const geometry = fc.record({
  chunkSectors: fc.constantFrom(8, 16, 128, 1024),
  members: fc.integer({ min: 1, max: 8 }),
});

describe('raid0_map', () => {
  test.prop([geometry, fc.nat(1 << 30)])('is inverted by raid0_unmap', (g, sector) => {
    const loc = raid0_map(sector, g.chunkSectors, g.members);
    expect(loc.member).toBeGreaterThanOrEqual(0);
    expect(loc.member).toBeLessThan(g.members);
    expect(raid0_unmap(loc.member, loc.sector, g.chunkSectors, g.members)).toBe(sector);
  });

  test.prop([geometry, fc.nat(1 << 20)])(
    'stripes chunk c onto member c mod n, as its chunk c div n',
    (g, chunk) => {
      for (const within of [0, g.chunkSectors - 1]) {
        const loc = raid0_map(chunk * g.chunkSectors + within, g.chunkSectors, g.members);
        expect(loc.member).toBe(chunk % g.members);
        expect(loc.sector).toBe(Math.floor(chunk / g.members) * g.chunkSectors + within);
      }
    },
  );

  test.prop([geometry, fc.nat(1 << 20), fc.integer({ min: 1, max: 64 })])(
    'is injective and balanced over whole stripes',
    (g, start, stripes) => {
      const first = start * g.chunkSectors * g.members;
      const seen = new Set<string>();
      const perMember = new Array<number>(g.members).fill(0);
      const step = Math.max(1, g.chunkSectors / 4);
      for (let s = first; s < first + stripes * g.chunkSectors * g.members; s += step) {
        const loc = raid0_map(s, g.chunkSectors, g.members);
        const key = `${loc.member}:${loc.sector}`;
        expect(seen.has(key)).toBe(false);
        seen.add(key);
        perMember[loc.member]!++;
      }
      expect(new Set(perMember).size).toBe(1);
    },
  );
});

describe('Raid0 device', () => {
  it('writes through /dev/md0 land on the members where raid0_map says, and read back', () => {
    const k = new Kernel({ cpus: 2, timed: false, trace: false }, seeded(5));
    const s = setup_disks(k, {
      disks: 3,
      model: 'ram',
      raid0: { chunkBytes: 8192 },
      raw: true,
      diskBytes: 1 << 20,
    });
    const data = pattern(48 * 1024, 9);
    let back: Uint8Array | null = null;
    create_process(k, 'p', function* (p) {
      const buf = p.mm.mmap(data.length);
      p.mm.copy_to_user(buf, data);
      expect(
        yield* syscall('pwrite', yield* syscall('open', '/dev/raw1', O_RDWR), buf, data.length, 4096),
      ).toBe(data.length);
      const fd = yield* syscall('open', '/dev/md0', O_RDWR);
      const rb = p.mm.mmap(data.length);
      expect(yield* syscall('pread', fd, rb, data.length, 4096)).toBe(data.length);
      back = p.mm.copy_from_user(rb, data.length);
    });
    expect(k.run().status).toBe('done');
    expect(Buffer.from(back!).equals(data)).toBe(true);
    const md = s.md!;
    for (let off = 0; off < data.length; off += 512) {
      const loc = raid0_map((4096 + off) / 512, md.chunkSectors, 3);
      const onMember = s.disks[loc.member]!.peek(loc.sector * 512, 512);
      expect(Buffer.from(onMember).equals(data.subarray(off, off + 512))).toBe(true);
    }
    expect(s.disks.every((d) => d.bytesWritten > 0)).toBe(true);
  });
});

describe('raid0-seq-read', () => {
  it('4 striped disks give at least 3.2x the throughput of one', () => {
    const r = runScenario(raid0SeqRead, { seed: 1 });
    expect(r.status).toBe('done');
    const t = r.stats.throughputMBps as { disks1: number; disks4: number };
    expect(t.disks1).toBeGreaterThan(30);
    expect(t.disks1).toBeLessThan(40);
    expect(t.disks4 / t.disks1).toBeGreaterThanOrEqual(3.2);
  });
});
