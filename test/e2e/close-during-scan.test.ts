import { afterAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { HttpRequest, HttpResponse } from '../../src/http/responses.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { capturedLog } from '../helpers/in-process-service.js';

/**
 * A filtered GET /raw scan holds the journal's range (its read transaction) across the event-loop
 * turns between its slices. Neither close() nor stop() ended it: the store closed under it and the
 * scan read on from the closed file. Now both end it at the pause it waits in and wait for it to
 * let go before the store closes; the request answers 503 service_stopping. Real service, real
 * LMDB, the real route (in-process); each message takes a whole slice, and the scan is held at its
 * second pause until close() or stop() returns.
 */
describe.each(['close', 'stop'] as const)('%s() while a filtered /raw scan runs', (how) => {
  const dir = tempDir();
  afterAll(() => dir.remove());

  it('ends the scan before the store closes and answers 503 service_stopping', async () => {
    const { lines, logger } = capturedLog();
    const config = loadConfig({ flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'] } });
    let slice = 0;
    let pauses = 0;
    let ending: Promise<void> | null = null;
    let ended = false;
    const s = await Service.build({
      config,
      logger,
      historySlices: {
        // Past the slice's 4 ms at every look: a pause between any two messages.
        sliceNowMs: () => (slice += 5),
        pause: () => {
          if (++pauses !== 2) return new Promise<void>((resolve) => setImmediate(resolve));
          ending = (how === 'close' ? s.close() : s.stop()).then(() => {
            ended = true;
          });
          // Held until the store is closed: a scan not ended reads on from it.
          return ending;
        },
      },
    });
    await s.start();
    const now = Math.floor(Date.now() / 1000);
    for (const m of recentSamples(now)) s.accept(m as never);
    await s.settled();
    expect(s.journal.position).toBeGreaterThan(10);

    const req: HttpRequest = {
      method: 'GET',
      path: '/raw',
      query: `start=0&end=${now + 10}&user=nobody-at-all`,
      header: () => '',
    };
    const answer = (await s.handle(req)) as HttpResponse;
    expect(ending, `${how}() was called from the scan`).not.toBeNull();
    await ending;
    expect(ended).toBe(true);
    expect(pauses).toBe(2);
    expect(answer.status).toBe(503);
    const body = JSON.parse(String(answer.body)) as { error: string; detail: string };
    expect(body.error).toBe('service_stopping');
    expect(body.detail).toMatch(/the service is stopping/);
    expect(lines.filter((l) => /failed/.test(l.msg ?? ''))).toEqual([]);
  }, 30_000);
});
