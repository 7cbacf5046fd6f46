import { definePlugin, type PluginDefinition } from '../actors/plugin-api.js';
import { joinKey } from './fields.js';
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
      const key = joinKey(bucket, message.category);
      rows.set(key, { timestamp: bucket, category: message.category, volume: (rows.get(key)?.volume ?? 0) + 1 });
    },
  });
}
