import { describe, expect, it } from 'vitest';
import { buildPingPong, buildTimeouts } from '../../../src/bench/des.js';

describe('the des benchmark workloads', () => {
  it('timeouts: n processes sleeping Exp(1) until T fire about n*T timeouts, the same on every run', () => {
    const w = buildTimeouts(200, 100, 7);
    w.sim.run(w.until);
    expect(w.sim.now).toBe(100);
    const n = w.count();
    // A Poisson count with mean 20,000 has a standard deviation of about 141.
    expect(Math.abs(n - 20_000)).toBeLessThan(700);
    const again = buildTimeouts(200, 100, 7);
    again.sim.run(again.until);
    expect(again.count()).toBe(n);
  });

  it('pingpong: exactly the requested number of handoffs, at time 0', () => {
    const w = buildPingPong(12_345);
    w.sim.run();
    expect(w.count()).toBe(12_345);
    expect(w.sim.now).toBe(0);
  });
});
