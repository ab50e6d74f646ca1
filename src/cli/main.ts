/**
 * The `aiosim` command: list, run, explore, replay, litmus, demo.
 *
 * `main(argv, io)` returns the exit status: 0 when nothing was violated (and a search, if any,
 * was complete), 1 when a violation was found, 2 for bad usage or input (one line on stderr),
 * 3 when a search ended clean but incomplete, 130 after Ctrl-C, 70 for a defect of aiosim
 * itself. With `--json` a command prints exactly one JSON object.
 */
import { writeFileSync } from 'node:fs';
import { cac } from 'cac';
import { STRATEGIES, type Strategy } from '../check/explore.js';
import { replayToken } from '../check/replay.js';
import { runScenario } from '../check/runner.js';
import { decodeToken } from '../check/token.js';
import { type KernelConfig, NR_CPUS } from '../kernel/kernel.js';
import { MEMORY_MODELS, type MemoryModel } from '../kernel/memory.js';
import { DEMO_SCENARIO, INTRO_SCENARIO, scenarios } from '../scenarios/index.js';
import { chromeTrace } from '../trace/chrome.js';
import { columnView, markStoreLoadReordering } from '../trace/columns.js';
import type { TraceEvent } from '../trace/events.js';
import { htmlTimeline } from '../trace/html.js';
import type { TraceMeta } from '../trace/meta.js';
import { textLog } from '../trace/text.js';
import {
  choiceOption,
  cpusOption,
  intOption,
  MAX_PCT_DEPTH,
  MAX_SEED,
  MAX_WIDTH,
  minCpusOf,
  modelOption,
  outputOption,
  scenarioArg,
  seedOption,
  UsageError,
} from './args.js';
import { runExploreCommand } from './explore-cmd.js';
import { runLitmusCommand } from './litmus.js';

/** Where the command writes. */
export interface CliIo {
  out(s: string): void;
  err(s: string): void;
  isTTY: boolean;
}

const defaultIo: CliIo = {
  out: (s) => process.stdout.write(s),
  err: (s) => process.stderr.write(s),
  isTTY: process.stderr.isTTY === true,
};

/** Trace metadata for exporters. */
export function metaOf(
  scenario: string,
  config: KernelConfig,
  tasks: readonly { pid: number; name: string }[],
  choices: readonly number[],
  seed?: number,
): TraceMeta {
  const m: TraceMeta = {
    scenario,
    cpus: config.cpus,
    memoryModel: config.memoryModel,
    tasks: tasks.slice(),
    choices: choices.slice(),
  };
  if (seed !== undefined) m.seed = seed;
  return m;
}

/** The trace files a command was asked for, checked writable before the run. */
interface TraceFiles {
  trace?: string;
  html?: string;
}

function traceFiles(opts: Record<string, unknown>): TraceFiles {
  const files: TraceFiles = {};
  const trace = outputOption(opts.trace, 'trace');
  if (trace !== undefined) files.trace = trace;
  const html = outputOption(opts.html, 'html');
  if (html !== undefined) files.html = html;
  return files;
}

function writeFile(path: string, option: string, text: string): void {
  try {
    writeFileSync(path, text);
  } catch (e) {
    throw new UsageError(`--${option} ${path}: ${(e as Error).message}`);
  }
}

/** Writes the requested trace files. */
export function writeTraces(events: readonly TraceEvent[], meta: TraceMeta, files: TraceFiles): void {
  if (files.trace !== undefined)
    writeFile(files.trace, 'trace', `${JSON.stringify(chromeTrace(events, meta))}\n`);
  if (files.html !== undefined) writeFile(files.html, 'html', htmlTimeline(events, meta));
}

/**
 * Joins a value-taking option and a negative number after it (`--seed -1` → `--seed=-1`),
 * which the option parser would otherwise read as a flag `-1`; the value is then checked.
 */
function joinNegativeValues(argv: readonly string[], valued: ReadonlySet<string>): string[] {
  const out: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = argv[i + 1];
    if (valued.has(a) && next !== undefined && /^-\.?\d/.test(next)) {
      out.push(`${a}=${next}`);
      i++;
    } else out.push(a);
  }
  return out;
}

function jsonViolations(vs: readonly { kind: string; message: string; step: number }[]): object[] {
  return vs.map((v) => ({ kind: v.kind, message: v.message, step: v.step }));
}

function formatStats(stats: Readonly<Record<string, unknown>>): string {
  const keys = Object.keys(stats).sort();
  if (keys.length === 0) return '';
  return keys
    .map((k) => `  ${k}: ${typeof stats[k] === 'object' ? JSON.stringify(stats[k]) : String(stats[k])}`)
    .join('\n');
}

const DEMO_FIXES =
  'The fix is a full barrier between the store and the check:\n' +
  '  npx aiosim explore wq-active-mb     # smp_mb(): every interleaving explored, no hang\n' +
  '  npx aiosim explore wq-has-sleeper   # the same through wq_has_sleeper()\n' +
  '  npx aiosim explore wq-active-wmb    # smp_wmb() is not enough: still hangs\n';

/** What the demo's run of the lost wake-up showed, told from what it found. */
export function demoNarration(hung: boolean, model: MemoryModel, seed: number): string {
  if (hung) {
    return (
      'What happened: CPU0 stored cond = 1, but the store was still in its store buffer when it\n' +
      'read the wait queue (the row marked <==) and saw it empty, so it woke nobody. CPU1 then\n' +
      'queued itself and read cond from memory: still 0. It went to sleep, and no wake-up will\n' +
      `ever come. ${DEMO_FIXES}`
    );
  }
  if (model === 'sc') {
    return (
      'What happened: no wake-up was lost. Under sc every store is visible to every CPU at once, so\n' +
      'either CPU0 saw CPU1 on the wait queue and woke it, or CPU1 read cond = 1 and did not sleep.\n' +
      'The race needs a store buffer: `npx aiosim demo` runs it under tso, where it hangs.\n'
    );
  }
  return (
    `What happened: no wake-up was lost. This schedule (seed ${seed}) did not keep CPU0's store of\n` +
    'cond = 1 in its store buffer while both CPUs checked, so CPU0 saw CPU1 on the wait queue and\n' +
    `woke it, or CPU1 read cond = 1 and did not sleep. \`npx aiosim explore wq-active-race\n` +
    `--memory-model ${model}\` finds the schedules that lose it.\n`
  );
}

/** Exit status of a defect of aiosim itself (EX_SOFTWARE of sysexits.h). */
export const INTERNAL_ERROR = 70;

/** Runs the CLI. */
export async function main(argv: readonly string[], io: CliIo = defaultIo): Promise<number> {
  const cli = cac('aiosim');
  let status = 0;
  let ran = false;
  const action = (fn: (...a: never[]) => number | Promise<number>) => {
    return async (...args: never[]) => {
      ran = true;
      status = await fn(...args);
    };
  };

  cli
    .command('list', 'list the scenarios, one a line: name, fewest CPUs it runs on, title')
    .option('--json', 'print one JSON object')
    .action(
      action((opts: { json?: boolean }) => {
        if (opts.json === true) {
          io.out(
            `${JSON.stringify({ scenarios: scenarios.map((s) => ({ name: s.name, title: s.title, expect: s.expect ?? null, minCpus: minCpusOf(s), config: s.config ?? {} })) })}\n`,
          );
          return 0;
        }
        const w = Math.max(...scenarios.map((s) => s.name.length));
        for (const s of scenarios) io.out(`${s.name.padEnd(w)}  ${minCpusOf(s)}+ CPUs  ${s.title}\n`);
        return 0;
      }),
    );

  const runOpts = (c: ReturnType<typeof cli.command>) =>
    c
      .option('--seed <n>', `seed of the random Chooser (0 to ${MAX_SEED})`)
      .option('--cpus <n>', `number of CPUs (from the scenario's minimum, see 'aiosim list', to ${NR_CPUS})`)
      .option('--memory-model <m>', `memory model (${MEMORY_MODELS.join('|')})`)
      .option('--max-steps <n>', 'step budget')
      .option('--trace <file>', 'write a Chrome/Perfetto trace JSON', { type: [String] })
      .option('--html <file>', 'write a self-contained HTML timeline', { type: [String] })
      .option('--text', 'print the ftrace-like log instead of the CPU columns')
      .option('--width <n>', `column width of the CPU view (8 to ${MAX_WIDTH})`)
      .option('--json', 'print one JSON object');

  /** Checks a run's options (all of them, before anything runs or prints). */
  const runPlan = (name: string, opts: Record<string, unknown>) => {
    const s = scenarioArg(name);
    const seed = seedOption(opts.seed) ?? s.demoSeed ?? 1;
    const cpus = cpusOption(opts.cpus, s);
    const model = modelOption(opts.memoryModel);
    const maxSteps = intOption(opts.maxSteps, 'max-steps', 1) ?? 1_000_000;
    const width = intOption(opts.width, 'width', 8, MAX_WIDTH);
    const files = traceFiles(opts);
    const config: Partial<{ -readonly [K in keyof KernelConfig]: KernelConfig[K] }> = { trace: true };
    if (cpus !== undefined) config.cpus = cpus;
    if (model !== undefined) config.memoryModel = model;
    return { s, seed, maxSteps, width, files, config };
  };

  /** Runs a scenario once and prints it; returns the exit status and the run. */
  const doRun = (plan: ReturnType<typeof runPlan>, opts: Record<string, unknown>) => {
    const { s, seed, maxSteps, width, files, config } = plan;
    const r = runScenario(s, { config, seed, maxSteps, keepTrace: true });
    const meta = metaOf(s.name, r.config, r.tasks, r.choices, seed);
    writeTraces(r.events, meta, files);
    const violated = r.violations.length > 0;
    const code = violated ? 1 : 0;
    if (opts.json === true) {
      io.out(
        `${JSON.stringify({
          scenario: s.name,
          seed,
          status: r.status,
          simTimeNs: r.simTimeNs,
          steps: r.steps,
          violations: jsonViolations(r.violations),
          stats: r.stats,
          state: r.state,
          config: r.config,
        })}\n`,
      );
      return { code, r };
    }
    io.out(`${s.name}: ${s.title}\n`);
    io.out(
      `config: ${r.config.cpus} CPUs, memory model ${r.config.memoryModel}, ${r.config.timed ? 'timed' : 'untimed'}, seed ${seed}\n\n`,
    );
    if (opts.text === true) {
      io.out(textLog(r.events, meta));
    } else {
      const colOpts: Parameters<typeof columnView>[2] = {
        showStoreBuffers: r.config.memoryModel !== 'sc',
        mark: markStoreLoadReordering(),
      };
      if (width !== undefined) colOpts.width = width;
      io.out(columnView(r.events, meta, colOpts));
    }
    io.out(`\nstatus: ${r.status} after ${r.steps} steps, ${r.simTimeNs} ns simulated\n`);
    const st = formatStats({ ...r.stats, ...r.state });
    if (st !== '') io.out(`${st}\n`);
    for (const v of r.violations) io.out(`\nVIOLATION (${v.kind}) at step ${v.step}:\n${v.message}\n`);
    return { code, r };
  };

  runOpts(cli.command('run <scenario>', 'run a scenario once and show what every CPU did')).action(
    action((name: string, opts: Record<string, unknown>) => doRun(runPlan(name, opts), opts).code),
  );

  runOpts(
    cli.command(
      'demo',
      `show how to read a run (${INTRO_SCENARIO}), then the demo scenario (${DEMO_SCENARIO}): the lost wake-up`,
    ),
  ).action(
    action((opts: Record<string, unknown>) => {
      // The options apply to the demo scenario; --json prints its object alone.
      const plan = runPlan(DEMO_SCENARIO, opts);
      // The demo shows a run, whatever it found: its status is 0 (the hang is the point of it).
      if (opts.json === true) {
        doRun(plan, opts);
        return 0;
      }
      io.out('Part 1 of 2: how to read a run. Each column is a CPU, each row what it did at that step.\n\n');
      doRun(runPlan(INTRO_SCENARIO, {}), {});
      io.out('\nPart 2 of 2: the waitqueue_active lost wake-up.\n\n');
      const { r } = doRun(plan, opts);
      io.out(
        `\n${demoNarration(
          r.violations.some((v) => v.kind === 'hang'),
          r.config.memoryModel,
          plan.seed,
        )}`,
      );
      return 0;
    }),
  );

  cli
    .command('explore <scenario>', 'explore interleavings against the scenario invariants')
    .option('--strategy <s>', `${STRATEGIES.join('|')} (default exhaustive)`)
    .option('--runs <n>', 'executions (a cap for exhaustive)')
    .option('--preemption-bound <k>', 'preemption bound (exhaustive)')
    .option('--max-steps <n>', 'step bound per execution')
    .option('--memory-model <m>', `memory model (${MEMORY_MODELS.join('|')})`)
    .option('--cpus <n>', `number of CPUs (from the scenario's minimum, see 'aiosim list', to ${NR_CPUS})`)
    .option('--seed <n>', `seed (random, pct, fast-check; 0 to ${MAX_SEED})`)
    .option('--pct-depth <d>', `PCT bug depth (default 3, at most ${MAX_PCT_DEPTH})`)
    .option('--workers <n>', 'worker threads sharing the search (more than the cores are capped to them)')
    .option('--shard <i/N>', 'run share i of N of the search')
    .option('--all', 'keep going after the first violation')
    .option('--no-minimize', 'report violations as found, without shrinking')
    .option('--check-determinism', 'replay each failing schedule and diff the traces')
    .option('--time-limit <s>', 'stop after this many seconds (default 60; 0: none)')
    .option('--quiet', 'no progress lines on stderr')
    .option('--json', 'print one JSON object')
    .action(
      action(async (name: string, opts: Record<string, unknown>) => {
        const s = scenarioArg(name);
        const strategy = choiceOption<Strategy>(opts.strategy, 'strategy', STRATEGIES) ?? 'exhaustive';
        return runExploreCommand(s, strategy, opts, io);
      }),
    );

  cli
    .command('replay <token>', 'run a replay token again and show the failure')
    .option('--trace <file>', 'write a Chrome/Perfetto trace JSON', { type: [String] })
    .option('--html <file>', 'write a self-contained HTML timeline', { type: [String] })
    .option('--text', 'print the ftrace-like log instead of the CPU columns')
    .option('--width <n>', `column width of the CPU view (8 to ${MAX_WIDTH})`)
    .option('--json', 'print one JSON object')
    .action(
      action((token: string, opts: Record<string, unknown>) => {
        let t: ReturnType<typeof decodeToken>;
        try {
          t = decodeToken(String(token));
        } catch (e) {
          throw new UsageError((e as Error).message);
        }
        const s = scenarioArg(t.scenario);
        const width = intOption(opts.width, 'width', 8, MAX_WIDTH);
        const files = traceFiles(opts);
        const outcome = replayToken(s, t, { config: { trace: true }, keepTrace: true });
        if (outcome.diverged) throw new UsageError(outcome.message);
        const r = outcome.report;
        const meta = metaOf(s.name, r.config, r.tasks, r.choices);
        writeTraces(r.events, meta, files);
        const violated = r.violations.length > 0;
        if (opts.json === true) {
          io.out(
            `${JSON.stringify({ scenario: s.name, status: r.status, steps: r.steps, simTimeNs: r.simTimeNs, violations: jsonViolations(r.violations), state: r.state, choices: r.choices })}\n`,
          );
          return violated ? 1 : 0;
        }
        io.out(
          `replay of ${s.name} (${r.config.cpus} CPUs, ${r.config.memoryModel}): ${r.choices.length} choices\n\n`,
        );
        if (opts.text === true) io.out(textLog(r.events, meta));
        else {
          const colOpts: Parameters<typeof columnView>[2] = {
            showStoreBuffers: r.config.memoryModel !== 'sc',
            mark: markStoreLoadReordering(),
          };
          if (width !== undefined) colOpts.width = width;
          io.out(columnView(r.events, meta, colOpts));
        }
        io.out(`\nstatus: ${r.status} after ${r.steps} steps\n`);
        for (const v of r.violations) io.out(`\nVIOLATION (${v.kind}) at step ${v.step}:\n${v.message}\n`);
        return violated ? 1 : 0;
      }),
    );

  cli
    .command('litmus [...files]', 'run herd7 C litmus tests exhaustively under a memory model')
    .option('--memory-model <m>', `memory model (${MEMORY_MODELS.join('|')}, default tso)`)
    .option('--time-limit <s>', 'stop each search when this many seconds have passed (default: none)')
    .option('--json', 'print one JSON object')
    .action(action((files: string[], opts: Record<string, unknown>) => runLitmusCommand(files, opts, io)));

  cli.command('help [command]', 'show the help of a command (or this list) and exit').action(
    action((name: unknown) => {
      if (name === undefined) {
        cli.globalCommand.outputHelp();
        return 0;
      }
      const c = cli.commands.find((cmd) => cmd.name !== 'help' && cmd.isMatched(String(name)));
      if (c === undefined)
        throw new UsageError(`help: unknown command '${String(name)}' (see 'aiosim help')`);
      c.outputHelp();
      return 0;
    }),
  );

  cli.help();
  cli.version('0.1.0');

  // Flags as typed (`--max-steps`): cac's option names are camel-cased.
  const valued = new Set(
    cli.commands.flatMap((c) =>
      c.options.filter((o) => o.required !== undefined).flatMap((o) => o.rawName.match(/--[\w-]+/g) ?? []),
    ),
  );
  try {
    cli.parse(['node', 'aiosim', ...joinNegativeValues(argv, valued)], { run: false });
    if (cli.options.help === true || cli.options.version === true) return 0;
    if (cli.matchedCommand === undefined) {
      if (argv.length === 0) {
        cli.outputHelp();
        return 2;
      }
      throw new UsageError(`unknown command '${argv[0]}' (see 'aiosim --help')`);
    }
    await cli.runMatchedCommand();
  } catch (e) {
    const isUsage = e instanceof UsageError || (e instanceof Error && e.name === 'CACError');
    if (isUsage) {
      io.err(`aiosim: ${(e as Error).message}\n`);
      return 2;
    }
    // Not the input's fault: a defect of aiosim, reported with its stack, never as status 1.
    io.err(`aiosim: internal error: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
    return INTERNAL_ERROR;
  }
  return ran ? status : 2;
}
