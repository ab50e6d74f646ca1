/**
 * Benchmark group `des`: the plain DES core (`src/bench/des`) on three classic workloads.
 *
 * - `timeouts`: 1000 processes each sleeping Exp(mean 1) again and again until simulated time
 *   2000 (about 2M timeouts). Unit: `timeout`.
 * - `resource`: an M/M/4 queue, Poisson arrivals at rate 3.2, Exp(1) service, a `Resource` of
 *   capacity 4, 500,000 customers each its own process (as in SimPy). Unit: `customer`; also
 *   `meanWait` (Erlang C: 0.7455) and `erlangC`.
 * - `pingpong`: two processes handing control to each other 1,000,000 times through
 *   `PASSIVATE`/`activate`. Unit: `handoff`; also `nsPerHandoff`.
 *
 * Every model is seeded, so its work is the same on every run; `--quick` divides the sizes by 10.
 */

import { Xoshiro128 } from '../kernel/random.js';
import { PASSIVATE, type Process, type ProcessGenerator, Resource, Sim } from './des/index.js';
import type { BenchGroup, BenchModelResult, BenchOptions } from './types.js';
import { measure, result } from './types.js';

/** Mean wait in queue of an M/M/c queue (Erlang C), arrival rate `lambda`, service rate `mu`. */
export function erlangCWait(lambda: number, mu: number, c: number): number {
  const a = lambda / mu;
  const rho = a / c;
  let term = 1;
  let sum = 1; // k = 0
  for (let k = 1; k < c; k++) {
    term *= a / k;
    sum += term;
  }
  const last = ((term * a) / c) * (1 / (1 - rho)); // a^c / c! / (1 - rho)
  const pWait = last / (sum + last);
  return pWait / (c * mu - lambda);
}

/** State of the `timeouts` workload. */
interface TimeoutsState {
  readonly rng: Xoshiro128;
  count: number;
}

// Generator functions live at module level (not rebuilt per workload), so that every workload
// runs the same generator maps and the warm-up run's optimised code stays valid.
function* sleeper(st: TimeoutsState): ProcessGenerator<void> {
  const rng = st.rng;
  for (;;) {
    yield rng.exp(1);
    st.count++;
  }
}

/** Workload of `timeouts`: `nProc` processes sleeping Exp(1) until `until`. */
export function buildTimeouts(
  nProc: number,
  until: number,
  seed = 1,
): { sim: Sim; until: number; count: () => number } {
  const sim = new Sim();
  const st: TimeoutsState = { rng: new Xoshiro128(seed), count: 0 };
  for (let i = 0; i < nProc; i++) sim.process(sleeper(st));
  return { sim, until, count: () => st.count };
}

/** State of the M/M/c workload. */
interface MMcState {
  readonly sim: Sim;
  readonly rng: Xoshiro128;
  readonly res: Resource;
  readonly customers: number;
  readonly meanArrival: number;
  served: number;
  waitSum: number;
}

function* customer(st: MMcState): ProcessGenerator<void> {
  const sim = st.sim;
  const arrived = sim.now;
  const req = st.res.request();
  yield req;
  st.waitSum += sim.now - arrived;
  yield st.rng.exp(1);
  st.res.release(req);
  st.served++;
}

function* source(st: MMcState): ProcessGenerator<void> {
  for (let i = 0; i < st.customers; i++) {
    st.sim.process(customer(st));
    yield st.rng.exp(st.meanArrival);
  }
}

/** Workload of `resource`: an M/M/c queue of `customers` customers, one process each. */
export function buildMMc(
  customers: number,
  lambda: number,
  capacity: number,
  seed = 1,
): { sim: Sim; stats: () => { served: number; meanWait: number } } {
  const sim = new Sim();
  const st: MMcState = {
    sim,
    rng: new Xoshiro128(seed),
    res: new Resource(sim, capacity),
    customers,
    meanArrival: 1 / lambda,
    served: 0,
    waitSum: 0,
  };
  sim.process(source(st));
  return { sim, stats: () => ({ served: st.served, meanWait: st.served > 0 ? st.waitSum / st.served : 0 }) };
}

/** State of the pingpong workload. */
interface PingPongState {
  readonly sim: Sim;
  readonly handoffs: number;
  readonly players: Process<void>[];
  count: number;
}

function* player(st: PingPongState, other: number, waitFirst: boolean): ProcessGenerator<void> {
  const sim = st.sim;
  if (waitFirst) yield PASSIVATE;
  while (st.count < st.handoffs) {
    st.count++;
    sim.activate(st.players[other]!);
    yield PASSIVATE;
  }
}

/** Workload of `pingpong`: two processes handing control to each other `handoffs` times. */
export function buildPingPong(handoffs: number): { sim: Sim; count: () => number } {
  const sim = new Sim();
  const st: PingPongState = { sim, handoffs, players: [], count: 0 };
  // The second player starts first, so that it is passive when the first hands over.
  st.players[1] = sim.process(player(st, 0, true), 'pong');
  st.players[0] = sim.process(player(st, 1, false), 'ping');
  return { sim, count: () => st.count };
}

function timeouts(o: BenchOptions): BenchModelResult {
  const until = o.quick ? 200 : 2000;
  const m = measure(
    () => buildTimeouts(1000, until),
    (w) => w.sim.run(w.until),
  );
  return result(m, m.workload.count(), 'timeout', { processes: 1000, simTime: until });
}

function resource(o: BenchOptions): BenchModelResult {
  const customers = o.quick ? 50_000 : 500_000;
  const m = measure(
    () => buildMMc(customers, 3.2, 4),
    (w) => w.sim.run(),
  );
  const { served, meanWait } = m.workload.stats();
  return result(m, served, 'customer', { meanWait, erlangC: erlangCWait(3.2, 1, 4) });
}

function pingpong(o: BenchOptions): BenchModelResult {
  const handoffs = o.quick ? 100_000 : 1_000_000;
  const m = measure(
    () => buildPingPong(handoffs),
    (w) => w.sim.run(),
  );
  const work = m.workload.count();
  return result(m, work, 'handoff', { nsPerHandoff: (m.runSec * 1e9) / work });
}

/** The `des` group: `timeouts`, `resource`, `pingpong`. */
export const desGroup: BenchGroup = {
  name: 'des',
  models: { timeouts, resource, pingpong },
};
