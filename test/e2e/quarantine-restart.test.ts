import { afterAll, describe, expect, it } from 'vitest';
import { runCli } from '../commands/cli.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { joinedPublisher } from '../helpers/probes.js';
import { pluginConfig } from '../helpers/plugin-config.js';

/**
 * A plugin quarantined by a snapshot's time stays quarantined after a restart: the restored
 * replica drops the journal's messages inside the cool-down as the replica that did not
 * restart did, and `journal replay` rebuilds the same state. Before, the restart forgot the
 * quarantine and applied them: its view kept rows the other replica never had, for good.
 */
const FRAGILE = `export default {
  name: 'Fragile', summary: 's', description: 'd', interval: '1m',
  columns: ['n'], key: ['timestamp'],
  update(message, { rows, bucket }) {
    if (message.body.boom) throw new Error('plugin bug');
    const previous = rows.get(rows.keyOf({ timestamp: bucket }));
    rows.put({ timestamp: bucket, n: (previous?.n ?? 0) + 1 });
  },
};`;
const TOKEN = 'quarantine-restart-token';
/** The service's defaults (actors/runtime-options.ts): 50 errors in a row, 600 s of message time. */
const QUARANTINE_AFTER = 50;

type Info = {
  ident: string;
  lifecycle: string;
  counters: { received: number; applied: number; dropped: Record<string, number> };
};

describe('a quarantine survives a restart', () => {
  const dir = tempDir();
  const config = pluginConfig(dir.path, { 'fragile.mjs': FRAGILE }, { adminToken: TOKEN });
  let svc: RunningService | null = null;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  const fragile = async (s: RunningService) =>
    ((await getJson(`${s.base}/plugins`)).body as { plugins: Info[] }).plugins.find((p) => p.ident === 'fragile-1m');
  const rows = async (s: RunningService) => (await getJson(`${s.base}/api/fragile-1m`)).body;

  it('restores it from the snapshot, replays the journal into it, and `journal replay` agrees', async () => {
    // No timed snapshot: the one taken is mid-quarantine, and what follows it comes back from the journal.
    const start = () => startService(['--config', config, '--snapshot-interval', '86400']);
    svc = await start();
    let s = svc;
    const t0 = Math.floor(Date.now() / 1000 / 60) * 60 - 3600;
    const message = (n: number, t: number, boom: boolean) => ({
      topic: 'org.fedoraproject.prod.wiki.article.edit',
      timestamp: t,
      msg_id: `2026-quarantine-${n}`,
      msg: { user: 'ralph', title: 'Page', boom },
    });
    const send = async (s: RunningService, messages: ReturnType<typeof message>[], until: (p: Info) => boolean) => {
      const pub = await joinedPublisher(s);
      // Repeats are de-duplicated by msg_id: sent until all are in (the first may beat the subscription).
      await eventually(
        async () => {
          for (const m of messages) await pub.send(m.topic, JSON.stringify(m));
          const p = await fragile(s);
          return p !== undefined && until(p) ? true : undefined;
        },
        15_000,
        'messages applied',
      );
      pub.close();
    };
    // Quarantined at t0 + 49: its cool-down runs to t0 + 649.
    const booms = Array.from({ length: QUARANTINE_AFTER }, (_, i) => message(i, t0 + i, true));
    await send(s, booms, (p) => p.lifecycle === 'quarantined');
    const taken = await fetch(`${s.base}/admin/snapshot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(taken.status).toBe(200);
    // Inside the cool-down: dropped here, journaled after the snapshot.
    const inside = [100, 200, 300, 400, 500].map((dt, i) => message(100 + i, t0 + dt, false));
    await send(s, inside, (p) => p.counters.dropped['quarantined'] === 5);
    expect(await rows(s)).toEqual([]);
    await s.stop('SIGKILL');

    svc = await start();
    s = svc;
    await eventually(
      async () => ((await getJson(`${s.base}/readyz`)).status === 200 ? true : undefined),
      20_000,
      'ready',
    );
    // The journal's five were replayed into the restored quarantine and dropped again.
    expect(await fragile(s)).toMatchObject({
      lifecycle: 'quarantined',
      counters: { applied: 0, dropped: { quarantined: 5 } },
    });
    expect(await rows(s)).toEqual([]);
    // Live, the cool-down still holds until t0 + 649, then the plugin is on probation and applies.
    await send(s, [message(200, t0 + 640, false)], (p) => p.counters.dropped['quarantined'] === 6);
    await send(s, [message(201, t0 + 660, false)], (p) => p.lifecycle === 'live' && p.counters.applied === 1);
    const want = [{ timestamp: t0 + 720, n: 1 }];
    expect(await rows(s)).toEqual(want);
    expect(await s.stop('SIGTERM')).toBe(0);
    svc = null;

    // Every journaled message again, from empty state: the same quarantine, the same rows.
    const replay = await runCli(['journal', 'replay', '--from', '0', '--config', config]);
    expect(replay.code).toBe(0);
    expect(replay.stdout).toContain(`${QUARANTINE_AFTER} plugin update errors`);
    svc = await start();
    s = svc;
    expect(await rows(s)).toEqual(want);
    expect(await fragile(s)).toMatchObject({ lifecycle: 'live' });
  }, 90_000);
});
