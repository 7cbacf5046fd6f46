import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

type Row = { timestamp: number; topic: string; n: number };

/** Counts per topic and minute; throws for topics containing "boom" (the quarantine tests' plugin). */
export const fragile = definePlugin({
  name: 'Fragile',
  summary: 's',
  description: 'd',
  rows: rowsOf<Row>(),
  columns: ['topic', 'n'],
  key: ['timestamp', 'topic'],
  interval: '1m',
  update(m, { rows, bucket }) {
    if (m.topic.includes('boom')) throw new Error('plugin bug');
    rows.put({
      timestamp: bucket,
      topic: m.topic,
      n: (rows.get(rows.keyOf({ timestamp: bucket, topic: m.topic }))?.n ?? 0) + 1,
    });
  },
});

/** A message of `topic` at `timestamp`, as the intake hands it to plugins. */
export const msg = (topic: string, timestamp: number) => createPluginMessage({ topic, timestamp, msg: {} }, deriveMeta);

/** Stores a value msgpack cannot encode (a BigInt past 64 bits) once a message asks for it: a snapshot write of it throws. */
export const unencodable = definePlugin({
  name: 'Unencodable',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; key: string }>(),
  columns: ['key'],
  key: ['key'],
  stores: { v: store<unknown>() },
  update(m, { stores }) {
    if ((m.body as { big?: unknown }).big === true) stores.v.set('big', 10n ** 30n);
  },
});
