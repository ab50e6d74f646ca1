/**
 * `npm run bench`: runs every benchmark group of `groups.ts` and prints a table, or with
 * `--json` exactly one JSON object `{ "<group>": { "<model>": BenchModelResult } }` on stdout.
 *
 * Options: `--json`, `--group NAME` (one group only; may be repeated), `--quick` (smaller sizes),
 * `--help`. Exit status 2 for bad usage.
 */
import { groups } from './groups.js';
import type { BenchModelResult, BenchOptions } from './types.js';

interface Args {
  json: boolean;
  quick: boolean;
  groups: string[];
}

const USAGE = 'usage: node dist/bench/main.js [--json] [--quick] [--group NAME]...';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { json: false, quick: false, groups: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--group') {
      const name = argv[++i];
      if (name === undefined) usage('--group needs a name');
      args.groups.push(name);
    } else if (a.startsWith('--group=')) args.groups.push(a.slice('--group='.length));
    else if (a === '--help' || a === '-h') {
      process.stdout.write(`${USAGE}\ngroups: ${groups.map((g) => g.name).join(', ')}\n`);
      process.exit(0);
    } else usage(`unknown argument '${a}'`);
  }
  return args;
}

function usage(message: string): never {
  process.stderr.write(`bench: ${message}\n${USAGE}\n`);
  process.exit(2);
}

function fmt(x: number): string {
  if (!Number.isFinite(x)) return String(x);
  if (Number.isInteger(x)) return x.toLocaleString('en-US');
  const abs = Math.abs(x);
  if (abs >= 1e6) return Math.round(x).toLocaleString('en-US');
  if (abs >= 100) return x.toFixed(1);
  return x.toPrecision(4);
}

function row(group: string, model: string, r: BenchModelResult): string {
  const fixed = new Set(['runSec', 'work', 'unit', 'perSec', 'peakRssMiB']);
  const extra = Object.entries(r)
    .filter(([k]) => !fixed.has(k))
    .map(([k, v]) => `${k}=${typeof v === 'number' ? fmt(v) : String(v)}`)
    .join(' ');
  return [
    `${group}/${model}`.padEnd(22),
    `${fmt(r.perSec)} ${r.unit}/s`.padStart(26),
    `${r.runSec.toFixed(3)} s`.padStart(10),
    `${fmt(r.work)} ${r.unit}`.padStart(22),
    `${r.peakRssMiB.toFixed(0)} MiB`.padStart(9),
    `  ${extra}`,
  ].join(' ');
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const known = new Set(groups.map((g) => g.name));
  for (const g of args.groups) if (!known.has(g)) usage(`no group '${g}' (groups: ${[...known].join(', ')})`);
  const selected = args.groups.length === 0 ? groups : groups.filter((g) => args.groups.includes(g.name));
  const options: BenchOptions = { quick: args.quick };
  const out: Record<string, Record<string, BenchModelResult>> = {};
  if (!args.json) {
    process.stdout.write(
      `${'model'.padEnd(22)} ${'rate'.padStart(26)} ${'run'.padStart(10)} ${'work'.padStart(22)} ${'peak RSS'.padStart(9)}  extra\n`,
    );
  }
  for (const group of selected) {
    const results: Record<string, BenchModelResult> = {};
    out[group.name] = results;
    for (const [name, model] of Object.entries(group.models)) {
      const r = model(options);
      results[name] = r;
      if (!args.json) process.stdout.write(`${row(group.name, name, r)}\n`);
    }
  }
  if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
}

main();
