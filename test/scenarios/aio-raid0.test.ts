/**
 * The timed AIO scenarios: `aio-raid0` (random 4 KiB raw reads on a 4-disk RAID0: AIO at queue
 * depth 32 gives at least 3x the IOPS of one synchronous reader, and depth 1 about the same as
 * sync) and `aio-pagecache` (cold vs warm AIO reads, O_DSYNC AIO writes), run through the
 * scenario runner.
 */
import { describe, expect, it } from 'vitest';
import { runScenario } from '../../src/check/runner.js';
import { aioPagecache, aioRaid0Scenario } from '../../src/scenarios/aio.js';
import { findScenario } from '../../src/scenarios/index.js';

describe('aio-raid0', () => {
  it('is in the catalogue', () => {
    expect(findScenario('aio-raid0')?.name).toBe('aio-raid0');
    expect(findScenario('aio-pagecache')?.name).toBe('aio-pagecache');
  });

  it('AIO at depth 32 reads at least 3x the IOPS of synchronous reads on 4 disks', () => {
    const r = runScenario(aioRaid0Scenario(240), { seed: 1 });
    expect(r.violations.map((v) => v.message)).toEqual([]);
    expect(r.status).toBe('done');
    const st = r.stats as Record<string, unknown>;
    const iops = st.iops as { sync: number; qd1: number; qd8: number; qd32: number };
    // One 4 KiB random read costs a seek and half a rotation (~13 ms): ~75 IOPS for one reader.
    expect(iops.sync).toBeGreaterThan(60);
    expect(iops.sync).toBeLessThan(90);
    expect(Math.abs(iops.qd1 - iops.sync) / iops.sync).toBeLessThan(0.1);
    expect(iops.qd8).toBeGreaterThan(2 * iops.sync);
    expect(iops.qd32).toBeGreaterThan(iops.qd8);
    expect(iops.qd32).toBeGreaterThanOrEqual(3 * iops.sync);
    expect(st['aio.reqsActive']).toBe(0);
    expect(st['aio.pinned']).toBe(0);
    expect(st['aio.nr']).toBe(0);
    expect(st['aio.completed']).toBe(3 * 240);
  });
});

describe('aio-pagecache', () => {
  it('cold reads go at disk speed, warm ones at copy speed; O_DSYNC writes are each written back', () => {
    const r = runScenario(aioPagecache, { seed: 1 });
    expect(r.violations.map((v) => v.message)).toEqual([]);
    expect(r.status).toBe('done');
    const st = r.stats as Record<string, Record<string, number> | number>;
    const cold = st.cold as Record<string, number>;
    const warm = st.warm as Record<string, number>;
    const dsync = st.dsync as Record<string, number>;
    expect(cold.MBps).toBeGreaterThan(20);
    expect(cold.MBps).toBeLessThan(41);
    expect(warm.MBps).toBeGreaterThan(10 * cold.MBps!);
    expect(dsync.pagesWritten).toBe(64);
    expect(st.submitSwitches).toBe(0);
    expect(st['aio.reqsActive']).toBe(0);
  });
});
