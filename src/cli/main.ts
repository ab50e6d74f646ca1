/**
 * The `aiosim` command (DESIGN §6): list, run, explore, replay, litmus, demo.
 *
 * `main(argv, io)` returns the exit status: 0 when nothing was violated (and a search, if any,
 * was complete), 1 when a violation was found, 2 for bad usage or input, 3 when a search ended
 * clean but incomplete, 130 after Ctrl-C. With `--json` a command prints exactly one JSON object.
 */
import { writeFileSync } from 'node:fs';
import { cac } from 'cac';
import { STRATEGIES, type Strategy } from '../check/explore.js';
import { replayToken } from '../check/replay.js';
import { runScenario } from '../check/runner.js';
import type { Scenario } from '../check/scenario.js';
import { decodeToken } from '../check/token.js';
import type { KernelConfig } from '../kernel/kernel.js';
import { MEMORY_MODELS, type MemoryModel } from '../kernel/memory.js';
import { DEMO_SCENARIO, findScenario, INTRO_SCENARIO, scenarios } from '../scenarios/index.js';
import { chromeTrace } from '../trace/chrome.js';
import { columnView, markStoreLoadReordering } from '../trace/columns.js';
import type { TraceEvent } from '../trace/events.js';
import { htmlTimeline } from '../trace/html.js';
import type { TraceMeta } from '../trace/meta.js';
import { textLog } from '../trace/text.js';
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

/** A usage error: printed with the help hint, exit status 2. */
export class UsageError extends Error {}

/** Parses an integer option, throwing a UsageError that names it. */
export function intOption(v: unknown, name: string, min = 0): number | undefined {
  if (v === undefined) return undefined;
  const n = typeof v === 'number' ? v : Number(v);
  if (!Number.isInteger(n) || n < min)
    throw new UsageError(`--${name} must be an integer >= ${min}, got '${String(v)}'`);
  return n;
}

/** Parses `--memory-model`. */
export function modelOption(v: unknown): MemoryModel | undefined {
  if (v === undefined) return undefined;
  if (!MEMORY_MODELS.includes(v as MemoryModel)) {
    throw new UsageError(`--memory-model must be one of ${MEMORY_MODELS.join(', ')}, got '${String(v)}'`);
  }
  return v as MemoryModel;
}

/** Looks a scenario up or throws a UsageError listing the names. */
export function scenarioArg(name: unknown): Scenario {
  const s = typeof name === 'string' ? findScenario(name) : undefined;
  if (s === undefined) {
    throw new UsageError(`unknown scenario '${String(name)}' (see 'aiosim list')`);
  }
  return s;
}

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

/** Writes the requested trace files. */
export function writeTraces(
  events: readonly TraceEvent[],
  meta: TraceMeta,
  opts: { trace?: string; html?: string },
): void {
  if (opts.trace !== undefined) writeFileSync(opts.trace, `${JSON.stringify(chromeTrace(events, meta))}\n`);
  if (opts.html !== undefined) writeFileSync(opts.html, htmlTimeline(events, meta));
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
    .command('list', 'list the scenarios, one a line, each line starting with its name')
    .option('--json', 'print one JSON object')
    .action(
      action((opts: { json?: boolean }) => {
        if (opts.json === true) {
          io.out(
            `${JSON.stringify({ scenarios: scenarios.map((s) => ({ name: s.name, title: s.title, expect: s.expect ?? null, config: s.config ?? {} })) })}\n`,
          );
          return 0;
        }
        const w = Math.max(...scenarios.map((s) => s.name.length));
        for (const s of scenarios) io.out(`${s.name.padEnd(w)}  ${s.title}\n`);
        return 0;
      }),
    );

  const runOpts = (c: ReturnType<typeof cli.command>) =>
    c
      .option('--seed <n>', 'seed of the random Chooser')
      .option('--cpus <n>', 'number of CPUs')
      .option('--memory-model <m>', `memory model (${MEMORY_MODELS.join('|')})`)
      .option('--max-steps <n>', 'step budget')
      .option('--trace <file>', 'write a Chrome/Perfetto trace JSON')
      .option('--html <file>', 'write a self-contained HTML timeline')
      .option('--text', 'print the ftrace-like log instead of the CPU columns')
      .option('--width <n>', 'column width of the CPU view')
      .option('--json', 'print one JSON object');

  const doRun = (name: string, opts: Record<string, unknown>): number => {
    const s = scenarioArg(name);
    const seed = intOption(opts.seed, 'seed') ?? s.demoSeed ?? 1;
    const cpus = intOption(opts.cpus, 'cpus', 1);
    const model = modelOption(opts.memoryModel);
    const maxSteps = intOption(opts.maxSteps, 'max-steps', 1) ?? 1_000_000;
    const width = intOption(opts.width, 'width', 8);
    const config: Partial<{ -readonly [K in keyof KernelConfig]: KernelConfig[K] }> = { trace: true };
    if (cpus !== undefined) config.cpus = cpus;
    if (model !== undefined) config.memoryModel = model;
    const r = runScenario(s, { config, seed, maxSteps, keepTrace: true });
    const meta = metaOf(s.name, r.config, r.tasks, r.choices, seed);
    writeTraces(r.events, meta, opts as { trace?: string; html?: string });
    const violated = r.violations.length > 0;
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
      return violated ? 1 : 0;
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
    return violated ? 1 : 0;
  };

  runOpts(cli.command('run <scenario>', 'run a scenario once and show what every CPU did')).action(
    action((name: string, opts: Record<string, unknown>) => doRun(name, opts)),
  );

  runOpts(
    cli.command(
      'demo',
      `show how to read a run (${INTRO_SCENARIO}), then the demo scenario (${DEMO_SCENARIO}): the lost wake-up`,
    ),
  ).action(
    action((opts: Record<string, unknown>) => {
      // --json prints the demo scenario's object alone; the options apply to the demo scenario.
      if (opts.json === true) return doRun(DEMO_SCENARIO, opts);
      io.out('Part 1 of 2: how to read a run. Each column is a CPU, each row what it did at that step.\n\n');
      doRun(INTRO_SCENARIO, {});
      io.out('\nPart 2 of 2: the waitqueue_active lost wake-up.\n\n');
      const st = doRun(DEMO_SCENARIO, opts);
      io.out(
        '\nWhat happened: CPU0 stored cond = 1, but the store was still in its store buffer when it\n' +
          'read the wait queue (the row marked <==) and saw it empty, so it woke nobody. CPU1 then\n' +
          'queued itself and read cond from memory: still 0. It went to sleep, and no wake-up will\n' +
          'ever come. The fix is a full barrier between the store and the check:\n' +
          '  npx aiosim explore wq-active-mb     # smp_mb(): every interleaving explored, no hang\n' +
          '  npx aiosim explore wq-has-sleeper   # the same through wq_has_sleeper()\n' +
          '  npx aiosim explore wq-active-wmb    # smp_wmb() is not enough: still hangs\n',
      );
      // The demo is meant to show the hang: finding it is success, not finding it a failure.
      return st === 1 ? 0 : 1;
    }),
  );

  cli
    .command('explore <scenario>', 'explore interleavings against the scenario invariants')
    .option('--strategy <s>', `${STRATEGIES.join('|')} (default exhaustive)`)
    .option('--runs <n>', 'executions (a cap for exhaustive)')
    .option('--preemption-bound <k>', 'preemption bound (exhaustive)')
    .option('--max-steps <n>', 'step bound per execution')
    .option('--memory-model <m>', `memory model (${MEMORY_MODELS.join('|')})`)
    .option('--cpus <n>', 'number of CPUs')
    .option('--seed <n>', 'seed (random, pct, fast-check)')
    .option('--pct-depth <d>', 'PCT bug depth (default 3)')
    .option('--workers <n>', 'worker threads sharing the search')
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
        const strategy = (opts.strategy ?? 'exhaustive') as Strategy;
        if (!STRATEGIES.includes(strategy)) {
          throw new UsageError(
            `--strategy must be one of ${STRATEGIES.join(', ')}, got '${String(opts.strategy)}'`,
          );
        }
        return runExploreCommand(s, strategy, opts, io);
      }),
    );

  cli
    .command('replay <token>', 'run a replay token again and show the failure')
    .option('--trace <file>', 'write a Chrome/Perfetto trace JSON')
    .option('--html <file>', 'write a self-contained HTML timeline')
    .option('--text', 'print the ftrace-like log instead of the CPU columns')
    .option('--width <n>', 'column width of the CPU view')
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
        const width = intOption(opts.width, 'width', 8);
        const outcome = replayToken(s, t, { config: { trace: true }, keepTrace: true });
        if (outcome.diverged) throw new UsageError(outcome.message);
        const r = outcome.report;
        const meta = metaOf(s.name, r.config, r.tasks, r.choices);
        writeTraces(r.events, meta, opts as { trace?: string; html?: string });
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

  cli.help();
  cli.version('0.1.0');

  try {
    cli.parse(['node', 'aiosim', ...argv], { run: false });
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
    throw e;
  }
  return ran ? status : 2;
}
