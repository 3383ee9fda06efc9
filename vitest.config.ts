import { defineConfig } from 'vitest/config';

// One GPU device per worker; lavapipe has 2 cores, so tests run in one fork, files in sequence.
export default defineConfig({
  test: {
    include: ['test/**/*.test.ts'],
    pool: 'forks',
    fileParallelism: false,
    testTimeout: 120_000,
    hookTimeout: 120_000,
  },
});
