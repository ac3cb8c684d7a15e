import { defineConfig } from 'vitest/config';

// `npm run test:faults`: the reliability suite (test/faults). One file at a time: each case starts its own
// processes (bot, workers, Redis, sometimes PostgreSQL) on a two-core machine. FAULTS_QUICK=1 is the CI form.
export default defineConfig({
  test: {
    include: ['test/faults/**/*.test.ts'],
    fileParallelism: false,
    maxWorkers: 1,
    testTimeout: 20 * 60_000,
    hookTimeout: 5 * 60_000,
    globalSetup: ['test/global-setup.ts', 'test/faults/global-setup.ts'],
  },
});
