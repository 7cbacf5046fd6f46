import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { DEFAULT_QUARANTINE_AFTER } from '../../actors/plugin-runtime.js';
import { builtinPlugins } from '../../plugins/index.js';
import { eventually } from '../helpers/service-process.js';
import { serve, type Served } from './harness.js';

type Row = { timestamp: number; title: string };

/** Breaks on every message whose body lacks a title: a plugin bug that a burst of such messages exposes. */
const brittle = definePlugin({
  name: 'Brittle',
  summary: 's',
  description: 'd',
  topics: ['org.fedoraproject.prod.wiki.'],
  rows: rowsOf<Row>(),
  columns: ['title'],
  key: ['title'],
  update(m, { rows }) {
    const title = (m.body as { title?: unknown }).title;
    if (typeof title !== 'string') throw new Error('no title');
    rows.put({ timestamp: m.timestamp, title });
  },
});

const now = () => Math.floor(Date.now() / 1000);
const wiki = (i: number, msg: Record<string, unknown>) => ({
  topic: 'org.fedoraproject.prod.wiki.article.edit',
  timestamp: now() - 60 + i / 1000,
  msg_id: `quarantine-${i}`,
  msg,
});

describe('a plugin quarantined after repeated update errors', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve([brittle, ...builtinPlugins()]);
  });
  afterAll(async () => s?.close());

  it('drops its messages as "quarantined" and says so in /plugins and /metrics, while the other plugins go on', async () => {
    await s.publish([wiki(0, { title: 'Before' })]);
    const failing = Array.from({ length: DEFAULT_QUARANTINE_AFTER }, (_, i) => wiki(1 + i, { user: 'u' }));
    // Good messages inside the cool-down: counted, not applied.
    await s.publish([...failing, wiki(100, { title: 'During' }), wiki(101, { title: 'During 2' })]);
    type Info = {
      ident: string;
      lifecycle: string;
      rows: number;
      counters: { applied: number; dropped: Record<string, number> };
    };
    const info = await eventually(
      async () => {
        const plugins = ((await (await fetch(`${s.base}/plugins`)).json()) as { plugins: Info[] }).plugins;
        const mine = plugins.find((p) => p.ident === 'brittle');
        return mine && mine.counters.dropped['quarantined'] === 2 ? mine : undefined;
      },
      10_000,
      'the quarantine to show in /plugins',
    );
    expect(info.lifecycle).toBe('quarantined');
    expect(info.counters.dropped['update_error']).toBe(DEFAULT_QUARANTINE_AFTER);
    expect(info.counters.applied).toBe(1);
    expect(info.rows).toBe(1);
    const metrics = await (await fetch(`${s.base}/metrics`)).text();
    expect(metrics).toMatch(/^statscache_plugin_lifecycle\{plugin="brittle",state="quarantined"\} 1$/m);
    expect(metrics).toMatch(/^statscache_plugin_lifecycle\{plugin="brittle",state="live"\} 0$/m);
    expect(metrics).toMatch(/^statscache_plugin_messages_dropped_total\{plugin="brittle",reason="quarantined"\} 2$/m);
    // A built-in plugin that reads the same messages stayed live and counted every one.
    const volume = ((await (await fetch(`${s.base}/plugins`)).json()) as { plugins: Info[] }).plugins.find(
      (p) => p.ident === 'volume-1m',
    )!;
    expect(volume.lifecycle).toBe('live');
    // Ready, but not fully trustworthy: the health checks say which plugin stands still.
    const ready = await fetch(`${s.base}/readyz`);
    expect(ready.status).toBe(200);
    expect(((await ready.json()) as { degraded?: string }).degraded).toMatch(
      /plugin quarantined after repeated update errors \(their messages are dropped\): brittle$/,
    );
    expect(((await (await fetch(`${s.base}/healthz`)).json()) as { degraded?: string }).degraded).toMatch(/brittle$/);
    expect(metrics).toMatch(/^statscache_degraded 1$/m);
    expect(volume.counters.applied).toBeGreaterThanOrEqual(DEFAULT_QUARANTINE_AFTER + 3);
  });
});
