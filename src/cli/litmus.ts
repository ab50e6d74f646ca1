/**
 * `aiosim litmus <files...>`: parses herd7 C litmus tests and runs each exhaustively, within
 * `--time-limit` if given. Exit status 3 when a test's search was cut (its verdict then covers
 * only the executions explored).
 */
import { readFileSync } from 'node:fs';
import type { LitmusTest } from '../check/litmus/ast.js';
import { LitmusParseError, parseLitmus } from '../check/litmus/parse.js';
import { LitmusRunError, litmusStateKey, runLitmus } from '../check/litmus/run.js';
import { modelOption, UsageError } from './args.js';
import { timeLimitOption } from './explore-cmd.js';
import type { CliIo } from './main.js';

/** Runs the litmus command. */
export function runLitmusCommand(files: readonly string[], opts: Record<string, unknown>, io: CliIo): number {
  if (files.length === 0) throw new UsageError('litmus: name at least one .litmus file');
  const model = modelOption(opts.memoryModel) ?? 'tso';
  const tests: { file: string; test: LitmusTest }[] = [];
  for (const file of files) {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new UsageError(`litmus: cannot read ${file}: ${(e as Error).message}`);
    }
    try {
      tests.push({ file, test: parseLitmus(text, file) });
    } catch (e) {
      if (e instanceof LitmusParseError) throw new UsageError(e.message);
      throw e;
    }
  }
  const limit = timeLimitOption(opts.timeLimit);
  const deadline = limit !== undefined ? Date.now() + limit : undefined;
  const results = tests.map(({ file, test }) => {
    const t0 = performance.now();
    try {
      const r = runLitmus(test, model, undefined, deadline);
      return { file, r, ms: performance.now() - t0 };
    } catch (e) {
      if (e instanceof LitmusRunError) throw new UsageError(`${file}:${e.line}: ${e.message}`);
      throw e;
    }
  });
  const status = results.every(({ r }) => r.complete) ? 0 : 3;
  if (opts.json === true) {
    io.out(
      `${JSON.stringify({
        memoryModel: model,
        results: results.map(({ file, r, ms }) => ({
          file,
          name: r.name,
          verdict: r.verdict,
          expected: r.expected ?? null,
          states: r.states,
          executions: r.executions,
          deadlocks: r.deadlocks,
          complete: r.complete,
          cutBy: r.cutBy ?? null,
          elapsedMs: Math.round(ms * 1000) / 1000,
        })),
      })}\n`,
    );
    return status;
  }
  for (const { file, r, ms } of results) {
    io.out(
      `${r.name} (${file}) under ${model}: ${r.verdict}` +
        `${r.expected !== undefined ? ` (LKMM: ${r.expected})` : ''}; ${r.executions} executions, ` +
        `${r.complete ? 'complete' : `incomplete (cut by ${r.cutBy === 'time-limit' ? 'the time limit' : 'the execution cap'})`}, ${ms.toFixed(1)} ms\n`,
    );
    for (const s of r.states) io.out(`  ${litmusStateKey(s)}\n`);
  }
  return status;
}
