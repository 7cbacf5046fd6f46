import { defineConfig } from 'vitest/config';

/** `npm run test:cluster`: the whole deployment on loopback (test/cluster/), apart from `npm test`. */
export default defineConfig({
  test: {
    include: ['test/cluster/**/*.cluster.ts'],
    testTimeout: 180_000,
    hookTimeout: 60_000,
    maxWorkers: 1,
  },
});
