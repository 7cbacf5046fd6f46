import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { eventually, tempDir } from '../helpers/service-process.js';

/**
 * A burst of queued bus frames must not hold the event loop (and so every read) until the whole
 * burst is handled: Service.ingest hands the receive loop a promise to wait on (the check phase)
 * after a short slice. No time is asserted: only that a long synchronous run yields at some
 * point, not at every frame, and that nothing is lost.
 */
describe('bus frames are handled in slices', () => {
  const dir = tempDir('statscache-slices-');
  let service: Service;
  beforeAll(async () => {
    const config = loadConfig({
      flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600 },
    });
    service = await Service.build({ config, logger: createLogger('silent') });
    await service.start();
    // Frames wait behind the live gate until recovery is done: slices only matter after it.
    const base = `http://127.0.0.1:${service.server?.port}`;
    await eventually(async () => ((await fetch(`${base}/readyz`)).ok ? true : undefined), 15_000, 'ready');
  });
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  it('a read is answered in the middle of a long run of frames, which yields per slice, not per frame; nothing is lost', async () => {
    const now = Math.floor(Date.now() / 1000);
    const count = 5000;
    const base = `http://127.0.0.1:${service.server?.port}`;
    let handled = 0;
    let answeredAfter = -1;
    // Asked before the run starts: without slices it could only be answered after the last frame.
    const read = fetch(`${base}/healthz`).then((r) => {
      answeredAfter = handled;
      return r.status;
    });
    let yields = 0;
    // As the bus receive loop does: each frame handed over, and any returned promise awaited.
    for (let i = 0; i < count; i++) {
      const topic = `org.fedoraproject.prod.slice${i % 5}.thing`;
      const body = JSON.stringify({ topic, timestamp: now - 10, msg_id: `slice-${i}`, msg: {} });
      const pending = service.ingest([Buffer.from(topic), Buffer.from(body)]);
      handled++;
      if (pending) {
        yields++;
        await pending;
      }
    }
    expect(await read).toBe(200);
    expect(answeredAfter).toBeGreaterThan(0);
    expect(answeredAfter).toBeLessThan(count);
    expect(yields).toBeGreaterThan(0);
    expect(yields).toBeLessThan(count / 4);
    await service.settled();
    const rows = (await (await fetch(`http://127.0.0.1:${service.server?.port}/api/messages-last-24h`)).json()) as {
      volume: number;
    }[];
    expect(rows.reduce((n, r) => n + r.volume, 0)).toBe(count);
  });
});
