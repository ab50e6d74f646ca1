#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// A reader that stops early (`aiosim list | head`) ends the output, not with an error.
process.stdout.on('error', (e) => {
  if (e.code !== 'EPIPE') throw e;
  process.exit(process.exitCode ?? 0);
});
process.exitCode = await main(process.argv.slice(2));
