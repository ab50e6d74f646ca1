import { fc, test } from '@fast-check/vitest';
import { describe, expect, it } from 'vitest';
import { type Request, Resource } from '../../../src/bench/des/resource.js';
import { type ProcessGenerator, Sim } from '../../../src/bench/des/sim.js';
import { buildMMc, erlangCWait } from '../../../src/bench/des.js';

describe('Resource', () => {
  it('grants at once when a slot is free, and queues otherwise', () => {
    const sim = new Sim();
    const res = new Resource(sim, 2);
    const a = res.request();
    const b = res.request();
    const c = res.request();
    expect([a.granted, b.granted, c.granted]).toEqual([true, true, false]);
    expect(res.count).toBe(2);
    expect(res.waiting()).toEqual([c]);
    res.release(a);
    expect(c.granted).toBe(true);
    expect(res.count).toBe(2);
    expect(() => res.release(a)).toThrow(/already released/);
  });

  it('release of a waiting request withdraws it from the queue', () => {
    const sim = new Sim();
    const res = new Resource(sim, 1);
    const a = res.request();
    const b = res.request();
    const c = res.request();
    res.release(b);
    expect(res.queueLength).toBe(1);
    res.release(a);
    expect(b.granted).toBe(false);
    expect(c.granted).toBe(true);
  });

  it('rejects a bad capacity and a request of another resource', () => {
    const sim = new Sim();
    expect(() => new Resource(sim, 0)).toThrow(RangeError);
    const r1 = new Resource(sim, 1);
    const r2 = new Resource(sim, 1);
    expect(() => r2.release(r1.request())).toThrow(/another resource/);
  });

  test.prop([
    fc.integer({ min: 1, max: 4 }),
    fc.array(fc.record({ arrive: fc.integer({ min: 0, max: 6 }), hold: fc.integer({ min: 0, max: 5 }) }), {
      minLength: 1,
      maxLength: 40,
    }),
  ])('grants in FIFO request order and never exceeds its capacity', (capacity, customers) => {
    const sim = new Sim();
    const res = new Resource(sim, capacity);
    const requested: Request[] = [];
    const granted: Request[] = [];
    let pending: Request[] = [];
    let held = 0;
    /** After every request/release: newly granted requests must be the oldest waiting ones. */
    const check = (): void => {
      let k = 0;
      while (k < pending.length && pending[k]!.granted) k++;
      for (let j = k; j < pending.length; j++) expect(pending[j]!.granted).toBe(false);
      granted.push(...pending.slice(0, k));
      held += k;
      pending = pending.slice(k);
      expect(res.count).toBe(held);
      expect(res.count).toBeLessThanOrEqual(capacity);
      expect(res.queueLength).toBe(pending.length);
    };
    function* customer(arrive: number, hold: number): ProcessGenerator<void> {
      yield arrive;
      const req = res.request();
      requested.push(req);
      pending.push(req);
      check();
      yield req;
      expect(req.granted).toBe(true);
      yield hold;
      res.release(req);
      held--;
      check();
    }
    for (const c of customers) sim.process(customer(c.arrive, c.hold));
    sim.run();
    expect(granted).toEqual(requested);
    expect(granted.length).toBe(customers.length);
    expect(res.count).toBe(0);
    expect(res.queueLength).toBe(0);
  });
});

describe('M/M/4 queue (the `resource` benchmark model)', () => {
  it('Erlang C gives 0.7455 for arrival rate 3.2, service rate 1, 4 servers', () => {
    expect(erlangCWait(3.2, 1, 4)).toBeCloseTo(0.7455, 4);
  });

  it('the simulated mean wait is close to Erlang C (seeded runs of 200,000 customers)', () => {
    const want = erlangCWait(3.2, 1, 4);
    const waits: number[] = [];
    for (const seed of [1, 2, 3]) {
      const w = buildMMc(200_000, 3.2, 4, seed);
      w.sim.run();
      const { served, meanWait } = w.stats();
      expect(served).toBe(200_000);
      expect(Math.abs(meanWait - want) / want).toBeLessThan(0.06);
      waits.push(meanWait);
    }
    const mean = waits.reduce((a, b) => a + b, 0) / waits.length;
    expect(Math.abs(mean - want) / want).toBeLessThan(0.04);
  });
});
