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

/** One row and one store entry, rewritten by every message: its entry counts never change (the snapshot-failure tests' plugin). */
export const tally = definePlugin({
  name: 'Tally',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; key: string; n: number }>(),
  columns: ['key', 'n'],
  key: ['key'],
  stores: { n: store<number>() },
  update(m, { rows, stores }) {
    const n = (stores.n.get('all') ?? 0) + 1;
    stores.n.set('all', n);
    rows.put({ timestamp: m.timestamp, key: 'all', n });
  },
});

/** A message of `topic` at `timestamp`, as the intake hands it to plugins. */
export const msg = (topic: string, timestamp: number) => createPluginMessage({ topic, timestamp, msg: {} }, deriveMeta);

/**
 * Makes snapshot writes throw part-way while failEncoding(true): a message asking for it stores a
 * value whose one member is a getter that throws while armed. A value the container refuses (a
 * bigint past 64 bits, a cycle) never gets that far, nor can a stored one be changed afterwards
 * (frozen); this stands for any failure in the middle of a write. Armed only around the snapshot
 * (the container's check and the digest read the member too).
 */
let armed = false;
export const failEncoding = (on: boolean): void => {
  armed = on;
};
export const unencodable = definePlugin({
  name: 'Unencodable',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; key: string }>(),
  columns: ['key'],
  key: ['key'],
  stores: { v: store<unknown>() },
  update(m, { stores }) {
    if ((m.body as { big?: unknown }).big !== true) return;
    stores.v.set('big', {
      get n(): number {
        if (armed) throw new Error('the value failed to encode');
        return 1;
      },
    });
  },
});
