/**
 * A plugin value that cannot be encoded when a snapshot writes it (it passed the containers' check,
 * storable-value.ts, yet a member throws on the snapshot's read: a getter, a proxy's trap). The
 * snapshot failed inside its transaction callback, and the store's checked() took that for a
 * failed commit: a WriteFailedError, so POST /admin/snapshot said the data file could not be
 * written, and the store's write-failed flag was set, after which close() skips LMDB's flush.
 * It now fails naming the plugin, its store and key, and the cause; no disk is flagged. Real
 * service, real LMDB, the real admin route (in-process).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { WriteFailedError } from '../../snapshots/lmdb-store.js';
import { loadConfig } from '../../src/config.js';
import type { HttpRequest } from '../../src/http/responses.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { failEncoding, tally, unencodable } from '../helpers/fragile-plugin.js';
import { tempDir } from '../helpers/service-process.js';

const TOKEN = 'snapshot-unencodable-token';
const adminSnapshot: HttpRequest = {
  method: 'POST',
  path: '/admin/snapshot',
  query: '',
  header: (name) => (name === 'authorization' ? `Bearer ${TOKEN}` : ''),
};

const T = Math.floor(Date.now() / 1000) - 3600;

describe('a snapshot meeting a plugin value that cannot be encoded', () => {
  const data = tempDir();
  afterAll(() => data.remove());

  it('fails naming the plugin, store, key and cause, flags no disk, and the admin route says so', async () => {
    const config = loadConfig({ env: {}, flags: { dataDir: data.path, port: 0, adminToken: TOKEN } });
    const service = await Service.build({
      config,
      logger: createLogger('silent'),
      plugins: [tally, unencodable],
      checkDataFile: false,
    });
    const flag = () => (service as unknown as { parts: { store: { writeFailed: boolean } } }).parts.store.writeFailed;
    try {
      await service.recover();
      for (let i = 0; i < 3; i++)
        service.accept({
          topic: 'org.fedoraproject.prod.test.tally',
          timestamp: T + i,
          msg_id: `m-${i}`,
          msg: i === 2 ? { big: true } : {},
        } as never);
      await service.settled();
      failEncoding(true);
      let err: unknown;
      let answer: Awaited<ReturnType<Service['handle']>>;
      try {
        err = await service.snapshot().then(
          () => null,
          (e: unknown) => e,
        );
        answer = await service.handle(adminSnapshot);
      } finally {
        failEncoding(false);
      }
      expect(err).not.toBeInstanceOf(WriteFailedError);
      expect(String(err)).toMatch(
        /plugin "unencodable" .*store "v" .*key "big".*cannot be encoded: the value failed to encode/,
      );
      // The commit failed not: close() keeps its flush.
      expect(flag()).toBe(false);
      expect(answer.status).toBe(500);
      const body = JSON.parse(String(answer.body)) as { error: string; detail: string };
      expect(body.error).toBe('snapshot_failed');
      expect(body.detail).toMatch(/plugin "unencodable" .*key "big"/);
      expect(body.detail).not.toMatch(/data file/);
      expect(flag()).toBe(false);
    } finally {
      await service.close();
    }
  }, 30_000);
});
