/**
 * An in-process service with one snapshot slot (--snapshot-generations 1) and a journal that lets
 * go of messages past an hour (--journal-max-age 1h), every built-in plugin plus the test's own:
 * fed messages two hours old, a good snapshot is then all that holds them, so a restart shows
 * whether what was snapshotted survived (test/snapshots/one-generation-throw, untimed-rows).
 */
import type { AnyPluginDefinition } from '../../actors/plugin-api.js';
import type { Row } from '../../actors/row-store.js';
import { builtinPlugins } from '../../plugins/index.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { servedViews } from './reference.js';
import { tempDir } from './service-process.js';

export const VOLUME = 'volume-by-category-1d';

export interface OneGeneration {
  /** A fresh service on the same data directory: call it again to restart. */
  build(): Promise<Service>;
  /** Messages counted by volume-by-category-1d, as served over HTTP. */
  volume(service: Service): Promise<number>;
  remove(): void;
}

export function oneGeneration(plugin: AnyPluginDefinition): OneGeneration {
  const data = tempDir();
  const config = loadConfig({
    env: {},
    flags: {
      dataDir: data.path,
      port: 0,
      host: '127.0.0.1',
      bind: ['tcp://127.0.0.1:*'],
      // Messages are taken in with accept(), never published: a bus thread per start would only
      // load zeromq to read an idle socket (still bound).
      busThread: false,
      snapshotGenerations: 1,
      journalMaxAge: '1h',
    },
  });
  return {
    build: () =>
      Service.build({
        config,
        logger: createLogger('silent'),
        plugins: [...builtinPlugins(), plugin],
        checkDataFile: false,
      }),
    async volume(service) {
      const rows = (await servedViews(`http://127.0.0.1:${service.server?.port}`, [VOLUME])).get(VOLUME) as (Row & {
        volume?: number;
      })[];
      return rows.reduce((n, r) => n + (r.volume ?? 0), 0);
    },
    remove: () => data.remove(),
  };
}
