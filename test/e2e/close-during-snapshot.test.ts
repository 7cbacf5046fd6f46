import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * close() closed the store under a snapshot still being written (a periodic one, POST
 * /admin/snapshot): the snapshot failed on the closed store ('snapshot failed' logged), and
 * lmdb-js's read-transaction timer then threw in the embedder's process ("Attempt to reset an
 * invalid read txn", uncaught). close() now waits for it. Real service, real LMDB; the snapshot
 * is written in chunks of 20 entries, so it is surely in progress when close() is called.
 */
describe('close() while a snapshot is being written', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('lets the snapshot finish before the store closes, and a new one is refused', async () => {
    const lines: { msg?: string; err?: unknown }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line)) });
    const config = loadConfig({
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], snapshotInterval: 3600 },
    });
    const s = await Service.build({ config, logger, snapshotChunk: { chunkEntries: 20 } });
    await s.start();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 10; i++)
      for (const m of recentSamples(now - i * 7)) s.accept({ ...m, msg_id: `${m.msg_id}-${i}` } as never);
    await s.settled();
    let settled = false;
    const snap = s.snapshot().then(
      (report) => ({ report, err: null }),
      (err: unknown) => ({ report: null, err: String(err) }),
    );
    void snap.then(() => (settled = true));
    const closing = s.close();
    expect(settled, 'the snapshot ended before close() was called').toBe(false);
    // One asked for while closing is refused, not written to a store about to close.
    const refused = s.snapshot().then(
      () => 'written',
      (e: unknown) => String(e),
    );
    await closing;
    const { report, err } = await snap;
    expect(err).toBeNull();
    expect(await refused).toMatch(/the service is closing/);
    expect(report?.written).toBeGreaterThan(1000);
    expect(lines.filter((l) => /snapshot failed/.test(l.msg ?? ''))).toEqual([]);
    // The data dir opens again on the generation that snapshot wrote.
    const again = await Service.build({ config, logger });
    try {
      expect(again.restored.meta?.generation).toBe(report?.generation);
      expect(again.restored.meta?.journalSeq).toBe(report?.journalSeq);
    } finally {
      await again.close();
    }
  }, 30_000);
});
