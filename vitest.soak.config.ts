import { defineConfig } from 'vitest/config';

/**
 * `npm run test:soak`: the long randomized runs at full size (test/helpers/soak.ts) and the
 * load runs too slow for `npm test` (test/soak/*.soak.ts). .ci/run runs it after `npm test`.
 */
export default defineConfig({
  test: {
    include: [
      'test/soak/**/*.soak.ts',
      'test/recovery/check-and-read.test.ts',
      'test/recovery/crash-recovery.test.ts',
      'test/recovery/served-durable.test.ts',
      'test/recovery/snapshot-corruption.test.ts',
      'test/plugins/memory.test.ts',
    ],
    env: { STATSCACHE_SOAK: '1' },
    testTimeout: 300_000,
    hookTimeout: 150_000,
    maxWorkers: 2,
  },
});
