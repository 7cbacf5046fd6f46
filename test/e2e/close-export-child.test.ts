import { describe, expect, it } from 'vitest';
import { childrenWith } from '../helpers/children.js';
import { adminServiceForBlock, holdExportChild } from '../helpers/export-service.js';
import { recentSamples } from '../helpers/fixtures.js';

/**
 * GET /admin/export runs a child process reading the data dir for up to --export-timeout (10
 * minutes by default). close() and stop() released the data dir and returned with it still
 * running: its exit handle and time bound kept the embedder's process alive, and a child that
 * had stopped answering outlived the service. Real service, real child (held stopped, so the
 * export is surely in progress when the service is closed), real HTTP.
 */
const TOKEN = 'close-export-token-0123456789';

async function exportInProgress(base: string, auth: Record<string, string>) {
  const answer = fetch(`${base}/admin/export`, { headers: auth }).then(
    async (r) => {
      await r.arrayBuffer().catch(() => undefined);
      return r.status;
    },
    () => 'cut' as const,
  );
  const deadline = Date.now() + 30_000;
  const child = await holdExportChild(() => expect(Date.now(), 'no export child within 30 s').toBeLessThan(deadline));
  return { answer, child };
}

describe('an export in progress', () => {
  // One service each: the first ends its own.
  const ends = [
    { by: 'close', start: adminServiceForBlock(TOKEN) },
    { by: 'stop', start: adminServiceForBlock(TOKEN) },
  ] as const;

  for (const { by, start } of ends) {
    it(`is ended by ${by}(): its child has exited when ${by}() returns`, async () => {
      const { service: s, base, auth } = await start();
      for (const m of recentSamples(Math.floor(Date.now() / 1000)).slice(0, 200)) s.accept(m as never);
      await s.settled();
      await s.snapshot();
      const { answer, child } = await exportInProgress(base, auth);
      await s[by]();
      expect(childrenWith('export-child.js')).toEqual([]);
      expect(() => process.kill(child, 0)).toThrow();
      // The request ended too (an error answer or the connection cut), not left waiting.
      expect(await answer).not.toBe(200);
    }, 30_000);
  }
});
