/**
 * A plugin whose update throws on most messages loses each of them for good (dropped as
 * update_error), but quarantine (50 errors in a row) never catches one that succeeds now and
 * then: throwing on 9 of every 10 messages, it stayed live, and /healthz, /readyz and
 * statscache_degraded said nothing. A few errors (under 20 lately) still degrade nothing.
 */
import { describe, expect, it } from 'vitest';
import { pluginService } from '../helpers/plugin-service.js';
import { joinedPublisher, metricOf } from '../helpers/probes.js';
import { eventually, getJson, type RunningService } from '../helpers/service-process.js';

const PLUGIN = `export default { name: 'Mostly', summary: 's', description: 'd', columns: ['n'], key: ['timestamp'],
  update(m) { if (m.topic.includes('boom')) throw new Error('plugin bug'); } };`;
const OK = 'org.fedoraproject.prod.wiki.article.edit';
const BOOM = 'org.fedoraproject.prod.wiki.article.boom';

const degradedOf = async (s: RunningService, path: string) => {
  const res = await getJson(`${s.base}${path}`);
  expect(res.status).toBe(200);
  return (res.body as { degraded?: string }).degraded;
};

describe('a plugin throwing on most of its messages', () => {
  const { serve } = pluginService({ 'mostly.mjs': PLUGIN }, { ready: true });

  it('is not quarantined, and /healthz, /readyz and statscache_degraded say it is losing them', async () => {
    const s = await serve();
    const pub = await joinedPublisher(s);
    const now = Math.floor(Date.now() / 1000);
    let n = 0;
    const send = (topic: string) =>
      pub.send(topic, JSON.stringify({ topic, timestamp: now, msg_id: `2026-mostly-${n++}`, msg: {} }));
    const received = (total: number) =>
      eventually(
        async () =>
          (await metricOf(s.base, 'statscache_plugin_messages_received_total', 'plugin="mostly"')) === total
            ? true
            : undefined,
        30_000,
        `${total} messages received by the plugin`,
      );
    // A few errors among many successes: nothing to say.
    for (let i = 0; i < 55; i++) await send(i % 11 === 0 ? BOOM : OK);
    await received(55);
    expect(await degradedOf(s, '/healthz')).toBeUndefined();
    expect(await metricOf(s.base, 'statscache_degraded')).toBe(0);
    // Nine in ten throw, never 50 in a row.
    for (let i = 0; i < 70; i++) await send(i % 10 === 0 ? OK : BOOM);
    await received(125);
    pub.close();
    expect(await metricOf(s.base, 'statscache_plugin_lifecycle', 'plugin="mostly",state="quarantined"')).toBe(0);
    const said =
      /plugin throwing on most of its messages lately \(each dropped for the plugin as update_error: its views miss it\): mostly \(\d+ of its last \d+ messages\)/;
    expect(await degradedOf(s, '/healthz')).toMatch(said);
    expect(await degradedOf(s, '/readyz')).toMatch(said);
    expect(await metricOf(s.base, 'statscache_degraded')).toBe(1);
  }, 90_000);
});
