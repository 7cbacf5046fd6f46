import { afterAll, describe, expect, it } from 'vitest';
import { decodeExport } from '../../src/commands/export-format.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { perUserPlugin } from '../helpers/per-user-plugin.js';
import { tempDir } from '../helpers/service-process.js';

const TOKEN = 'export-off-loop-token-0123456789';
const perUser = perUserPlugin('Export users', (m, { rows, stores }) => {
  const user = (m.body as { user: string }).user;
  rows.put({ timestamp: m.timestamp, user, n: 1 });
  stores.totals.set(user, 1);
});

/**
 * GET /admin/export (what --bootstrap pulls from a peer) read, encoded and hashed the whole
 * state in one turn of the event loop: 3.7 s without an answer for a 19 MB state. It is built
 * by a child process now, and the service answers meanwhile.
 */
describe('GET /admin/export', () => {
  const dir = tempDir();
  let service: Service | null = null;
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  it('is built off the event loop: /healthz is answered while it is made, and it holds the state', async () => {
    const config = loadConfig({
      env: { STATSCACHE_ADMIN_TOKEN: TOKEN },
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], snapshotInterval: 3600 },
    });
    const s = await Service.build({ config, logger: createLogger('silent'), plugins: [perUser] });
    service = s;
    await s.start();
    // A state of ~6 MB, exported in about a second: on one event loop at most one /healthz is
    // answered whatever the size (the floor below is 5); off it ~800 were answered meanwhile
    // (60,000 users: ~1,500, for 2 s more CPU, most of it spent accepting them).
    const USERS = 20_000;
    const now = Math.floor(Date.now() / 1000) - 600;
    for (let i = 0; i < USERS; i++) {
      s.accept({
        topic: 'org.fedoraproject.prod.x.y',
        timestamp: now,
        msg_id: `e${i}`,
        msg: { user: `u${i}` },
      } as never);
      if (i % 5000 === 0) await new Promise((r) => setImmediate(r));
    }
    await s.settled();
    const base = `http://127.0.0.1:${s.server?.port ?? 0}`;
    const auth = { Authorization: `Bearer ${TOKEN}` };
    const snap = (await (await fetch(`${base}/admin/snapshot`, { method: 'POST', headers: auth })).json()) as {
      generation: number;
    };

    let responded = false;
    const exporting = fetch(`${base}/admin/export`, { headers: auth }).then((r) => {
      responded = true;
      expect(r.status).toBe(200);
      return r.arrayBuffer();
    });
    // Once the export has been asked for. On one event loop nothing else was answered until it
    // was sent, so at most the one /healthz waiting behind it could come first.
    await new Promise((r) => setTimeout(r, 20));
    let answeredMeanwhile = 0;
    while (!responded) {
      const res = await fetch(`${base}/healthz`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      if (!responded) answeredMeanwhile++;
    }
    const exported = await exporting;
    expect(answeredMeanwhile).toBeGreaterThanOrEqual(5);
    const payload = decodeExport(Buffer.from(exported));
    expect(payload.meta.generation).toBe(snap.generation);
    expect(payload.meta.plugins['export-users']?.rows).toBe(USERS);
  }, 120_000);
});
