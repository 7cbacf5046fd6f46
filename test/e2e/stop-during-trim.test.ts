import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { HttpRequest, HttpResponse } from '../../src/http/responses.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { MovedClock } from '../helpers/moved-clock.js';
import { tempDir } from '../helpers/service-process.js';

const HOUR_MS = 3600 * 1000;
const TOKEN = 'stop-during-trim-token';
const adminSnapshot: HttpRequest = {
  method: 'POST',
  path: '/admin/snapshot',
  query: '',
  header: (name) => (name === 'authorization' ? `Bearer ${TOKEN}` : ''),
};

/**
 * stop() closed the store without waiting for a periodic snapshot's journal trim, which runs
 * after that snapshot is written, in steps over many turns: its final snapshot (serialised after
 * the periodic one's write, not after its trim) ended first, and the trim read on from the
 * closed store. Real service, real LMDB; the trim is held at its first step until the final
 * snapshot is logged, and then has hundreds of steps (one entry each) left. A POST /admin/snapshot
 * asked at its second step, while the stop waits on it, is refused: 503 snapshot_cancelled, as a
 * snapshot cancelled by close() answers (it answered 500 snapshot_failed, as a failed write).
 */
describe('stop() while a journal trim runs', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('waits for the trim before the store closes', async () => {
    const lines: { msg?: string; err?: unknown; removed?: number }[] = [];
    let finalLogged: () => void = () => undefined;
    const finalWritten = new Promise<void>((resolve) => (finalLogged = resolve));
    const logger = pino(
      { level: 'info' },
      {
        write: (line: string) => {
          const parsed = JSON.parse(line) as { msg?: string };
          lines.push(parsed);
          if (parsed.msg === 'final snapshot written') finalLogged();
        },
      },
    );
    const clock = new MovedClock();
    const config = loadConfig({
      flags: {
        dataDir: dir.path,
        port: 0,
        bind: ['tcp://127.0.0.1:*'],
        snapshotInterval: 3600,
        snapshotGenerations: 1,
        journalMaxAge: '1h',
        adminToken: TOKEN,
      },
    });
    let holdNext = true;
    let stopping: Promise<void> | null = null;
    let steps = 0;
    let refused: HttpResponse | Promise<HttpResponse> | null = null;
    const s = await Service.build({
      config,
      logger,
      clock,
      trimPacing: {
        step: 1,
        onStep: () => {
          // The stop is waiting on this trim now, no snapshot starts: one asked for is refused.
          if (++steps === 2) refused = s.handle(adminSnapshot);
          if (!holdNext) return;
          holdNext = false;
          // The trim's policy is set: what the final snapshot trims after is back within retention.
          clock.moveOn(-2 * HOUR_MS);
          stopping = s.stop();
          return finalWritten;
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
    // Every record is now past --journal-max-age: the periodic snapshot's trim drops them all.
    clock.moveOn(2 * HOUR_MS);
    const periodic = await s.snapshot();
    expect(stopping, 'the trim was held and stop() called under it').not.toBeNull();
    await stopping;
    expect(lines.filter((l) => /journal trim failed|snapshot failed|stop failed/.test(l.msg ?? ''))).toEqual([]);
    expect(lines.find((l) => l.msg === 'journal trimmed')?.removed).toBe(accepted);
    // Refused as a cancelled one is (503 snapshot_cancelled), not as a failed write (500 snapshot_failed).
    expect(refused, 'POST /admin/snapshot was asked during the stop').not.toBeNull();
    const answer = await (refused as unknown as Promise<HttpResponse>);
    expect(answer.status).toBe(503);
    expect(JSON.parse(String(answer.body))).toMatchObject({
      error: 'snapshot_cancelled',
      detail: expect.stringMatching(/the service is closing/),
    });
    expect(lines.filter((l) => /snapshot failed/.test(l.msg ?? ''))).toEqual([]);
    // The data dir opens again on the periodic snapshot, with nothing left to replay.
    const again = await Service.build({ config, logger });
    try {
      expect(again.restored.meta?.journalSeq).toBe(periodic.journalSeq);
      expect(again.journal.firstRetained).toBe(0);
    } finally {
      await again.close();
    }
  }, 60_000);
});
