import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { capturedLog, postSnapshot } from '../helpers/in-process-service.js';

const TOKEN = 'close-during-size-walk-token';

/**
 * After POST /admin/snapshot commits, the service walks the new generation's entries over many
 * event-loop turns to report its whole size (Service.snapshotMeasured). close() did not wait for
 * that walk: it closed the store while the walk's range still held its read transaction, and the
 * walk read on from the closed store. Now close() ends the walk at once (it is cancelled at the
 * step it waits at) and waits for it to let go before the store closes; the admin request answers
 * 503 snapshot_unmeasured naming the generation, which was committed. Real service, real HTTP,
 * real LMDB; the walk steps one entry at a time and is held at its second step until close()
 * returns: nothing but the cancel can end it first.
 */
describe('close() while an admin snapshot measures its generation', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('cancels the walk before the store closes and answers 503 naming the committed generation', async () => {
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
    let steps = 0;
    let closing: Promise<void> | null = null;
    let closed = false;
    const s = await Service.build({
      config,
      logger,
      sizePacing: {
        chunk: 1,
        onStep: () => {
          steps++;
          if (steps !== 2) return;
          closing = s.close().then(() => {
            closed = true;
          });
          // Held until close() returns: a walk close() does not end reads on from the closed store.
          return closing;
        },
      },
    });
    await s.start();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 3; i++)
      for (const m of recentSamples(now - i * 7)) s.accept({ ...m, msg_id: `${m.msg_id}-${i}` } as never);
    await s.settled();

    const answer = await postSnapshot(s.server?.port ?? 0, TOKEN);
    expect(closing, 'close() was called from the walk').not.toBeNull();
    await closing;
    expect(closed).toBe(true);
    // Ended at the step it was held at: no entry read after close() was called.
    expect(steps).toBe(2);
    expect(answer.status).toBe(503);
    expect(answer.body.error).toBe('snapshot_unmeasured');
    expect(answer.body.detail).toMatch(/generation 1 was written.*the service is closing/);
    expect(answer.body.report?.generation).toBe(1);
    expect(lines.filter((l) => /snapshot failed|stop failed|closed/.test(l.msg ?? ''))).toEqual([]);

    // The generation the walk measured is whole on disk.
    const again = await Service.build({ config, logger });
    try {
      expect(again.restored.meta?.generation).toBe(1);
    } finally {
      await again.close();
    }
  }, 30_000);
});

/** stop() waits for the walk instead, as it waits for the admin snapshot it follows: the request gets its whole report. */
describe('stop() while an admin snapshot measures its generation', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('waits for the walk before the store closes and answers its report', async () => {
    const { lines, logger } = capturedLog();
    const config = loadConfig({
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], snapshotInterval: 3600, adminToken: TOKEN },
    });
    let steps = 0;
    let stopping: Promise<void> | null = null;
    const s = await Service.build({
      config,
      logger,
      sizePacing: {
        chunk: 1,
        onStep: () => {
          if (++steps === 2) stopping = s.stop();
        },
      },
    });
    await s.start();
    const now = Math.floor(Date.now() / 1000);
    for (let i = 0; i < 3; i++)
      for (const m of recentSamples(now - i * 7)) s.accept({ ...m, msg_id: `${m.msg_id}-${i}` } as never);
    await s.settled();

    const answer = await postSnapshot(s.server?.port ?? 0, TOKEN);
    expect(stopping, 'stop() was called from the walk').not.toBeNull();
    await stopping;
    expect(answer.status).toBe(200);
    const report = answer.body as { generation?: number; generationEntries?: number };
    expect(report.generation).toBe(1);
    // Every entry walked, one a step: the walk went on to its end under the stop.
    expect(report.generationEntries).toBeGreaterThan(2);
    expect(steps).toBe(report.generationEntries);
    expect(lines.filter((l) => /snapshot failed|stop failed/.test(l.msg ?? ''))).toEqual([]);
  }, 30_000);
});
