/**
 * Snapshots that fail on every attempt while the journal takes every message: nothing is lost
 * (a restart replays the journal), but the journal is never trimmed and a restart replays more
 * and more, so /healthz and /readyz stay 200 and say `degraded`, and statscache_degraded is 1.
 * The plugin stores a value whose member throws once armed (the message after it is stored),
 * standing for any write that fails part-way, as test/helpers/fragile-plugin.ts does in-process.
 */
import { describe, expect, it } from 'vitest';
import { pluginService } from '../helpers/plugin-service.js';
import { joinedPublisher, metricOf } from '../helpers/probes.js';
import { eventually, getJson } from '../helpers/service-process.js';

const PLUGIN = `let armed = false;
export default { name: 'Unencodable', summary: 's', description: 'd', columns: ['k'], key: ['k'],
  stores: { v: { kind: 'store' } },
  update(m, { stores }) {
    if (!m.topic.endsWith('.arm') || armed) return;
    stores.v.set('x', { get n() { if (armed) throw new Error('the value failed to encode'); return 1; } });
    armed = true;
  } };`;

describe('snapshots failing on every attempt', () => {
  const { serve } = pluginService({ 'unencodable.mjs': PLUGIN }, { ready: true, args: ['--snapshot-interval', '0.5'] });

  it('keep /healthz and /readyz 200, degraded with the cause, and statscache_degraded 1', async () => {
    const s = await serve();
    expect(((await getJson(`${s.base}/healthz`)).body as { degraded?: string }).degraded).toBeUndefined();
    const pub = await joinedPublisher(s);
    const topic = 'org.fedoraproject.prod.test.arm';
    await pub.send(topic, JSON.stringify({ topic, timestamp: Math.floor(Date.now() / 1000), msg_id: 'arm', msg: {} }));
    pub.close();
    await eventually(
      async () => ((await metricOf(s.base, 'statscache_snapshot_failures_total')) >= 2 ? true : undefined),
      30_000,
      'two snapshots failed',
    );
    // Named: the plugin and where it holds the value, then the cause (not the data file: no disk failed).
    const said =
      /snapshots failing since \S+: the value of plugin "unencodable" in store "v" at key "x" cannot be encoded: the value failed to encode/;
    for (const path of ['/healthz', '/readyz']) {
      const res = await getJson(`${s.base}${path}`);
      expect(res.status).toBe(200);
      expect((res.body as { degraded?: string }).degraded).toMatch(said);
    }
    expect(await metricOf(s.base, 'statscache_degraded')).toBe(1);
    expect(await metricOf(s.base, 'statscache_healthy')).toBe(1);
  }, 90_000);
});
