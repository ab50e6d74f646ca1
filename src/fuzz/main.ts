/**
 * `npm run fuzz -- [--seconds N] [--programs N] [--seed S] [--replay TOKEN]`:
 * runs seeded random syscall programs on the simulated kernel and checks what they observe
 * (see `docs/fuzz.md`). Each failure of a new kind is printed, shrunk, with its replay token;
 * the end prints the programs run, the syscalls made and the failures. Exit status 1 when a
 * failure was found, 0 when none, 2 for bad usage.
 */
import { formatProgram } from './program.js';
import { type FoundFailure, fuzz, judge, replayToken } from './runner.js';

const USAGE =
  'usage: npm run fuzz -- [--seconds N] [--programs N] [--seed S] [--shrink-runs N] [--replay TOKEN]';

interface Args {
  seconds: number | undefined;
  programs: number | undefined;
  seed: number;
  shrinkRuns: number;
  replay: string | undefined;
}

function usage(msg: string): never {
  process.stderr.write(`fuzz: ${msg}\n${USAGE}\n`);
  process.exit(2);
}

function intArg(name: string, v: string | undefined, min: number, max: number): number {
  if (v === undefined || !/^\d+$/.test(v)) usage(`${name} needs an integer`);
  const n = Number(v);
  if (n < min || n > max) usage(`${name} must be ${min}..${max}, got ${v}`);
  return n;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    seconds: undefined,
    programs: undefined,
    seed: 1,
    shrinkRuns: 400,
    replay: undefined,
  };
  for (let i = 0; i < argv.length; i++) {
    const f = argv[i]!;
    if (f === '--seconds') a.seconds = intArg(f, argv[++i], 1, 7 * 86400);
    else if (f === '--programs') a.programs = intArg(f, argv[++i], 1, 1e9);
    else if (f === '--seed') a.seed = intArg(f, argv[++i], 0, 0xffffffff);
    else if (f === '--shrink-runs') a.shrinkRuns = intArg(f, argv[++i], 0, 1e6);
    else if (f === '--replay') {
      a.replay = argv[++i];
      if (a.replay === undefined) usage('--replay needs a token');
    } else if (f === '--help' || f === '-h') {
      process.stdout.write(`${USAGE}\n`);
      process.exit(0);
    } else usage(`unknown argument '${f}'`);
  }
  if (a.seconds === undefined && a.programs === undefined) a.seconds = 60;
  return a;
}

function printFound(f: FoundFailure): void {
  const lines = [
    `FAILURE ${f.signature}`,
    ...f.failures.map((x) => `  ${x.at === undefined ? '' : `${x.at}: `}${x.kind}: ${x.message}`),
    `  replay: npm run fuzz -- --replay ${f.token}`,
    '  minimal program:',
    ...formatProgram(f.program)
      .split('\n')
      .map((l) => `    ${l}`),
    '',
  ];
  process.stdout.write(`${lines.join('\n')}\n`);
}

function main(): void {
  const a = parseArgs(process.argv.slice(2));
  if (a.replay !== undefined) {
    const prog = replayToken(a.replay);
    if (prog === null) usage(`'${a.replay}' is not a fuzz token (<seed>:<path>)`);
    process.stdout.write(`${formatProgram(prog)}\n`);
    const j = judge(prog);
    for (const [i, f] of j.failures.entries())
      process.stdout.write(
        `${f.at === undefined ? '' : `${f.at}: `}${f.kind}: ${f.message}\n  [${j.sigs[i]}]\n`,
      );
    process.stdout.write(`${j.failures.length} failures, ${j.syscalls} syscalls\n`);
    process.exit(j.failures.length > 0 ? 1 : 0);
  }
  const r = fuzz({
    seed: a.seed,
    shrinkRuns: a.shrinkRuns,
    onFound: printFound,
    ...(a.seconds === undefined ? {} : { seconds: a.seconds }),
    ...(a.programs === undefined ? {} : { programs: a.programs }),
  });
  process.stdout.write(
    [
      `seed ${r.seed}`,
      `programs run: ${r.programs}`,
      `syscalls made: ${r.syscalls}`,
      `failing programs: ${r.failingPrograms}`,
      `distinct failures: ${r.found.length}`,
      ...r.found.map((f) => `  ${f.count}x ${f.signature}  (${f.token})`),
      `shrink runs: ${r.shrinkRuns}, elapsed ${(r.elapsedMs / 1000).toFixed(1)} s`,
      '',
    ].join('\n'),
  );
  process.exit(r.failingPrograms > 0 ? 1 : 0);
}

main();
