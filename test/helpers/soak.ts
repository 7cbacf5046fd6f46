/**
 * Sizes of the long randomized runs. `npm test` runs each at a size that still reaches every
 * path it checks (a kill during replay, a fallback to an older generation…) and stays within
 * the suite's ~10 minutes on a 2-core box; `npm run test:soak` (STATSCACHE_SOAK=1, run by
 * .ci/run after `npm test`) runs the same tests at full size, plus test/soak/*.soak.ts.
 */
export const SOAK = process.env['STATSCACHE_SOAK'] === '1';

/** `quick` under `npm test`, `full` under `npm run test:soak`. */
export const soakSize = (quick: number, full: number): number => (SOAK ? full : quick);
