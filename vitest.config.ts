import { defineConfig } from 'vitest/config';

export default defineConfig({
  // Pothos and Yoga load graphql's CommonJS build; tests must share that one copy.
  resolve: { alias: { graphql: 'graphql/index.js' } },
  test: {
    include: ['test/**/*.test.ts'],
    testTimeout: 30_000,
    hookTimeout: 60_000,
    pool: 'forks',
    // Two cores: more workers only make the PGlite start-ups fight.
    maxWorkers: 2,
    fileParallelism: true,
    reporters: ['default'],
  },
});
