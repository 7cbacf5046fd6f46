import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/**
 * Writes operator plugin modules (file name → source) into `dir` and a config file that loads
 * them, with the data dir under `dir/data` and any other settings in `extra`; returns the
 * config file's path, for `startService(['--config', path])`.
 */
export function pluginConfig(
  dir: string,
  modules: Record<string, string>,
  extra: Record<string, unknown> = {},
): string {
  for (const [file, source] of Object.entries(modules)) writeFileSync(join(dir, file), source);
  const config = join(dir, 'config.json');
  writeFileSync(
    config,
    JSON.stringify({ plugins: Object.keys(modules).map((f) => `./${f}`), dataDir: join(dir, 'data'), ...extra }),
  );
  return config;
}

/**
 * An operator plugin module's source (a per-topic counter): state a data dir's generations hold
 * for a plugin later taken out of the config (`snapshot drop-plugin`).
 */
export const KOJI = `export default {
  name: 'Koji', summary: 's', description: 'd',
  columns: ['topic', 'n'], key: ['topic'],
  update(message, { rows }) {
    rows.put({ timestamp: message.timestamp, topic: message.topic, n: (rows.get(message.topic)?.n ?? 0) + 1 });
  },
};`;
