import { defineConfig } from 'vitest/config';

// CI asks for a JSON report next to the default one (its path in AIOSIM_VITEST_JSON).
const json = process.env.AIOSIM_VITEST_JSON;

export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    setupFiles: ['test/setup.ts'],
    testTimeout: 120_000,
    hookTimeout: 120_000,
    pool: 'forks',
    reporters: json !== undefined && json !== '' ? ['default', ['json', { outputFile: json }]] : ['default'],
  },
});
