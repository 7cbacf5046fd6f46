import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { sampleOf } from '../helpers/probes.js';
import { tempDir } from '../helpers/service-process.js';
import { capturedLog, pluginDigests, postSnapshot } from '../helpers/in-process-service.js';

const TOKEN = 'close-during-snapshot-token';

/**
 * close() closed the store under a snapshot still being written (a periodic one, POST
 * /admin/snapshot): the snapshot failed on the closed store ('snapshot failed' logged), and
 * lmdb-js's read-transaction timer then threw in the embedder's process ("Attempt to reset an
 * invalid read txn", uncaught). close() then waited for the whole snapshot, which for a large
 * state is many chunks with no bound of close()'s own. It now cancels it at its next chunk
 * boundary: its child transaction aborted, the previous generation and the journal hold every
 * message, and nothing counts it as a failed write. Real service, real HTTP, real LMDB; the
 * snapshot is written in chunks of 20 entries, and close() is called from its third chunk's end.
 */
describe('close() while a snapshot is being written', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('cancels it at its next chunk, counts no failure, answers the admin request 503, and reopens on the previous generation and the journal', async () => {
    const { lines, logger } = capturedLog();
    const config = loadConfig({
      flags: {
        dataDir: dir.path,
        port: 0,
        bind: ['tcp://127.0.0.1:*'],
        snapshotInterval: 3600,
        adminToken: TOKEN,
      },
    });
    let chunks = 0;
    let atChunk: (() => void) | null = null;
    const s = await Service.build({
      config,
      logger,
      snapshotChunk: {
        chunkEntries: 20,
        onYield: () => {
          chunks++;
          atChunk?.();
        },
      },
    });
    await s.start();
    const now = Math.floor(Date.now() / 1000);
    const accept = (round: number) => {
      for (const m of recentSamples(now - round * 7)) s.accept({ ...m, msg_id: `${m.msg_id}-${round}` } as never);
    };
    for (let i = 0; i < 4; i++) accept(i);
    await s.settled();
    const previous = await s.snapshot();
    expect(previous.generation).toBe(1);
    // Messages only the journal holds from here on: the cancelled snapshot would have held them.
    for (let i = 4; i < 6; i++) accept(i);
    await s.settled();
    expect(s.journal.position).toBeGreaterThan(previous.journalSeq);
    const before = pluginDigests(s);

    chunks = 0;
    let closing: Promise<void> | null = null;
    let refused: Promise<string> | null = null;
    atChunk = () => {
      if (chunks !== 3 || closing !== null) return;
      closing = s.close();
      // One asked for while closing is refused, not written to a store about to close.
      refused = s.snapshot().then(
        () => 'written',
        (e: unknown) => String(e),
      );
    };
    const port = s.server?.port ?? 0;
    const answer = await postSnapshot(port, TOKEN);
    expect(closing, 'close() was called from the third chunk').not.toBeNull();
    await closing;
    // Cancelled at the next chunk boundary: the generation's whole write (a new slot, every
    // entry again: at least as many chunks as generation 1's) never went on.
    expect(chunks).toBe(3);
    expect(previous.yields).toBeGreaterThan(50);
    expect(answer.status).toBe(503);
    expect(answer.body.error).toBe('snapshot_cancelled');
    expect(answer.body.detail).toMatch(/cancelled because the service is closing/);
    expect(await refused).toMatch(/the service is closing/);
    expect(s.lastSnapshot?.generation).toBe(1);
    // No disk failure said or counted: not logged as a failure, not in the metrics, not degraded.
    expect(
      lines.filter((l) => /snapshot failed|WriteFailedError/.test(`${l.msg ?? ''} ${String(l.err ?? '')}`)),
    ).toEqual([]);
    expect(lines.filter((l) => /^snapshot cancelled/.test(l.msg ?? '')).map((l) => l.level)).toEqual([30]);
    const metrics = await s.metrics.refresh();
    expect(metrics).toMatch(/^statscache_snapshot_failures_total /m);
    expect(sampleOf(metrics, 'statscache_snapshot_failures_total')).toBe(0);
    expect(sampleOf(metrics, 'statscache_degraded')).toBe(0);

    // The data dir opens again on generation 1, whole, and the journal replays the rest.
    const again = await Service.build({ config, logger });
    try {
      expect(again.restored.meta?.generation).toBe(1);
      expect(again.restored.meta?.journalSeq).toBe(previous.journalSeq);
      await again.recover();
      expect(again.counters.replayed).toBe(s.journal.position - previous.journalSeq);
      expect(pluginDigests(again)).toEqual(before);
    } finally {
      await again.close();
    }
  }, 30_000);
});
