import { cpSync, mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeChecked, encodeChecked } from '../../snapshots/codec.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { hostViews, referenceViews } from '../helpers/reference.js';
import { mulberry32 } from '../helpers/seeded-random.js';
import { tempDir } from '../helpers/service-process.js';

const silent = createLogger('silent');
const config = (dataDir: string) => loadConfig({ env: {}, flags: { dataDir, port: 0, snapshotGenerations: 3 } });

type Corruption = 'bitflip' | 'truncate' | 'garbage' | 'future-format' | 'delete' | 'drop-meta';
const KINDS: Corruption[] = ['bitflip', 'truncate', 'garbage', 'future-format', 'delete', 'drop-meta'];

async function corrupt(dir: string, random: () => number): Promise<string[]> {
  const store = new DataStore(dir);
  const done: string[] = [];
  const slots = store.slots();
  // One to five damages per start, often in every generation at once.
  const count = 1 + Math.floor(random() * 5);
  for (let n = 0; n < count; n++) {
    const slot = slots[Math.floor(random() * slots.length)] as number;
    const entries = [...store.slotRaw(slot)];
    const kind = KINDS[Math.floor(random() * KINDS.length)] as Corruption;
    // slotRaw yields the meta record first.
    const target =
      kind === 'future-format' || kind === 'drop-meta' ? entries[0] : entries[Math.floor(random() * entries.length)];
    if (!target) continue;
    const bytes = Buffer.from(target.value);
    switch (kind) {
      case 'bitflip': {
        const at = Math.floor(random() * bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(random() * 8));
        await store.putRaw(target.key, bytes);
        break;
      }
      case 'truncate':
        await store.putRaw(target.key, bytes.subarray(0, Math.floor(random() * bytes.length)));
        break;
      case 'garbage':
        await store.putRaw(
          target.key,
          Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256))),
        );
        break;
      case 'future-format': {
        let meta: Record<string, unknown>;
        try {
          meta = decodeChecked(bytes) as Record<string, unknown>;
        } catch {
          // An earlier damage this round already hit this record: it stays as that one left it.
          continue;
        }
        await store.putRaw(target.key, encodeChecked({ ...meta, format: 99 }));
        break;
      }
      case 'delete':
      case 'drop-meta':
        await store.removeRaw(target.key);
        break;
    }
    done.push(`${kind}@slot${slot}:${JSON.stringify(target.key).slice(0, 80)}`);
  }
  await store.close();
  return done;
}

describe('damaged snapshots: the service always starts, falls back, and ends with the reference state', () => {
  const root = tempDir();
  const pristine = join(root.path, 'pristine');
  // Every fourth real message: enough for every plugin to hold state, small enough for 1,000 rounds.
  const messages = recentSamples(Math.floor(Date.now() / 1000)).filter((_, i) => i % 4 === 0);
  let want: ReturnType<typeof referenceViews>;

  beforeAll(async () => {
    // Four snapshots over the stream, so the three generations kept differ and the journal spans them all.
    const service = Service.build({ config: config(pristine), logger: silent });
    const quarter = Math.ceil(messages.length / 4);
    for (let q = 0; q < 4; q++) {
      for (const m of messages.slice(q * quarter, (q + 1) * quarter)) service.accept(m as never);
      await service.snapshot();
    }
    await service.stop();
    want = referenceViews(messages as never);
  });
  afterAll(() => root.remove());

  it('starts 400 times over at least 1,000 random corruptions of stored snapshot values', async () => {
    const seed = Number(process.env['CORRUPTION_SEED'] ?? Date.now() % 100_000);
    // Seeded, so a failing corruption can be reproduced from the printed seed.
    const random = mulberry32(seed);
    let fellBack = 0;
    let startedEmpty = 0;
    let corruptions = 0;
    for (let round = 0; round < 400; round++) {
      const dir = join(root.path, `r${round}`);
      mkdirSync(dir);
      cpSync(pristine, dir, { recursive: true });
      const damage = await corrupt(dir, random);
      corruptions += damage.length;
      let service: Service;
      try {
        // Values are damaged through LMDB itself, so the file stays sound: the file check (a child process per start) would only add minutes.
        service = Service.build({ config: config(dir), logger: silent, checkDataFile: false });
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
      `corruption seed ${seed}: 400 starts, ${corruptions} corruptions, ${fellBack} fell back to an older generation, ${startedEmpty} rebuilt from the journal alone`,
    );
    expect(corruptions).toBeGreaterThanOrEqual(1000);
    expect(fellBack).toBeGreaterThan(100);
  }, 240_000);
});
