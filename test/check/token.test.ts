/**
 * Tests of replay tokens: encode/decode round-trips for any config and choice list (property),
 * the documented format, errors that say what is wrong, and that a token taken from a violation
 * replays that violation exactly.
 */
import { createHash } from 'node:crypto';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/check/explore.js';
import { replayToken } from '../../src/check/replay.js';
import { runScenario, scenarioConfig } from '../../src/check/runner.js';
import { decodeToken, encodeToken, TokenError } from '../../src/check/token.js';
import { ReplayDivergence, replay } from '../../src/kernel/chooser.js';
import { DEFAULT_KERNEL_CONFIG, type KernelConfig } from '../../src/kernel/kernel.js';
import { MEMORY_MODELS } from '../../src/kernel/memory.js';
import { findScenario } from '../../src/scenarios/index.js';

const configArb: fc.Arbitrary<KernelConfig> = fc
  .record({
    cpus: fc.integer({ min: 1, max: 64 }),
    memoryModel: fc.constantFrom(...MEMORY_MODELS),
    wakeSemantics: fc.constantFrom('2.4-aio' as const, 'modern' as const),
    timed: fc.boolean(),
    lockdep: fc.boolean(),
    irqAffinity: fc.integer({ min: -1, max: 63 }),
    switchNs: fc.oneof(fc.constant(0), fc.nat({ max: 1_000_000 })),
  })
  .map((c) => ({ ...DEFAULT_KERNEL_CONFIG, ...c, irqAffinity: Math.min(c.irqAffinity, c.cpus - 1) }));

describe('replay tokens', () => {
  it('round-trip: scenario, config and choices come back unchanged', () => {
    fc.assert(
      fc.property(
        fc.stringMatching(/^[a-z0-9-]{1,20}$/),
        configArb,
        fc.array(fc.oneof(fc.nat({ max: 3 }), fc.nat({ max: 2 ** 31 })), { maxLength: 200 }),
        (name, config, choices) => {
          const t = decodeToken(encodeToken(name, config, choices));
          expect(t.scenario).toBe(name);
          expect(t.choices).toEqual(choices);
          const { trace: _t, ...expected } = config;
          expect({ ...DEFAULT_KERNEL_CONFIG, ...t.config, trace: config.trace }).toEqual({
            ...expected,
            trace: config.trace,
          });
        },
      ),
    );
  });

  it('has the documented shape and is compact', () => {
    const cfg = scenarioConfig(findScenario('lost-update')!, { timed: false });
    const tok = encodeToken('lost-update', cfg, [0, 0, 1]);
    expect(tok).toMatch(/^aiosim2\.lost-update\.c2-sc-w24-u\.3\.AAAB\.[A-Za-z0-9_-]{8}$/);
    expect(encodeToken('x', { ...cfg, irqAffinity: -1, switchNs: 500, lockdep: false }, [], 40)).toMatch(
      /^aiosim2\.x\.c2-sc-w24-u-ia-x500-nolockdep-m40\.0\.\.[A-Za-z0-9_-]{8}$/,
    );
    // Choices above 127 take more than one byte; the token stays url-safe.
    const big = encodeToken('x', cfg, [128, 300, 2 ** 30]);
    expect(big).toMatch(/^aiosim2\.x\.[a-z0-9-]+\.3\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]{8}$/);
    expect(decodeToken(` ${big}\n`).choices).toEqual([128, 300, 2 ** 30]);
    expect(decodeToken(encodeToken('x', cfg, [1], 40)).maxSteps).toBe(40);
  });

  /** A token with `body` (everything before the checksum) and a valid checksum. */
  const signed = (body: string): string =>
    `${body}.${createHash('sha256').update(body).digest('base64url').slice(0, 8)}`;
  const b64 = (bytes: number[]) => Buffer.from(bytes).toString('base64url');

  it('rejects bad input with a message saying what is wrong', () => {
    const cfg = { ...DEFAULT_KERNEL_CONFIG };
    expect(() => encodeToken('Bad Name', cfg, [])).toThrow(/must be \[a-z0-9-\]\+/);
    expect(() => encodeToken('x', cfg, [-1])).toThrow(/not a natural number/);
    expect(() => encodeToken('x', cfg, [1.5])).toThrow(/not a natural number/);
    expect(() => encodeToken('x', cfg, [2 ** 32])).toThrow(/not a natural number/);
    expect(() => decodeToken('hello')).toThrow(/not a replay token/);
    expect(() => decodeToken('aiosim3.x.c2-sc-w24-u.0..abcdefgh')).toThrow(/not a replay token/);
    expect(() => decodeToken(signed('aiosim2.x.cX-sc-w24-u.0.'))).toThrow(/CPU count 'X'/);
    expect(() => decodeToken(signed('aiosim2.x.c2-weird-w24-u.0.'))).toThrow(/unknown memory model 'weird'/);
    expect(() => decodeToken(signed('aiosim2.x.c2-sc-w99-u.0.'))).toThrow(/bad wake semantics/);
    expect(() => decodeToken(signed('aiosim2.x.c2-sc-w24-q.0.'))).toThrow(/bad timing field/);
    expect(() => decodeToken(signed('aiosim2.x.c2-sc-w24-u-zz.0.'))).toThrow(/unknown config field 'zz'/);
    expect(() => decodeToken(signed('aiosim2.x.c2-sc-w24-u.1.AA$'))).toThrow(/not base64url/);
    // A varint whose last byte has the continuation bit set.
    expect(() => decodeToken(signed(`aiosim2.x.c2-sc-w24-u.1.${b64([0x80])}`))).toThrow(/truncated/);
  });

  it('refuses truncated, tampered, foreign and old tokens, each with a one-line TokenError', () => {
    const s = findScenario('wq-active-race')!;
    const good = explore(s).violations[0]!.replay;
    const [p, name, cfg, count, enc, check] = good.split('.') as [
      string,
      string,
      string,
      string,
      string,
      string,
    ];
    const bad: [string, RegExp][] = [
      [good.slice(0, -1), /checksum mismatch/],
      [good.slice(0, good.lastIndexOf('.')), /not a replay token/],
      [[p, name, cfg, count, `${enc}A`, check].join('.'), /checksum mismatch/],
      [[p, 'lost-update', cfg, count, enc, check].join('.'), /checksum mismatch/],
      [[p, name, cfg.replace('tso', 'pso'), count, enc, check].join('.'), /checksum mismatch/],
      [[p, name, cfg, String(Number(count) + 1), enc, check].join('.'), /checksum mismatch/],
      [good.replace('aiosim2', 'aiosim1'), /'aiosim2' tokens \(with a checksum\) replaced 'aiosim1'/],
      ['aiosim1.wq-active-race.c2-tso-w24-u.AAABAQ', /replaced 'aiosim1'/],
      [signed('aiosim2.x.c0-sc-w24-u.0.'), /CPU count 0 is not in 1\.\.64/],
      [signed('aiosim2.x.c99999-sc-w24-u.0.'), /CPU count '99999' is not an integer in 0\.\.64/],
      [signed('aiosim2.x.c02-sc-w24-u.0.'), /CPU count '02'/],
      [signed('aiosim2.x.c2-sc-w24-u-i99.0.'), /interrupt CPU '99'/],
      [signed('aiosim2.x.c2-sc-w24-u-i1-i1.0.'), /repeats/],
      [signed('aiosim2.x.c2-sc-w24-u-i-99.0.'), /unknown config field|not an integer/],
      [signed(`aiosim2.x.c2-sc-w24-u.200.${b64(new Array(200).fill(0x80))}`), /longer than 5 bytes/],
      [signed(`aiosim2.x.c2-sc-w24-u.1.${b64([...new Array(199).fill(0x80), 1])}`), /longer than 5 bytes/],
      [signed(`aiosim2.x.c2-sc-w24-u.1.${b64([0xff, 0xff, 0xff, 0xff, 0x7f])}`), /above 4294967295/],
      [signed(`aiosim2.x.c2-sc-w24-u.1.${b64([0x81, 0x00])}`), /not minimally encoded/],
      [signed(`aiosim2.x.c2-sc-w24-u.2.${b64([1])}`), /says 2 choices but holds 1/],
      [signed('aiosim2.x.c2-sc-w24-u.01.AQ'), /choice count '01'/],
      [signed('aiosim2.x.c2-sc-w24-u-m0.0.'), /step bound 0/],
    ];
    for (const [tok, msg] of bad) {
      let err: unknown;
      try {
        decodeToken(tok);
      } catch (e) {
        err = e;
      }
      expect(err, tok).toBeInstanceOf(TokenError);
      expect((err as Error).message, tok).toMatch(msg);
      expect((err as Error).message).not.toContain('\n');
    }
  });

  it('a replay that leaves its token (foreign choices, too few, too many) is a divergence, not padded', () => {
    const race = findScenario('wq-active-race')!;
    const good = decodeToken(explore(race).violations[0]!.replay);
    expect(replayToken(race, good).diverged).toBe(false);
    const cases: [number[], RegExp][] = [
      [good.choices.slice(0, -1), /asked for choice \d+ \(\d+ options\) but the token holds/],
      [[...good.choices, 0], /the run ended \(hang\) after \d+ of the token's \d+ choices/],
      [[7, ...good.choices.slice(1)], /choice 1 of \d+ is 7, but the run offers \d+ options there/],
    ];
    for (const [choices, msg] of cases) {
      const out = replayToken(race, { ...good, choices });
      expect(out.diverged).toBe(true);
      if (out.diverged) expect(out.message).toMatch(msg);
    }
    // Choices of another scenario: aio-ring-reap's list does not fit wq-active-race (the
    // checksum already binds a token to its scenario's name).
    const ring = decodeToken(explore(findScenario('aio-ring-reap')!).violations[0]!.replay);
    expect(replayToken(race, { ...good, choices: ring.choices }).diverged).toBe(true);
    // The replay chooser itself stops at the divergence, whatever the decision is about.
    const chooser = replay([1]);
    expect(() => chooser.choose(3, 'load')).not.toThrow();
    expect(() => chooser.choose(2, 'load')).toThrow(ReplayDivergence);
    expect(chooser.overrun).toBe(true);
  });

  it('a violation token from every strategy replays the same run, choice for choice', () => {
    const s = findScenario('wq-active-race')!;
    for (const strategy of ['exhaustive', 'random', 'pct', 'fast-check'] as const) {
      const r = explore(s, { strategy, seed: 4 });
      expect(r.violations.length, strategy).toBe(1);
      const v = r.violations[0]!;
      const t = decodeToken(v.replay);
      expect(t.scenario).toBe('wq-active-race');
      expect(t.config.memoryModel).toBe('tso');
      expect(t.config.timed).toBe(false);
      const a = runScenario(s, { config: t.config, chooser: replay(t.choices) });
      const b = runScenario(s, { config: t.config, chooser: replay(t.choices) });
      expect(a.violations[0]!.kind).toBe(v.kind);
      expect(a.violations[0]!.message).toBe(v.message);
      expect(a.steps).toBe(v.steps);
      expect(b.choices).toEqual(a.choices);
      expect(b.violations).toEqual(a.violations);
    }
  });
});
