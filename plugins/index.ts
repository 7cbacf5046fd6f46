import type { AnyPluginDefinition } from '../actors/plugin-api.js';
import { volume } from './volume.js';
import { volumeByCategory } from './volume-by-category.js';

/**
 * Retention per bucket width: fine buckets are only interesting recently, coarse ones for
 * years. Memory per tracked key is about 150 bytes (row object + index entries).
 */
export const DEFAULT_RETENTION: Readonly<Record<string, string>> = {
  '1s': '6h',
  '5s': '1d',
  '15s': '2d',
  '1m': '7d',
  '1h': '365d',
  '1d': '3650d',
};

const retention = (interval: string): string | undefined => DEFAULT_RETENTION[interval];

/** The plugins every statscache serves, in the order `/api/` lists them. */
export function builtinPlugins(): AnyPluginDefinition[] {
  return [
    ...['1s', '5s', '1m'].map((i) => volume(i, retention(i))),
    ...['1s', '15s', '1m', '1h', '1d'].map((i) => volumeByCategory(i, retention(i))),
  ];
}
