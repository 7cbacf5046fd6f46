import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { corrupt } from '../helpers/corrupt-snapshots.js';
import { recentSamples } from '../helpers/fixtures.js';
import { hostViews, referenceViews } from '../helpers/reference.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { tempDir } from '../helpers/service-process.js';
import { soakSize } from '../helpers/soak.js';

/**
 * Starts over damaged copies: 400 under `npm run test:soak` (test/helpers/soak.ts). 60 under
 * `npm test` still fall back ~35 times (a damage lands in the newest of 3 generations in about
 * 6 starts of 10) and pass over ~180 damages of every kind.
 */
const ROUNDS = soakSize(60, 400);
/**
 * corrupt() makes 1 to 5 damages a start, uniformly: 3 on average, variance 2. The floor is
 * that mean less 4 standard deviations, so a seed fails it about once in 30,000 runs whatever
 * the size (2.27 a start at 60 rounds, 2.48 at 120, 2.72 at 400), yet a corrupt() that made one
 * damage a start, or none, fails it every time.
 */
const MIN_CORRUPTIONS = Math.floor(3 * ROUNDS - 4 * Math.sqrt(2 * ROUNDS));

const silent = createLogger('silent');
const config = (dataDir: string) => loadConfig({ env: {}, flags: { dataDir, port: 0, snapshotGenerations: 3 } });

describe('damaged snapshots: the service always starts, falls back, and ends with the reference state', () => {
  const root = tempDir();
  const pristine = join(root.path, 'pristine');
  // Every fourth real message: enough for every plugin to hold state, small enough for hundreds of rounds.
  const messages = recentSamples(Math.floor(Date.now() / 1000)).filter((_, i) => i % 4 === 0);
  let want: ReturnType<typeof referenceViews>;

  beforeAll(async () => {
    // Four snapshots over the stream, so the three generations kept differ and the journal spans them all.
    const service = await Service.build({ config: config(pristine), logger: silent });
    const quarter = Math.ceil(messages.length / 4);
    for (let q = 0; q < 4; q++) {
      for (const m of messages.slice(q * quarter, (q + 1) * quarter)) service.accept(m as never);
      await service.snapshot();
    }
    await service.stop();
    want = referenceViews(messages as never);
  });
  afterAll(() => root.remove());

  it(`starts ${ROUNDS} times over at least ${MIN_CORRUPTIONS} random corruptions of stored snapshot values`, async () => {
    const seed = Number(process.env['CORRUPTION_SEED'] ?? Date.now() % 100_000);
    // Seeded, so a failing corruption can be reproduced from the printed seed.
    const random = mulberry32(seed);
    let fellBack = 0;
    let startedEmpty = 0;
    let corruptions = 0;
    for (let round = 0; round < ROUNDS; round++) {
      const dir = join(root.path, `r${round}`);
      mkdirSync(dir);
      cpSync(pristine, dir, { recursive: true });
      const damage = await corrupt(dir, random);
      corruptions += damage.length;
      let service: Service;
      try {
        // Values are damaged through LMDB itself, so the file stays sound: the file check (a child process per start) would only add minutes.
        service = await Service.build({ config: config(dir), logger: silent, checkDataFile: false });
      } catch (err) {
        throw new Error(
          `seed ${seed}, round ${round}, damage ${damage.join(', ')}: start failed: ${(err as Error).message}`,
        );
      }
      await service.recover();
      if (service.restored.fallbacks.length > 0) fellBack++;
      if (service.restored.meta === null) startedEmpty++;
      const got = hostViews(service.host);
      for (const [ident, rows] of want) {
        if (JSON.stringify(got.get(ident)) !== JSON.stringify(rows)) {
          throw new Error(
            `seed ${seed}, round ${round}, damage ${damage.join(', ')}: plugin ${ident} differs from the reference`,
          );
        }
      }
      await service.close();
      rmSync(dir, { recursive: true, force: true });
    }
    console.log(
      `corruption seed ${seed}: ${ROUNDS} starts, ${corruptions} corruptions, ${fellBack} fell back to an older generation, ${startedEmpty} rebuilt from the journal alone`,
    );
    expect(corruptions).toBeGreaterThanOrEqual(MIN_CORRUPTIONS);
    expect(fellBack).toBeGreaterThan(ROUNDS / 4);
  }, 240_000);
});
