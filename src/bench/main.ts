/**
 * `npm run bench`: runs every benchmark group of `groups.ts` and prints a table, or with
 * `--json` exactly one JSON object `{ "<group>": { "<model>": BenchModelResult } }` on stdout.
 *
 * Each model runs in a fresh child process (this script with `--run-one GROUP MODEL`), so that
 * one model's JIT feedback and garbage do not slow the next, and `peakRssMiB` is that model's
 * own peak. `--in-process` runs them all in this process instead.
 *
 * Options: `--json`, `--group NAME` (one group only; may be repeated), `--quick` (smaller sizes),
 * `--in-process`, `--help`. Exit status 2 for bad usage, 1 when a model fails.
 */
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { groups } from './groups.js';
import type { BenchModelResult, BenchOptions } from './types.js';

interface Args {
  json: boolean;
  quick: boolean;
  inProcess: boolean;
  groups: string[];
  /** `--run-one GROUP MODEL`: run one model here and print its result as JSON (child mode). */
  runOne: [string, string] | undefined;
}

const USAGE = 'usage: node dist/bench/main.js [--json] [--quick] [--in-process] [--group NAME]...';

function parseArgs(argv: readonly string[]): Args {
  const args: Args = { json: false, quick: false, inProcess: false, groups: [], runOne: undefined };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--json') args.json = true;
    else if (a === '--quick') args.quick = true;
    else if (a === '--in-process') args.inProcess = true;
    else if (a === '--run-one') {
      const group = argv[++i];
      const model = argv[++i];
      if (group === undefined || model === undefined) usage('--run-one needs a group and a model');
      args.runOne = [group, model];
    } else if (a === '--group') {
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
  if (abs >= 1000) return Math.round(x).toLocaleString('en-US');
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

function findModel(group: string, model: string): (options: BenchOptions) => BenchModelResult {
  const fn = groups.find((g) => g.name === group)?.models[model];
  if (fn === undefined) usage(`no model '${group}/${model}'`);
  return fn;
}

/** Runs one model in a fresh child process and returns its result. */
function runInChild(group: string, model: string, quick: boolean): BenchModelResult {
  const script = fileURLToPath(import.meta.url);
  const argv = [...process.execArgv, script, '--run-one', group, model, ...(quick ? ['--quick'] : [])];
  const child = spawnSync(process.execPath, argv, { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
  if (child.status !== 0) {
    process.stderr.write(child.stderr);
    throw new Error(`bench: model ${group}/${model} failed (exit status ${child.status ?? child.signal})`);
  }
  return JSON.parse(child.stdout) as BenchModelResult;
}

function main(): void {
  const args = parseArgs(process.argv.slice(2));
  const options: BenchOptions = { quick: args.quick };
  if (args.runOne !== undefined) {
    const [group, model] = args.runOne;
    process.stdout.write(`${JSON.stringify(findModel(group, model)(options))}\n`);
    return;
  }
  const known = new Set(groups.map((g) => g.name));
  for (const g of args.groups) if (!known.has(g)) usage(`no group '${g}' (groups: ${[...known].join(', ')})`);
  const selected = args.groups.length === 0 ? groups : groups.filter((g) => args.groups.includes(g.name));
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
      const r = args.inProcess ? model(options) : runInChild(group.name, name, args.quick);
      results[name] = r;
      if (!args.json) process.stdout.write(`${row(group.name, name, r)}\n`);
    }
  }
  if (args.json) process.stdout.write(`${JSON.stringify(out)}\n`);
}

try {
  main();
} catch (e) {
  process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
  process.exitCode = 1;
}
