import { describe, expect, it } from 'vitest';
import { decodeExport } from '../../src/commands/export-format.js';
import { adminServiceForBlock, holdExportChild } from '../helpers/export-service.js';
import { perUserPlugin } from '../helpers/per-user-plugin.js';
import { metricOf } from '../helpers/probes.js';

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
  const start = adminServiceForBlock(TOKEN);

  it('is built off the event loop: /healthz is answered while it is made (statscache_exports_in_progress 1), and it holds the state', async () => {
    const { service: s, base, auth } = await start([perUser]);
    // A state of ~6 MB, exported in about a second: on one event loop no /healthz is answered
    // while it is made, whatever the size.
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
    const snap = (await (await fetch(`${base}/admin/snapshot`, { method: 'POST', headers: auth })).json()) as {
      generation: number;
    };

    let responded = false;
    const exporting = fetch(`${base}/admin/export`, { headers: auth }).then((r) => {
      responded = true;
      expect(r.status).toBe(200);
      return r.arrayBuffer();
    });
    const inProgress = () => metricOf(base, 'statscache_exports_in_progress');
    const deadline = Date.now() + 60_000;
    const notYet = (what: string) => {
      expect(responded, `the export was answered before ${what}`).toBe(false);
      expect(Date.now(), `${what}: not within 60 s`).toBeLessThan(deadline);
    };
    // Until the service shows the export being built, not a guessed delay: an export made on the
    // event loop in one step is over before a scrape is answered. Paced by the service (a scrape
    // is rendered at most once per 100 ms).
    while ((await inProgress()) !== 1) notYet('a scrape saw it in progress');
    // Its child, held stopped: the export cannot end while /healthz is asked, so every answer
    // counted is one given while it is made, whatever the machine's speed; an export that starts
    // late and then takes the loop, or makes no child, fails here.
    const child = await holdExportChild(() => notYet('its child was seen'));
    let answeredMeanwhile = 0;
    while (answeredMeanwhile < 20) {
      const res = await fetch(`${base}/healthz`);
      expect(res.status).toBe(200);
      await res.arrayBuffer();
      answeredMeanwhile++;
    }
    expect(await inProgress()).toBe(1);
    expect(responded).toBe(false);
    process.kill(child, 'SIGCONT');
    const exported = await exporting;
    // Over once answered: built once, nothing left running.
    expect(await inProgress()).toBe(0);
    expect(await metricOf(base, 'statscache_exports_total', 'outcome="built"')).toBe(1);
    const payload = decodeExport(Buffer.from(exported));
    expect(payload.meta.generation).toBe(snap.generation);
    expect(payload.meta.plugins['export-users']?.rows).toBe(USERS);
  }, 120_000);
});
