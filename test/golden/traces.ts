/**
 * Golden traces: a hash of what the command line prints for every catalogued scenario (`run`
 * as text and as `--json`, at two seeds) and of the replay of each buggy scenario's minimal
 * counterexample. They pin behaviour: a change that is not meant to change what a scenario
 * does leaves every hash alone; one that is updates `traces.json` (`npm run golden:update`)
 * in the same commit and says why.
 */
import { createHash } from 'node:crypto';
import { explore } from '../../src/check/explore.js';
import { decodeToken } from '../../src/check/token.js';
import { scenarios } from '../../src/scenarios/index.js';
import { cli } from '../cli/in-process.js';

export const SEEDS = [1, 2] as const;

function hash(s: string): string {
  return createHash('sha256').update(s).digest('hex').slice(0, 16);
}

/** The golden records of one scenario, keyed `<scenario> <what>`. */
export async function goldenOf(name: string): Promise<Record<string, string>> {
  const g: Record<string, string> = {};
  for (const seed of SEEDS) {
    const text = await cli('run', name, '--seed', String(seed));
    g[`${name} run --seed ${seed}`] = `${text.code} ${hash(text.out)}`;
    const json = await cli('run', name, '--seed', String(seed), '--json');
    g[`${name} run --seed ${seed} --json`] = `${json.code} ${hash(json.out)}`;
  }
  const s = scenarios.find((x) => x.name === name)!;
  if (s.expect !== undefined && s.expect !== 'clean') {
    const r = explore(s, { strategy: 'exhaustive' });
    const v = r.violations[0];
    if (v === undefined) g[`${name} counterexample`] = 'none found';
    else {
      // The choices and the replayed run, not the token's spelling.
      const { choices } = decodeToken(v.replay);
      const replayed = await cli('replay', v.replay);
      const text = replayed.out.split(v.replay).join('<token>');
      g[`${name} counterexample`] = `${v.kind} ${choices.join(',')} ${replayed.code} ${hash(text)}`;
    }
  }
  return g;
}

/** The golden records of every catalogued scenario. */
export async function allGolden(): Promise<Record<string, string>> {
  const all: Record<string, string> = {};
  for (const s of scenarios) Object.assign(all, await goldenOf(s.name));
  return all;
}
