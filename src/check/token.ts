/**
 * Replay tokens: one copy-pasteable string that names a scenario, the config it ran with and
 * every choice taken, so `aiosim replay <token>` runs exactly the same execution again.
 *
 * Format: `aiosim1.<scenario>.<config>.<choices>` where `<config>` is
 * `c<cpus>-<memoryModel>-<w24|wmo>-<t|u>[-i<irqAffinity>|-ia][-x<switchNs>][-nolockdep]` and
 * `<choices>` is the choice list as unsigned LEB128 varints, base64url-encoded.
 */
import { DEFAULT_KERNEL_CONFIG, type KernelConfig } from '../kernel/kernel.js';
import { MEMORY_MODELS, type MemoryModel } from '../kernel/memory.js';

/** What a token holds. */
export interface ReplayToken {
  readonly scenario: string;
  readonly config: Partial<KernelConfig>;
  readonly choices: readonly number[];
}

const PREFIX = 'aiosim1';

/** Encodes a token. */
export function encodeToken(scenario: string, config: KernelConfig, choices: readonly number[]): string {
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
  const bytes: number[] = [];
  for (const c of choices) {
    if (!Number.isInteger(c) || c < 0) throw new Error(`encodeToken: choice ${c} is not a natural number`);
    let v = c;
    while (v >= 0x80) {
      bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    bytes.push(v);
  }
  return `${PREFIX}.${scenario}.${parts.join('-')}.${Buffer.from(bytes).toString('base64url')}`;
}

/** Decodes a token; throws an Error saying what is wrong with it. */
export function decodeToken(token: string): ReplayToken {
  const t = token.trim();
  const parts = t.split('.');
  if (parts.length !== 4 || parts[0] !== PREFIX) {
    throw new Error(
      `not a replay token: expected '${PREFIX}.<scenario>.<config>.<choices>', got '${t.slice(0, 60)}'`,
    );
  }
  const [, scenario, cfg, enc] = parts as [string, string, string, string];
  const config: { -readonly [K in keyof KernelConfig]?: KernelConfig[K] } = {};
  const fields = cfg.split('-');
  const cpus = fields[0] ?? '';
  if (!/^c\d+$/.test(cpus)) throw new Error(`replay token: bad CPU field '${cpus}'`);
  config.cpus = Number(cpus.slice(1));
  const mm = fields[1] as MemoryModel;
  if (!MEMORY_MODELS.includes(mm)) throw new Error(`replay token: unknown memory model '${fields[1]}'`);
  config.memoryModel = mm;
  if (fields[2] !== 'w24' && fields[2] !== 'wmo')
    throw new Error(`replay token: bad wake semantics '${fields[2]}'`);
  config.wakeSemantics = fields[2] === 'wmo' ? 'modern' : '2.4-aio';
  if (fields[3] !== 't' && fields[3] !== 'u')
    throw new Error(`replay token: bad timing field '${fields[3]}'`);
  config.timed = fields[3] === 't';
  for (const f of fields.slice(4)) {
    if (f === 'ia') config.irqAffinity = -1;
    else if (/^i\d+$/.test(f)) config.irqAffinity = Number(f.slice(1));
    else if (/^x\d+$/.test(f)) config.switchNs = Number(f.slice(1));
    else if (f === 'nolockdep') config.lockdep = false;
    else throw new Error(`replay token: unknown config field '${f}'`);
  }
  if (!/^[A-Za-z0-9_-]*$/.test(enc)) throw new Error('replay token: choices are not base64url');
  const bytes = Buffer.from(enc, 'base64url');
  const choices: number[] = [];
  let v = 0;
  let mul = 1;
  for (const b of bytes) {
    v += (b & 0x7f) * mul;
    if (b & 0x80) {
      mul *= 128;
    } else {
      choices.push(v);
      v = 0;
      mul = 1;
    }
  }
  if (mul !== 1) throw new Error('replay token: the choice list is truncated');
  return { scenario, config, choices };
}
