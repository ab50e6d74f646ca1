/** Runs the CLI in this process, capturing what it writes. */
import { type CliIo, main } from '../../src/cli/main.js';

/** What one in-process run of the CLI gave. */
export interface Ran {
  code: number;
  out: string;
  err: string;
}

/** Runs `aiosim <argv>` through `main`, with stdout and stderr captured (not a terminal). */
export async function cli(...argv: string[]): Promise<Ran> {
  let out = '';
  let err = '';
  const io: CliIo = {
    out: (s) => {
      out += s;
    },
    err: (s) => {
      err += s;
    },
    isTTY: false,
  };
  const code = await main(argv, io);
  return { code, out, err };
}
