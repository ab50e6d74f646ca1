/**
 * Validation of command-line values: every bad value becomes a {@link UsageError} whose one-line
 * message names the option, the accepted range and what was given (the command exits 2).
 */
import { accessSync, constants, statSync } from 'node:fs';
import { availableParallelism } from 'node:os';
import { dirname } from 'node:path';
import type { Scenario } from '../check/scenario.js';
import { NR_CPUS } from '../kernel/kernel.js';
import { MEMORY_MODELS, type MemoryModel } from '../kernel/memory.js';
import { findScenario } from '../scenarios/index.js';

/** A usage error: printed as one line, exit status 2. */
export class UsageError extends Error {}

/** Seeds are 32-bit unsigned integers (negative ones are refused, not wrapped). */
export const MAX_SEED = 0xffff_ffff;
/** Widest CPU column the view accepts (wider only builds huge blank lines). */
export const MAX_WIDTH = 1000;
/** Deepest PCT bug depth: depth - 1 change points are drawn per run and tested at every step. */
export const MAX_PCT_DEPTH = 100;

/** The raw value of a once-only option, refusing a repeated or value-less one. */
function single(v: unknown, name: string): unknown {
  if (Array.isArray(v)) throw new UsageError(`--${name} given more than once`);
  if (v === true || v === false || v === '') throw new UsageError(`--${name} needs a value`);
  return v;
}

/** Parses an integer option in [min, max], throwing a UsageError that names it. */
export function intOption(
  v: unknown,
  name: string,
  min = 0,
  max = Number.MAX_SAFE_INTEGER,
): number | undefined {
  if (v === undefined) return undefined;
  const raw = single(v, name);
  const n = typeof raw === 'number' ? raw : Number.NaN;
  if (!Number.isInteger(n) || n < min || n > max) {
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `from ${min} to ${max}`;
    throw new UsageError(`--${name} must be an integer ${range}, got '${String(raw)}'`);
  }
  return n;
}

/** Parses `--seed`: a 32-bit unsigned integer. */
export function seedOption(v: unknown): number | undefined {
  return intOption(v, 'seed', 0, MAX_SEED);
}

/** The fewest CPUs `s` runs on: its pinned tasks name CPUs up to `minCpus - 1`. */
export function minCpusOf(s: Scenario): number {
  return s.minCpus ?? 1;
}

/** Parses `--cpus` for scenario `s`: from the scenario's minimum to the kernel's `NR_CPUS`. */
export function cpusOption(v: unknown, s: Scenario): number | undefined {
  const n = intOption(v, 'cpus', 1, NR_CPUS);
  const need = minCpusOf(s);
  if (n !== undefined && n < need) {
    throw new UsageError(
      `--cpus ${n}: scenario '${s.name}' needs at least ${need} CPUs (it pins tasks to CPU${need - 1})`,
    );
  }
  return n;
}

/**
 * Parses `--workers`: at least 1; more than the cores available are capped to them (threads
 * beyond the cores only share the same cores), with a note through `note`.
 */
export function workersOption(v: unknown, note: (s: string) => void): number | undefined {
  const n = intOption(v, 'workers', 1);
  const cores = availableParallelism();
  if (n !== undefined && n > cores) {
    note(`aiosim: --workers ${n} capped to ${cores}, the cores available\n`);
    return cores;
  }
  return n;
}

/** Parses `--memory-model`. */
export function modelOption(v: unknown): MemoryModel | undefined {
  if (v === undefined) return undefined;
  const raw = single(v, 'memory-model');
  if (!MEMORY_MODELS.includes(raw as MemoryModel)) {
    throw new UsageError(`--memory-model must be one of ${MEMORY_MODELS.join(', ')}, got '${String(raw)}'`);
  }
  return raw as MemoryModel;
}

/** Parses a choice among `allowed`. */
export function choiceOption<T extends string>(
  v: unknown,
  name: string,
  allowed: readonly T[],
): T | undefined {
  if (v === undefined) return undefined;
  const raw = single(v, name);
  if (!allowed.includes(raw as T)) {
    throw new UsageError(`--${name} must be one of ${allowed.join(', ')}, got '${String(raw)}'`);
  }
  return raw as T;
}

/**
 * Parses an output file option (declared with `type: [String]`, so its value is an array of
 * the strings given): refuses a directory or a place that cannot be written before any work.
 */
export function outputOption(v: unknown, name: string): string | undefined {
  if (v === undefined) return undefined;
  const all = Array.isArray(v) ? v : [v];
  if (all.length > 1) throw new UsageError(`--${name} given more than once`);
  const path = String(all[0] ?? '');
  if (path === '' || all[0] === true) throw new UsageError(`--${name} needs a file name`);
  let isDir = false;
  try {
    isDir = statSync(path).isDirectory();
  } catch {
    // Not there yet: the file is created.
  }
  if (isDir) throw new UsageError(`--${name} ${path}: is a directory`);
  const dir = dirname(path);
  try {
    accessSync(dir, constants.W_OK);
  } catch (e) {
    throw new UsageError(
      `--${name} ${path}: cannot write in '${dir}' (${(e as NodeJS.ErrnoException).code})`,
    );
  }
  return path;
}

/** Looks a scenario up or throws a UsageError pointing at the list. */
export function scenarioArg(name: unknown): Scenario {
  const s = typeof name === 'string' ? findScenario(name) : undefined;
  if (s === undefined) {
    throw new UsageError(`unknown scenario '${String(name)}' (see 'aiosim list')`);
  }
  return s;
}
