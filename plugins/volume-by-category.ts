import { definePlugin, type PluginDefinition } from '../actors/plugin-api.js';
import { withRetention } from './retention.js';

export interface VolumeByCategoryRow {
  readonly timestamp: number;
  readonly category: string;
  readonly volume: number;
}

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
      const category = message.category;
      const previous = rows.lookup({ timestamp: bucket, category, volume: 0 });
      rows.write({ timestamp: bucket, category, volume: (previous?.volume ?? 0) + 1 });
    },
  });
}
