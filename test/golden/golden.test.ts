import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { scenarios } from '../../src/scenarios/index.js';
import { goldenOf } from './traces.js';

// A mismatch means a scenario now does something else: if that was meant, run
// `npm run golden:update` and say why in the commit; if not, the change broke determinism or
// behaviour.
const golden = JSON.parse(readFileSync(new URL('./traces.json', import.meta.url), 'utf8')) as Record<
  string,
  string
>;

describe('golden traces', () => {
  it('cover every catalogued scenario', () => {
    for (const s of scenarios) expect(Object.keys(golden), s.name).toContain(`${s.name} run --seed 1`);
  });

  for (const s of scenarios) {
    it(`${s.name}: run (text, --json, two seeds) and its minimal counterexample are unchanged`, async () => {
      const now = await goldenOf(s.name);
      const was = Object.fromEntries(Object.entries(golden).filter(([k]) => k.startsWith(`${s.name} `)));
      expect(now).toEqual(was);
    });
  }
});
