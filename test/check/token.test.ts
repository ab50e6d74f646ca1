/**
 * Tests of replay tokens: encode/decode round-trips for any config and choice list (property),
 * the documented format, errors that say what is wrong, and that a token taken from a violation
 * replays that violation exactly.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { explore } from '../../src/check/explore.js';
import { runScenario, scenarioConfig } from '../../src/check/runner.js';
import { decodeToken, encodeToken } from '../../src/check/token.js';
import { replay } from '../../src/kernel/chooser.js';
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
    expect(tok).toBe('aiosim1.lost-update.c2-sc-w24-u.AAAB');
    expect(encodeToken('x', { ...cfg, irqAffinity: -1, switchNs: 500, lockdep: false }, [])).toBe(
      'aiosim1.x.c2-sc-w24-u-ia-x500-nolockdep.',
    );
    // Choices above 127 take more than one byte; the token stays url-safe.
    const big = encodeToken('x', cfg, [128, 300, 2 ** 30]);
    expect(big).toMatch(/^aiosim1\.x\.[a-z0-9-]+\.[A-Za-z0-9_-]+$/);
    expect(decodeToken(` ${big}\n`).choices).toEqual([128, 300, 2 ** 30]);
  });

  it('rejects bad input with a message saying what is wrong', () => {
    const cfg = { ...DEFAULT_KERNEL_CONFIG };
    expect(() => encodeToken('Bad Name', cfg, [])).toThrow(/must be \[a-z0-9-\]\+/);
    expect(() => encodeToken('x', cfg, [-1])).toThrow(/not a natural number/);
    expect(() => encodeToken('x', cfg, [1.5])).toThrow(/not a natural number/);
    expect(() => decodeToken('hello')).toThrow(/not a replay token/);
    expect(() => decodeToken('aiosim2.x.c2-sc-w24-u.')).toThrow(/not a replay token/);
    expect(() => decodeToken('aiosim1.x.cX-sc-w24-u.')).toThrow(/bad CPU field/);
    expect(() => decodeToken('aiosim1.x.c2-weird-w24-u.')).toThrow(/unknown memory model 'weird'/);
    expect(() => decodeToken('aiosim1.x.c2-sc-w99-u.')).toThrow(/bad wake semantics/);
    expect(() => decodeToken('aiosim1.x.c2-sc-w24-q.')).toThrow(/bad timing field/);
    expect(() => decodeToken('aiosim1.x.c2-sc-w24-u-zz.')).toThrow(/unknown config field 'zz'/);
    expect(() => decodeToken('aiosim1.x.c2-sc-w24-u.AA$')).toThrow(/not base64url/);
    // A varint whose last byte has the continuation bit set.
    expect(() => decodeToken(`aiosim1.x.c2-sc-w24-u.${Buffer.from([0x80]).toString('base64url')}`)).toThrow(
      /truncated/,
    );
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
