import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { MovedClock } from '../helpers/moved-clock.js';
import { tempDir } from '../helpers/service-process.js';
import { capturedLog, pluginDigests } from '../helpers/in-process-service.js';

const HOUR_MS = 3600 * 1000;

/**
 * close() waited out a snapshot's journal trim, which steps over many turns after the snapshot
 * is written, with no bound of its own. It now stops the trim at its next step: a trim drops a
 * prefix per transaction, so the journal it leaves is shorter and whole, and the next snapshot's
 * trim drops the rest. Real service, real LMDB; the trim steps one entry at a time, and close()
 * is called from its fifth step of dropping (after one step per entry scanned).
 */
describe('close() while a journal trim runs', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('stops the trim at its next step; after a reopen nothing is lost and the next trim finishes it', async () => {
    const { lines, logger } = capturedLog<{ msg?: string; err?: unknown; removed?: number }>();
    const clock = new MovedClock();
    const config = loadConfig({
      flags: {
        dataDir: dir.path,
        port: 0,
        bind: ['tcp://127.0.0.1:*'],
        snapshotInterval: 3600,
        snapshotGenerations: 1,
        journalMaxAge: '1h',
      },
    });
    let steps = 0;
    let closeAt = Number.POSITIVE_INFINITY;
    let closing: Promise<void> | null = null;
    const s = await Service.build({
      config,
      logger,
      clock,
      trimPacing: {
        step: 1,
        onStep: () => {
          if (++steps === closeAt) closing = s.close();
        },
      },
    });
    await s.start();
    const now = Math.floor(clock.now() / 1000);
    for (let i = 0; i < 4; i++)
      for (const m of recentSamples(now - i * 7)) s.accept({ ...m, msg_id: `${m.msg_id}-${i}` } as never);
    await s.settled();
    const accepted = s.journal.position;
    expect(accepted).toBeGreaterThan(200);
    const before = pluginDigests(s);
    // Every record is now past --journal-max-age: the snapshot's trim would drop them all. Its scan
    // pauses once per entry; then each drop of one entry is a transaction, with a pause before it.
    clock.moveOn(2 * HOUR_MS);
    closeAt = accepted + 5;
    const snapshot = await s.snapshot();
    expect(closing, 'close() was called from the trim').not.toBeNull();
    await closing;
    // Stopped at the step close() was called from: no drop after it.
    expect(steps).toBe(closeAt);
    expect(lines.filter((l) => /journal trim failed|snapshot failed/.test(l.msg ?? ''))).toEqual([]);
    expect(lines.some((l) => l.msg === 'journal trimmed')).toBe(false);
    expect(lines.filter((l) => /^journal trim stopped/.test(l.msg ?? '')).map((l) => l.removed)).toEqual([5]);

    // Reopened: the snapshot and the shorter journal hold every message.
    const reopenClock = new MovedClock();
    const again = await Service.build({ config, logger, clock: reopenClock });
    try {
      expect(again.restored.meta?.journalSeq).toBe(snapshot.journalSeq);
      const first = again.journal.firstRetained;
      // The five drops before close(), one entry each (seqs 1 to 5; the first drop has no pause before it).
      expect(first).toBe(6);
      await again.recover();
      expect(pluginDigests(again)).toEqual(before);
      // The next snapshot's trim drops the rest.
      reopenClock.moveOn(2 * HOUR_MS);
      lines.length = 0;
      await again.snapshot();
      expect(lines.find((l) => l.msg === 'journal trimmed')?.removed).toBe(accepted - first + 1);
      expect(again.journal.firstRetained).toBe(0);
    } finally {
      await again.close();
    }
  }, 60_000);
});
