import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { DataStore, MAX_SLOTS } from '../../snapshots/lmdb-store.js';
import { quarantineAndSalvage } from '../../snapshots/quarantine.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

/** Records per slot, read here slot by slot (every slot, not only those a child listed). */
async function recordsPerSlot(dir: string): Promise<Record<number, number>> {
  const store = new DataStore(dir, { readOnly: true });
  const out: Record<number, number> = {};
  try {
    for (let slot = 0; slot < MAX_SLOTS; slot++) {
      let n = 0;
      for (const _ of store.salvageRange({ slot })) n++;
      if (n > 0) out[slot] = n;
    }
  } finally {
    await store.close();
  }
  return out;
}

/**
 * Salvage copies every slot that holds anything, and only those get a child of their own: one
 * child lists them first (quarantine.ts, slotsToSalvage).
 */
describe('salvage of a data file holding several generations', () => {
  const root = tempDir();
  const dir = join(root.path, 'data');

  beforeAll(async () => {
    const service = await Service.build({
      config: loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } }),
      logger: createLogger('silent'),
    });
    const samples = recentSamples(Math.floor(Date.now() / 1000));
    // Three generations, each in a slot of its own.
    for (const part of [0, 1, 2]) {
      for (const m of samples.slice(part * 100, part * 100 + 100)) service.accept(m as never);
      await service.settled();
      await service.snapshot();
    }
    await service.close();
  });
  afterAll(() => root.remove());

  it('copies each occupied slot whole, every record of it, and reports no other slot', async () => {
    const before = await recordsPerSlot(dir);
    expect(Object.keys(before).length).toBeGreaterThanOrEqual(3);
    const report = quarantineAndSalvage(dir, 'test', Date.now());

    expect(report.lost).toEqual([]);
    expect(report.slots).toEqual(
      Object.fromEntries(Object.entries(before).map(([slot, records]) => [slot, { records, complete: true }])),
    );
    // The file now in place holds them all, slot for slot.
    expect(await recordsPerSlot(dir)).toEqual(before);
    expect(await recordsPerSlot(report.quarantinedTo)).toEqual(before);
  });
});
