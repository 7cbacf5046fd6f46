import { createServer, type Server } from 'node:http';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { bootstrapFromPeer } from '../../src/bootstrap.js';
import { encodeExport } from '../../src/commands/export-format.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { createLogger } from '../../src/logger.js';
import { Journal } from '../../snapshots/journal.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { exportMeta } from '../helpers/export-meta.js';
import { MovedClock } from '../helpers/moved-clock.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * `--bootstrap` judges the peer's journal tail against the clock (messages dated past
 * --max-clock-skew ahead are not journaled, as `snapshot import` does). It read Date.now, not the
 * service's clock as every other bound on time does: a test could not move it, and the bootstrap
 * judged by another clock than the service that then runs on what it wrote.
 */
const TOKEN = 'bootstrap-clock-token-0123456789';
const HOUR_MS = 3_600_000;
let body: Buffer = Buffer.alloc(0);
const server: Server = createServer((_req, res) => {
  res.writeHead(200, { 'Content-Type': 'application/vnd.statscache.snapshot', 'Content-Length': body.byteLength });
  res.end(body);
});
const listening = new Promise<number>((r) =>
  server.listen(0, '127.0.0.1', () => r((server.address() as { port: number }).port)),
);
const dir = tempDir();
afterAll(() => {
  server.close();
  dir.remove();
});

/** Bootstraps a fresh data dir on `clock` from an export whose tail is one message dated `at` (epoch ms); the ids journaled. */
async function bootstrapOn(name: string, clock: MovedClock, at: number): Promise<string[]> {
  const message: Envelope = {
    topic: 'org.fedoraproject.prod.git.receive',
    msg_id: `${name}-message`,
    timestamp: Math.floor(at / 1000),
    msg: { commit: { username: 'alice' } },
  };
  body = encodeExport({
    kind: 'statscache-snapshot',
    exportedAt: 0,
    meta: exportMeta(),
    plugins: {},
    journalTail: [message],
  });
  const dataDir = join(dir.path, name);
  const config = loadConfig({
    flags: { dataDir, bootstrap: `http://127.0.0.1:${await listening}` },
    env: { STATSCACHE_ADMIN_TOKEN: TOKEN },
  });
  await bootstrapFromPeer(config, createLogger('silent'), { clock });
  const store = new DataStore(dataDir, { readOnly: true });
  try {
    const journal = new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined });
    return [...journal.after(0, { remember: false })].map((e) => String(e.envelope.msg_id));
  } finally {
    await store.close();
  }
}

describe('--bootstrap on the service clock', () => {
  it('keeps a tail message an hour past the host clock when the service clock is there too', async () => {
    const clock = new MovedClock();
    clock.moveOn(HOUR_MS);
    // Before: skipped as 3600 s ahead of Date.now, though not ahead of the service's clock.
    expect(await bootstrapOn('ahead', clock, clock.now())).toEqual(['ahead-message']);
  });

  it('skips a tail message of the host clock when the service clock is an hour behind it', async () => {
    const clock = new MovedClock();
    clock.moveOn(-HOUR_MS);
    // Before: journaled, judged against Date.now; the service then ran an hour behind it.
    expect(await bootstrapOn('behind', clock, clock.now() + HOUR_MS)).toEqual([]);
  });
});
