/**
 * Replay tokens: one copy-pasteable string that names a scenario, the config it ran with and
 * every choice taken, so `aiosim replay <token>` runs exactly the same execution again.
 *
 * Format: `aiosim2.<scenario>.<config>.<count>.<choices>.<check>` where
 * - `<config>` is `c<cpus>-<memoryModel>-<w24|wmo>-<t|u>[-i<irqAffinity>|-ia][-x<switchNs>][-nolockdep][-m<maxSteps>]`
 *   (`m` only when the recorded run was cut by its step bound, so the replay stops there too);
 * - `<count>` is the number of choices, in decimal;
 * - `<choices>` is every choice of the run, as unsigned LEB128 varints, base64url-encoded;
 * - `<check>` is the first 8 characters of the base64url SHA-256 of everything before it.
 *
 * Decoding accepts only what encoding produces: the checksum catches a truncated or altered
 * token, and each field is checked against the range the kernel accepts. Version-1 tokens
 * (`aiosim1.`, without count or checksum) are refused with a message saying so.
 */
import { createHash } from 'node:crypto';
import { DEFAULT_KERNEL_CONFIG, type KernelConfig } from '../kernel/kernel.js';
import { MEMORY_MODELS, type MemoryModel } from '../kernel/memory.js';

/** What a token holds. */
export interface ReplayToken {
  readonly scenario: string;
  readonly config: Partial<KernelConfig>;
  readonly choices: readonly number[];
  /** The step bound of the recorded run, when that bound ended it. */
  readonly maxSteps?: number;
}

/** A token that cannot be decoded: the message says why. */
export class TokenError extends Error {}

export const TOKEN_PREFIX = 'aiosim2';
/** Bounds of the fields (the kernel's own limits; a choice is an index among the enabled actions). */
const MAX_CPUS = 64;
const MAX_CHOICE = 0xffff_ffff;
const MAX_SWITCH_NS = 1_000_000_000_000;
const MAX_STEPS = 1_000_000_000;

function checksum(body: string): string {
  return createHash('sha256').update(body).digest('base64url').slice(0, 8);
}

/** Encodes a token; `maxSteps` is given when the step bound ended the recorded run. */
export function encodeToken(
  scenario: string,
  config: KernelConfig,
  choices: readonly number[],
  maxSteps?: number,
): string {
  if (!/^[a-z0-9-]+$/.test(scenario))
    throw new Error(`encodeToken: scenario name '${scenario}' must be [a-z0-9-]+`);
  const parts = [
    `c${config.cpus}`,
    config.memoryModel,
    config.wakeSemantics === 'modern' ? 'wmo' : 'w24',
    config.timed ? 't' : 'u',
  ];
  if (config.irqAffinity !== DEFAULT_KERNEL_CONFIG.irqAffinity)
    parts.push(config.irqAffinity < 0 ? 'ia' : `i${config.irqAffinity}`);
  if (config.switchNs !== DEFAULT_KERNEL_CONFIG.switchNs) parts.push(`x${config.switchNs}`);
  if (!config.lockdep) parts.push('nolockdep');
  if (maxSteps !== undefined) {
    if (!Number.isInteger(maxSteps) || maxSteps < 1 || maxSteps > MAX_STEPS)
      throw new Error(`encodeToken: maxSteps ${maxSteps} is not an integer in 1..${MAX_STEPS}`);
    parts.push(`m${maxSteps}`);
  }
  const bytes: number[] = [];
  for (const c of choices) {
    if (!Number.isInteger(c) || c < 0 || c > MAX_CHOICE)
      throw new Error(`encodeToken: choice ${c} is not a natural number up to ${MAX_CHOICE}`);
    let v = c;
    while (v >= 0x80) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
  }
  const body = `${TOKEN_PREFIX}.${scenario}.${parts.join('-')}.${choices.length}.${Buffer.from(bytes).toString('base64url')}`;
  return `${body}.${checksum(body)}`;
}

/** A decimal field without sign or leading zeros, within `0..max`. */
function natural(s: string, what: string, max: number): number {
  if (!/^(0|[1-9]\d*)$/.test(s) || Number(s) > max)
    throw new TokenError(`replay token: ${what} '${s}' is not an integer in 0..${max}`);
  return Number(s);
}

function decodeChoices(enc: string): number[] {
  if (!/^[A-Za-z0-9_-]*$/.test(enc)) throw new TokenError('replay token: choices are not base64url');
  const bytes = Buffer.from(enc, 'base64url');
  const choices: number[] = [];
  let v = 0;
  let mul = 1;
  let len = 0;
  for (const b of bytes) {
    len++;
    // Five 7-bit groups hold any 32-bit choice; a longer varint is not one encodeToken writes.
    if (len > 5) throw new TokenError(`replay token: choice ${choices.length} is longer than 5 bytes`);
    v += (b & 0x7f) * mul;
    if (b & 0x80) {
      mul *= 128;
      continue;
    }
    if (b === 0 && len > 1)
      throw new TokenError(`replay token: choice ${choices.length} is not minimally encoded`);
    if (v > MAX_CHOICE) throw new TokenError(`replay token: choice ${choices.length} is above ${MAX_CHOICE}`);
    choices.push(v);
    v = 0;
    mul = 1;
    len = 0;
  }
  if (len !== 0) throw new TokenError('replay token: the choice list is truncated');
  return choices;
}

/** Decodes a token; throws a TokenError saying what is wrong with it. */
export function decodeToken(token: string): ReplayToken {
  const t = token.trim();
  const parts = t.split('.');
  if (parts[0] === 'aiosim1') {
    throw new TokenError(
      `replay token: '${TOKEN_PREFIX}' tokens (with a checksum) replaced 'aiosim1' tokens; run the search again for a new token`,
    );
  }
  if (parts.length !== 6 || parts[0] !== TOKEN_PREFIX) {
    throw new TokenError(
      `not a replay token: expected '${TOKEN_PREFIX}.<scenario>.<config>.<count>.<choices>.<check>', got '${t.slice(0, 60)}'`,
    );
  }
  const [, scenario, cfg, count, enc, check] = parts as [string, string, string, string, string, string];
  if (checksum(parts.slice(0, 5).join('.')) !== check)
    throw new TokenError('replay token: checksum mismatch (the token was truncated or altered)');
  if (!/^[a-z0-9-]+$/.test(scenario)) throw new TokenError(`replay token: bad scenario name '${scenario}'`);
  const config: { -readonly [K in keyof KernelConfig]?: KernelConfig[K] } = {};
  const fields = cfg.split('-');
  const cpus = fields[0] ?? '';
  if (!cpus.startsWith('c')) throw new TokenError(`replay token: bad CPU field '${cpus}'`);
  config.cpus = natural(cpus.slice(1), 'CPU count', MAX_CPUS);
  if (config.cpus < 1) throw new TokenError(`replay token: CPU count 0 is not in 1..${MAX_CPUS}`);
  const mm = fields[1] as MemoryModel;
  if (!MEMORY_MODELS.includes(mm)) throw new TokenError(`replay token: unknown memory model '${fields[1]}'`);
  config.memoryModel = mm;
  if (fields[2] !== 'w24' && fields[2] !== 'wmo')
    throw new TokenError(`replay token: bad wake semantics '${fields[2]}'`);
  config.wakeSemantics = fields[2] === 'wmo' ? 'modern' : '2.4-aio';
  if (fields[3] !== 't' && fields[3] !== 'u')
    throw new TokenError(`replay token: bad timing field '${fields[3]}'`);
  config.timed = fields[3] === 't';
  let maxSteps: number | undefined;
  const seen = new Set<string>();
  for (const f of fields.slice(4)) {
    const key = f === 'ia' ? 'i' : f === 'nolockdep' ? f : f.slice(0, 1);
    if (seen.has(key)) throw new TokenError(`replay token: config field '${f}' repeats another`);
    seen.add(key);
    if (f === 'ia') config.irqAffinity = -1;
    else if (f === 'nolockdep') config.lockdep = false;
    else if (key === 'i') {
      config.irqAffinity = natural(f.slice(1), 'interrupt CPU', MAX_CPUS - 1);
      if (config.irqAffinity >= config.cpus)
        throw new TokenError(
          `replay token: interrupt CPU ${config.irqAffinity} is not one of the ${config.cpus} CPUs`,
        );
    } else if (key === 'x') config.switchNs = natural(f.slice(1), 'switch cost', MAX_SWITCH_NS);
    else if (key === 'm') {
      maxSteps = natural(f.slice(1), 'step bound', MAX_STEPS);
      if (maxSteps < 1) throw new TokenError(`replay token: step bound 0 is not in 1..${MAX_STEPS}`);
    } else throw new TokenError(`replay token: unknown config field '${f}'`);
  }
  const n = natural(count, 'choice count', Number.MAX_SAFE_INTEGER);
  const choices = decodeChoices(enc);
  if (choices.length !== n)
    throw new TokenError(`replay token: it says ${n} choices but holds ${choices.length}`);
  return { scenario, config, choices, ...(maxSteps !== undefined ? { maxSteps } : {}) };
}
