import { definePlugin, type PluginDefinition } from '../actors/plugin-api.js';
import { withRetention } from './retention.js';

export interface VolumeRow {
  readonly timestamp: number;
  readonly volume: number;
}

/** Messages per time bucket, over the whole bus. */
export function volume(interval: string, retention?: string): PluginDefinition<VolumeRow> {
  return definePlugin<VolumeRow>({
    name: 'Volume',
    interval,
    ...withRetention(retention),
    summary: `Number of bus messages per ${interval} bucket`,
    description:
      'Counts every message on the bus in fixed time buckets aligned on the UNIX epoch. ' +
      'Each row is one bucket, stamped with the end of the bucket, with the number of messages whose own timestamp falls in it.',
    columns: ['volume'],
    key: ['timestamp'],
    update(_message, { rows, bucket }) {
      const key = String(bucket);
      rows.set(key, { timestamp: bucket, volume: (rows.get(key)?.volume ?? 0) + 1 });
    },
  });
}
