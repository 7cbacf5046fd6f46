import { afterAll, describe, expect, it } from 'vitest';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { joinedPublisher } from '../helpers/probes.js';
import { pluginConfig } from '../helpers/plugin-config.js';

/**
 * With operator plugins loaded, every plugin is handed a frozen message: one that changes it
 * loses that message (update_error), and the plugins after it see the message as it came.
 * Before, a plugin that set `body.owner` made the next plugin count the changed owner, and
 * meta derived after the change named it too.
 */
const MEDDLER = `export default {
  name: 'Meddler', summary: 's', description: 'd', columns: ['n'], key: ['timestamp'],
  update(message) {
    message.body.owner = 'mallory';
  },
};`;
const OWNERS = `export default {
  name: 'Owners', summary: 's', description: 'd', interval: '1d',
  columns: ['owner', 'user', 'n'], key: ['timestamp', 'owner', 'user'],
  update(message, { rows, bucket }) {
    const owner = String(message.body.owner);
    const user = message.meta.usernames.join(',');
    const previous = rows.get(rows.keyOf({ timestamp: bucket, owner, user }));
    rows.put({ timestamp: bucket, owner, user, n: (previous?.n ?? 0) + 1 });
  },
};`;

type Info = { ident: string; counters: { received: number; applied: number; dropped: Record<string, number> } };

describe('operator plugins are handed frozen messages', () => {
  const dir = tempDir();
  // In this order: the meddler runs before the counting plugin.
  const config = pluginConfig(dir.path, { 'meddler.mjs': MEDDLER, 'owners.mjs': OWNERS });
  let svc: RunningService | null = null;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('a plugin that changes the body loses the message; the one after it counts the real owner', async () => {
    svc = await startService(['--config', config]);
    const s = svc;
    const pub = await joinedPublisher(s);
    const now = Math.floor(Date.now() / 1000);
    const sent = [1, 2, 3].map((n) => ({
      topic: 'org.fedoraproject.prod.buildsys.build.state.change',
      timestamp: now - 10 + n,
      msg_id: `2026-frozen-${n}`,
      msg: { owner: 'ralph', name: 'kernel' },
    }));
    const plugins = await eventually(
      async () => {
        for (const m of sent) await pub.send(m.topic, JSON.stringify(m));
        const all = ((await getJson(`${s.base}/plugins`)).body as { plugins: Info[] }).plugins;
        const owners = all.find((p) => p.ident === 'owners-1d');
        return owners !== undefined && owners.counters.applied === 3 ? all : undefined;
      },
      15_000,
      'three messages applied by the counting plugin',
    );
    pub.close();
    const meddler = plugins.find((p) => p.ident === 'meddler');
    expect(meddler?.counters).toMatchObject({ received: 3, applied: 0, dropped: { update_error: 3 } });
    const rows = (await getJson(`${s.base}/api/owners-1d`)).body as { owner: string; user: string; n: number }[];
    expect(rows.map(({ owner, user, n }) => ({ owner, user, n }))).toEqual([{ owner: 'ralph', user: 'ralph', n: 3 }]);
  }, 40_000);
});
