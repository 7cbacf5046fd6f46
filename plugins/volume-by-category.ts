import { definePlugin, type PluginDefinition } from '../actors/plugin-api.js';
import { plainRow } from './plain-row.js';
import { withRetention } from './retention.js';

export interface VolumeByCategoryRow {
  readonly timestamp: number;
  readonly category: string;
  readonly volume: number;
}

/** A row with a hidden class of its own, so its whole-bucket `timestamp` stays a small integer (plain-row.ts). */
const CategoryRow = plainRow(function (
  this: { timestamp: number; category: string; volume: number },
  timestamp: number,
  category: string,
  volume: number,
) {
  this.timestamp = timestamp;
  this.category = category;
  this.volume = volume;
});

/** Messages per (category, time bucket); the category is the 4th topic token. */
export function volumeByCategory(interval: string, retention?: string): PluginDefinition<VolumeByCategoryRow> {
  return definePlugin<VolumeByCategoryRow>({
    name: 'Volume by category',
    interval,
    ...withRetention(retention),
    summary: `Number of bus messages per category per ${interval} bucket`,
    description:
      'Counts messages per category (the 4th dot-separated token of the topic: buildsys, bodhi, git…) ' +
      'in fixed time buckets aligned on the UNIX epoch. One row per category that had messages in a bucket, ' +
      'stamped with the end of the bucket.',
    columns: ['category', 'volume'],
    key: ['timestamp', 'category'],
    update(message, { rows, bucket }) {
      // lookup() and write(): no key string is built to be parsed back, nor in replay at all (actors/row-store.ts, write).
      // The row looked up with is the one stored, its volume set once the stored row is read (no second row made).
      const row = new CategoryRow(bucket, message.category, 1);
      const previous = rows.lookup(row);
      if (previous !== undefined) row.volume = previous.volume + 1;
      rows.write(row);
    },
  });
}
