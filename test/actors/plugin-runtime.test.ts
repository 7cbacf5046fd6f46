import { describe, expect, it } from 'vitest';
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { queryView } from '../../actors/view-query.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

type Row = { timestamp: number; topic: string; n: number };

/** Counts per topic, but throws half-way through for topics containing "boom". */
const fragile = definePlugin({
  name: 'Fragile',
  summary: 's',
  description: 'd',
  rows: rowsOf<Row>(),
  columns: ['topic', 'n'],
  key: ['timestamp', 'topic'],
  interval: '1m',
  retention: '5m',
  update(m, { rows, bucket }) {
    rows.put({
      timestamp: bucket,
      topic: m.topic,
      n: (rows.get(rows.keyOf({ timestamp: bucket, topic: m.topic }))?.n ?? 0) + 1,
    });
    if (m.topic.includes('boom')) throw new Error('plugin bug');
  },
});

const msg = (topic: string, timestamp: number) => createPluginMessage({ topic, timestamp, msg: {} }, deriveMeta);

describe('plugin runtime', () => {
  it('keeps the actor running when a plugin throws, losing only that message for that plugin', () => {
    const errors: string[] = [];
    const host = new PluginHost(registerPlugins([fragile]), (ident, err) =>
      errors.push(`${ident}: ${(err as Error).message}`),
    );
    const rt = host.get('fragile-1m');
    if (!rt) throw new Error('not registered');
    rt.send(msg('a.b.c.ok', 10));
    rt.send(msg('a.b.c.boom', 20));
    rt.send(msg('a.b.c.ok', 30));
    expect(errors).toEqual(['fragile-1m: plugin bug']);
    expect(rt.inspect().counters).toMatchObject({ received: 3, applied: 2, dropped: { update_error: 1, expired: 0 } });
    // The half-applied write of the throwing message was rolled back.
    expect([...rt.inspect().rows.values()]).toEqual([{ timestamp: 60, topic: 'a.b.c.ok', n: 2 }]);
    host.stop();
  });

  it('evicts rows past retention and drops messages older than it', () => {
    const host = new PluginHost(registerPlugins([fragile]), () => {});
    const rt = host.get('fragile-1m');
    if (!rt) throw new Error('not registered');
    for (const t of [0, 60, 120, 600]) rt.send(msg('a.b.c.x', t));
    // Newest bucket ends at 660; 5 minutes of retention keeps buckets ending at >= 360.
    expect([...rt.inspect().rows.values()].map((r) => r.timestamp)).toEqual([660]);
    expect(rt.inspect().counters.evicted).toBe(3);
    rt.send(msg('a.b.c.x', 10));
    expect(rt.inspect().counters.dropped.expired).toBe(1);
    expect(queryView(rt, { order: 'desc', page: 1, rowsPerPage: 10, params: {} }).total).toBe(1);
    host.stop();
  });
  it('keeps rows within the key cap by evicting the oldest rows, and drops a message that would grow a store past it', () => {
    const perUser = definePlugin({
      name: 'Per user',
      summary: 's',
      description: 'd',
      rows: rowsOf<{ timestamp: number; user: string }>(),
      columns: ['user'],
      key: ['timestamp', 'user'],
      interval: '1m',
      stores: { seen: store<number>() },
      update(m, { rows, stores, bucket }) {
        for (const user of m.meta.usernames) rows.put({ timestamp: bucket, user });
        const first = (m.body as { first?: string }).first;
        if (first) stores.seen.set(first, m.timestamp);
      },
    });
    const host = new PluginHost(registerPlugins([perUser]), () => {}, { maxKeys: 100 });
    const rt = host.get('per-user-1m');
    if (!rt) throw new Error('not registered');
    const wiki = (t: number, users: number, first?: string) =>
      createPluginMessage(
        {
          topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
          timestamp: t,
          msg: {
            attendees: Object.fromEntries(Array.from({ length: users }, (_, i) => [`u${t}-${i}`, 1])),
            ...(first ? { first } : {}),
          },
        },
        deriveMeta,
      );
    rt.send(wiki(60, 80));
    rt.send(wiki(120, 50));
    // 130 rows would exceed 100: the 30 oldest (all from the first bucket) made room.
    expect(rt.inspect().rows.size).toBe(100);
    expect(rt.inspect().counters.capEvicted).toBe(30);
    expect([...rt.inspect().rows.values()].filter((r) => r.timestamp === 180)).toHaveLength(50);
    expect(rt.inspect().rows.oldestTimestamp).toBe(120);
    for (let i = 0; i < 100; i++) rt.send(wiki(200 + i, 0, `k${i}`));
    expect(rt.inspect().stores['seen']?.size).toBe(100);
    rt.send(wiki(400, 1, 'one-too-many'));
    // The whole message was rolled back for this plugin: its row is not there either.
    expect(rt.inspect().counters.dropped.key_cap).toBe(1);
    expect(rt.inspect().stores['seen']?.size).toBe(100);
    expect(rt.inspect().rows.has(rt.inspect().rows.keyOf({ timestamp: 420, user: 'u400-0' }))).toBe(false);
    host.stop();
  });
  it('derives each row key from the key columns, and refuses a hand-built key that disagrees with them', () => {
    // The bug this guards against: key ['topic'] but one row per (bucket, topic): HTTP served 3 rows, WebSocket 1.
    const wrong = definePlugin({
      name: 'Wrong key',
      summary: 's',
      description: 'd',
      rows: rowsOf<Row>(),
      columns: ['topic', 'n'],
      key: ['topic'],
      interval: '1m',
      update(m, { rows, bucket }) {
        rows.set(`${bucket}|${m.topic}`, { timestamp: bucket, topic: m.topic, n: 1 });
      },
    });
    const errors: string[] = [];
    const host = new PluginHost(registerPlugins([wrong, fragile]), (_ident, err) =>
      errors.push(String((err as { code?: string }).code)),
    );
    const bad = host.get('wrong-key-1m')!;
    bad.send(msg('a.b.c.x', 10));
    expect(bad.inspect().rows.size).toBe(0);
    expect(bad.inspect().counters.dropped.update_error).toBe(1);
    expect(errors).toEqual(['SC_PLUGIN_ROW_KEY']);
    const good = host.get('fragile-1m')!;
    for (const t of [10, 70, 130]) good.send(msg('a.b.c.x', t));
    expect([...good.inspect().rows.keys()]).toEqual(['60\u001fa.b.c.x', '120\u001fa.b.c.x', '180\u001fa.b.c.x']);
    // Separators inside values are escaped, so two different rows never share a key.
    expect(good.inspect().rows.keyOf({ timestamp: 1, topic: 'a\u001fb' })).not.toBe(
      good.inspect().rows.keyOf({ timestamp: '1\u001fa', topic: 'b' }),
    );
    host.stop();
  });
});
