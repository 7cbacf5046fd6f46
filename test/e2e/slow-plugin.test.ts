import { afterAll, describe, expect, it } from 'vitest';
import { metricOf, metricsText, sampleOf, waitReady, joinedPublisher } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { pluginConfig } from '../helpers/plugin-config.js';

/**
 * An operator plugin whose update runs for seconds holds the whole event loop: reads, pushes
 * and probes wait. Before, only nodejs_eventloop_lag_max_seconds showed it, naming no plugin,
 * and /readyz said ok once it answered. Now the slow plugin is named in the degraded reason
 * and counted per plugin in /metrics.
 */
const SLOW = `export default {
  name: 'Slow', summary: 's', description: 'd', columns: ['n'], key: ['timestamp'],
  update(message, { rows }) {
    // A badly written plugin: as if it walked a huge structure per message. Date.now() is whole
    // milliseconds: '<=' spins at least spin_ms of real time ('<' could stop up to 1 ms short).
    const until = Date.now() + Number(message.body.spin_ms ?? 0);
    while (Date.now() <= until) {}
    rows.put({ timestamp: message.timestamp, n: 1 });
  },
};`;

const degradedOf = async (base: string, path: string) =>
  ((await getJson(`${base}${path}`)).body as { degraded?: string }).degraded ?? '';

describe('a plugin that holds the event loop', () => {
  const dir = tempDir();
  const config = pluginConfig(dir.path, { 'slow.mjs': SLOW });
  let svc: RunningService | null = null;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('is named in /readyz and /healthz and counted in /metrics; quick plugins are not', async () => {
    svc = await startService(['--config', config]);
    const s = svc;
    await waitReady(s);
    const pub = await joinedPublisher(s);
    const now = Math.floor(Date.now() / 1000);
    const message = (n: number, spin: number) => ({
      topic: 'org.fedoraproject.prod.buildsys.build.state.change',
      timestamp: now - 10 + n,
      msg_id: `2026-slow-${n}`,
      msg: { owner: 'ralph', name: 'kernel', spin_ms: spin },
    });
    // A quick message first: applied, nothing slow.
    const quick = message(1, 0);
    await eventually(
      async () => {
        await pub.send(quick.topic, JSON.stringify(quick));
        return (await metricOf(s.base, 'statscache_plugin_messages_applied_total', 'plugin="slow"')) >= 1 || undefined;
      },
      15_000,
      'the quick message applied',
    );
    expect(await metricOf(s.base, 'statscache_plugin_slow_batches_total', 'plugin="slow"')).toBe(0);
    expect(await degradedOf(s.base, '/readyz')).not.toMatch(/held the event loop/);

    const slow = message(2, 1500);
    await pub.send(slow.topic, JSON.stringify(slow));
    await eventually(
      async () => (await metricOf(s.base, 'statscache_plugin_slow_batches_total', 'plugin="slow"')) === 1 || undefined,
      15_000,
      'the slow batch counted',
    );
    pub.close();
    const text = await metricsText(s.base);
    expect(sampleOf(text, 'statscache_plugin_apply_seconds_total', 'plugin="slow"')).toBeGreaterThanOrEqual(1.5);
    // The other plugins applied the same message in no time: none is counted or named.
    expect(sampleOf(text, 'statscache_plugin_messages_applied_total', 'plugin="volume-1m"')).toBeGreaterThanOrEqual(2);
    expect(sampleOf(text, 'statscache_plugin_slow_batches_total', 'plugin="volume-1m"')).toBe(0);
    expect(sampleOf(text, 'statscache_plugin_apply_seconds_total', 'plugin="volume-1m"')).toBeLessThan(1);
    const ready = await getJson(`${s.base}/readyz`);
    expect(ready.status).toBe(200);
    const degraded = (ready.body as { degraded?: string }).degraded ?? '';
    expect(degraded).toMatch(
      /plugin held the event loop applying one batch in the last 5 min.*: slow \(\d+\.\d s for 1 message\)/,
    );
    expect(degraded).not.toMatch(/volume-1m \(/);
    expect(await degradedOf(s.base, '/healthz')).toBe(degraded);
    expect(sampleOf(text, 'statscache_degraded')).toBe(1);
  }, 60_000);
});
