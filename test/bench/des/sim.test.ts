import { describe, expect, it } from 'vitest';
import {
  EventState,
  PASSIVATE,
  type Process,
  ProcessError,
  type ProcessGenerator,
  Sim,
} from '../../../src/bench/des/sim.js';
import { Xoshiro128 } from '../../../src/kernel/random.js';

describe('Sim timeouts', () => {
  it('resumes a process after each delay, at the right times', () => {
    const sim = new Sim();
    const seen: number[] = [];
    sim.process(function* () {
      seen.push(sim.now);
      yield 1.5;
      seen.push(sim.now);
      yield 0;
      seen.push(sim.now);
      yield 2;
      seen.push(sim.now);
    });
    sim.run();
    expect(seen).toEqual([0, 1.5, 1.5, 3.5]);
    expect(sim.now).toBe(3.5);
  });

  it('interleaves processes by time, same-time ones in the order they were scheduled', () => {
    const sim = new Sim();
    const log: string[] = [];
    const sleeper = (name: string, delays: number[]) =>
      function* (): ProcessGenerator<void> {
        for (const d of delays) {
          yield d;
          log.push(`${name}@${sim.now}`);
        }
      };
    sim.process(sleeper('a', [2, 2]));
    sim.process(sleeper('b', [1, 3]));
    sim.process(sleeper('c', [4]));
    sim.run();
    // All three wake at t=4: c's timeout was pushed at t=0, b's at t=1, a's at t=2.
    expect(log).toEqual(['b@1', 'a@2', 'c@4', 'b@4', 'a@4']);
  });

  it('rejects a negative or NaN delay, naming the process', () => {
    const sim = new Sim();
    sim.process(function* badDelay() {
      yield -1;
    });
    expect(() => sim.run()).toThrow(/badDelay.*bad delay -1/);
    const sim2 = new Sim();
    sim2.process(function* () {
      yield Number.NaN;
    }, 'nan');
    expect(() => sim2.run()).toThrow(/'nan'/);
  });

  it('runs entries already in the heap at `now` before zero-delay wake-ups (SimPy order)', () => {
    const sim = new Sim();
    const log: string[] = [];
    sim.process(function* () {
      yield 1;
      log.push('p1');
      yield 0; // lane, behind q's timeout at t=1 pushed earlier
      log.push('p1 again');
    });
    sim.process(function* () {
      yield 1;
      log.push('q');
    });
    sim.run();
    expect(log).toEqual(['p1', 'q', 'p1 again']);
  });
});

describe('Sim run(until)', () => {
  it('stops at `until` (an urgent event: normal entries at `until` wait for the next run)', () => {
    const sim = new Sim();
    const log: number[] = [];
    sim.process(function* () {
      for (;;) {
        yield 1;
        log.push(sim.now);
      }
    });
    sim.run(3);
    expect(sim.now).toBe(3);
    expect(log).toEqual([1, 2]);
    sim.run(5);
    expect(log).toEqual([1, 2, 3, 4]);
    expect(sim.now).toBe(5);
  });

  it('a run ended early by a crash leaves no stale stop behind', () => {
    const sim = new Sim();
    const log: number[] = [];
    sim.process(function* () {
      for (let i = 0; i < 20; i++) {
        yield 1;
        log.push(sim.now);
      }
    });
    sim.process(function* crasher() {
      yield 5.5;
      throw new Error('x');
    });
    expect(() => sim.run(10)).toThrow(/crasher/);
    expect(sim.now).toBe(5.5);
    sim.run();
    expect(log.at(-1)).toBe(20);
  });

  it('advances the clock to `until` when nothing is left before it', () => {
    const sim = new Sim();
    sim.run(10);
    expect(sim.now).toBe(10);
    expect(() => sim.run(5)).toThrow(RangeError);
  });
});

describe('SimEvent lifecycle', () => {
  it('goes pending → triggered → processed, resuming the waiter with the value', () => {
    const sim = new Sim();
    const ev = sim.event<string>();
    const got: unknown[] = [];
    sim.process(function* () {
      got.push(yield ev);
    });
    sim.process(function* () {
      yield 2;
      expect(ev.state).toBe(EventState.Pending);
      expect(ev.hasWaiters).toBe(true);
      ev.succeed('hello');
      expect(ev.state).toBe(EventState.Triggered);
      expect(ev.triggered).toBe(true);
      expect(ev.processed).toBe(false);
    });
    sim.run();
    expect(ev.state).toBe(EventState.Processed);
    expect(got).toEqual(['hello']);
    expect(() => ev.succeed('again')).toThrow(/already triggered/);
  });

  it('is processed at once when triggered with no waiter; a later yield continues immediately', () => {
    const sim = new Sim();
    const ev = sim.event<number>();
    ev.succeed(7);
    expect(ev.processed).toBe(true);
    const got: unknown[] = [];
    sim.process(function* () {
      yield 1;
      got.push(yield ev, sim.now);
    });
    sim.run();
    expect(got).toEqual([7, 1]);
  });

  it('resumes several waiters in the order they came (single-waiter field, then array)', () => {
    const sim = new Sim();
    const ev = sim.event<number>();
    const log: string[] = [];
    for (const name of ['a', 'b', 'c']) {
      sim.process(function* () {
        const v = yield ev;
        log.push(`${name}:${String(v)}@${sim.now}`);
      });
    }
    ev.addCallback((e) => log.push(`cb:${String(e.value)}`));
    sim.process(function* () {
      yield 3;
      ev.succeed(42);
    });
    sim.run();
    expect(log).toEqual(['cb:42', 'a:42@3', 'b:42@3', 'c:42@3']);
  });

  it('throws a failure into the waiting process, which may catch it', () => {
    const sim = new Sim();
    const ev = sim.event();
    const log: string[] = [];
    sim.process(function* () {
      try {
        yield ev;
      } catch (e) {
        log.push(`caught ${(e as Error).message} at ${sim.now}`);
      }
    });
    sim.process(function* () {
      yield 1;
      ev.fail(new Error('boom'));
    });
    sim.run();
    expect(log).toEqual(['caught boom at 1']);
  });

  it('crashes the run when a failed event has nobody waiting', () => {
    const sim = new Sim();
    sim.event().fail(new Error('lost'));
    expect(() => sim.run()).toThrow(/nobody waiting on it: lost/);
  });

  it('timeout() gives an event that triggers after the delay with its value', () => {
    const sim = new Sim();
    const t = sim.timeout(4, 'v');
    expect(t.triggered).toBe(true);
    const got: unknown[] = [];
    sim.process(function* () {
      got.push(yield t, sim.now);
    });
    sim.process(function* () {
      got.push(yield t, sim.now);
    });
    sim.run();
    expect(got).toEqual(['v', 4, 'v', 4]);
  });
});

describe('Processes', () => {
  it('a process yielding another resumes with its return value when it ends', () => {
    const sim = new Sim();
    const child = sim.process(function* () {
      yield 5;
      return 'done';
    });
    let got: unknown;
    sim.process(function* () {
      got = yield child;
      expect(sim.now).toBe(5);
      got = [got, yield child]; // already finished: continues at once
    });
    sim.run();
    expect(got).toEqual(['done', 'done']);
    expect(child.isAlive).toBe(false);
    expect(child.returnValue).toBe('done');
  });

  it('passivate/activate hands control over directly, with a value', () => {
    const sim = new Sim();
    const log: string[] = [];
    const waiter = sim.process(function* () {
      const v = yield PASSIVATE;
      log.push(`woken with ${String(v)} at ${sim.now}`);
    }, 'waiter');
    sim.process(function* () {
      yield 2;
      expect(waiter.isPassive).toBe(true);
      sim.activate(waiter, 'token');
      expect(() => sim.activate(waiter)).toThrow(/'waiter' is not passive/);
      log.push('activated');
    });
    sim.run();
    expect(log).toEqual(['activated', 'woken with token at 2']);
  });

  it('pingpong: two processes alternate for exactly the requested number of handoffs', () => {
    const sim = new Sim();
    const N = 1001;
    let count = 0;
    const who: string[] = [];
    const players: Process<void>[] = [];
    function* player(self: string, other: number, waitFirst: boolean): ProcessGenerator<void> {
      if (waitFirst) yield PASSIVATE;
      while (count < N) {
        count++;
        who.push(self);
        sim.activate(players[other]!);
        yield PASSIVATE;
      }
    }
    players[1] = sim.process(player('pong', 0, true));
    players[0] = sim.process(player('ping', 1, false));
    sim.run();
    expect(count).toBe(N);
    expect(who.length).toBe(N);
    for (let i = 0; i < N; i++) expect(who[i]).toBe(i % 2 === 0 ? 'ping' : 'pong');
    expect(sim.now).toBe(0);
  });

  it('an unhandled exception crashes run() with a message naming the process', () => {
    const sim = new Sim();
    sim.process(function* () {
      yield 1;
    });
    sim.process(function* diskWorker() {
      yield 2.5;
      throw new Error('disk on fire');
    });
    let err: unknown;
    try {
      sim.run();
    } catch (e) {
      err = e;
    }
    expect(err).toBeInstanceOf(ProcessError);
    expect((err as ProcessError).message).toBe("process 'diskWorker' crashed at t=2.5: disk on fire");
    expect((err as ProcessError).process.name).toBe('diskWorker');
    expect(((err as ProcessError).cause as Error).message).toBe('disk on fire');
  });

  it('names processes: explicit name, else generator function name, else process#id', () => {
    const sim = new Sim();
    function* g(): ProcessGenerator<void> {}
    expect(sim.process(g).name).toBe('g');
    expect(sim.process(g, 'named').name).toBe('named');
    expect(sim.process(g()).name).toBe('process#2');
  });

  it("a child's exception goes to the parent waiting on it instead of crashing the run", () => {
    const sim = new Sim();
    const child = sim.process(function* kid() {
      yield 1;
      throw new Error('kid failed');
    });
    const log: string[] = [];
    sim.process(function* () {
      try {
        yield child;
      } catch (e) {
        log.push((e as Error).message);
      }
    });
    sim.run();
    expect(log).toEqual(['kid failed']);
    expect(child.isAlive).toBe(false);
    // Yielding it again, later, throws the same exception into the new yielder.
    sim.process(function* () {
      try {
        yield child;
      } catch (e) {
        log.push(`again: ${(e as Error).message}`);
      }
    });
    sim.run();
    expect(log).toEqual(['kid failed', 'again: kid failed']);
  });

  it('rejects an unsupported yield, naming the process', () => {
    const sim = new Sim();
    sim.process(function* odd() {
      yield 'nope' as unknown as number;
    });
    expect(() => sim.run()).toThrow(/'odd'.*unsupported value: nope/);
  });

  it.each([
    ['a plain object', {}],
    ['an object with a non-boolean _isProcess', { _isProcess: 1 }],
    ['null', null],
    ['undefined', undefined],
  ])('rejects %s as a yield (events and processes are told apart by a field)', (_what, y) => {
    const sim = new Sim();
    sim.process(function* odd() {
      yield y as unknown as number;
    });
    expect(() => sim.run()).toThrow(/'odd'.*unsupported value/);
  });
});

describe('determinism', () => {
  /** A small random model; returns its (time, process) records. */
  function trace(seed: number): string[] {
    const sim = new Sim();
    const rng = new Xoshiro128(seed);
    const out: string[] = [];
    const shared = sim.event();
    for (let i = 0; i < 8; i++) {
      sim.process(function* () {
        for (let k = 0; k < 30; k++) {
          // Quantised delays make same-time ties common, so tie order is exercised too.
          yield rng.below(4) * 0.5;
          out.push(`${sim.now} p${i}`);
          if (i === 3 && k === 10) shared.succeed(k);
          if (i % 2 === 0 && k === 12) yield shared;
        }
      }, `p${i}`);
    }
    sim.run();
    return out;
  }

  it('the same seed gives the same sequence of (time, process) records', () => {
    const a = trace(42);
    expect(a.length).toBe(8 * 30);
    expect(trace(42)).toEqual(a);
    expect(trace(43)).not.toEqual(a);
  });
});
