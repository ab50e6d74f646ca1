/**
 * A failure's signature: what makes two failures the same one. The fuzzer reports each
 * signature once, and shrinks a failing program only towards programs failing with it.
 */

import type { Failure } from './interp.js';

/** The failure's kind and message with its numbers (decimal, hexadecimal, fractional) taken out. */
export function signature(f: Failure): string {
  return `${f.kind}: ${f.message.replace(/0x[0-9a-f]+|\d+(\.\d+)?/gi, 'N')}`;
}
