/**
 * Two backups of one replica, an older (A) and a newer (B), imported one after the other into
 * the same data dir, in either order, then served: each start must count what the newest
 * readable generation's backup holds plus what the journal holds on top of it, every message
 * once, and so must a start that falls back to the other import's generation.
 */
import { cpSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Row } from '../../actors/row-store.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { Journal } from '../../snapshots/journal.js';
import { messageId } from '../../snapshots/journal-record.js';
import { damageNewestGeneration } from '../helpers/corrupt-snapshots.js';
import { dataDirSession } from '../helpers/data-dir-session.js';
import { FakeDatagrepper, type Stored } from '../helpers/fake-datagrepper.js';
import { recentSamples } from '../helpers/fixtures.js';
import { servedViews } from '../helpers/reference.js';
import { tempDir } from '../helpers/service-process.js';
import { acceptedOnce, type Sample } from '../history/feed.js';
import { runCli } from './cli.js';

const VOLUME = 'volume-by-category-1d';
const silent = createLogger('silent');

describe('two backups imported into one data dir', () => {
  const root = tempDir();
  const source = join(root.path, 'source');
  const fileA = join(root.path, 'a.scx');
  const fileB = join(root.path, 'b.scx');
  const now = Math.floor(Date.now() / 1000);
  // 510 messages one second apart: A holds the first 200, B the first 400; each export's tail is 50 s.
  const samples = acceptedOnce(recentSamples(now) as Sample[]);
  const inA = samples.slice(0, 200);
  const inB = samples.slice(0, 400);
  let dirs = 0;
  // No bus thread: nothing is published to these services, and each of the 17 starts paid for a
  // thread loading zeromq (~0.15 s of CPU apiece) that only read an idle socket.
  const config = (dataDir: string, extra: Record<string, unknown> = {}) =>
    loadConfig({
      env: {},
      flags: {
        dataDir,
        port: 0,
        host: '127.0.0.1',
        bind: ['tcp://127.0.0.1:*'],
        busThread: false,
        snapshotGenerations: 3,
        ...extra,
      },
    });
  // The replica's whole history (510 messages), as a peer's /raw or datagrepper would serve it.
  let history: FakeDatagrepper;

  const session = (dataDir: string, messages: readonly Sample[]) => dataDirSession(config(dataDir), messages);

  const exportTo = async (file: string) => {
    const done = await runCli(['snapshot', 'export', file, '--data-dir', source, '--journal-tail', '50']);
    expect(done.code, done.stderr).toBe(0);
  };

  beforeAll(async () => {
    history = await new FakeDatagrepper().start();
    history.messages.push(...(samples as unknown as Stored[]));
    await session(source, inA);
    await exportTo(fileA);
    await session(source, samples.slice(200, 400));
    await exportTo(fileB);
  }, 60_000);
  afterAll(async () => {
    await history.close();
    root.remove();
  });

  /**
   * Each order's imports, run once by the CLI into a data dir of their own (no process holds it
   * afterwards): the tests that start from the same order get copies of it. The CLI starts cost
   * ~1 s each on the loaded 2-core box and gave the same files every time.
   */
  const imported = new Map<string, Promise<string>>();
  const importOnce = (files: readonly string[]): Promise<string> => {
    const order = files.join('\n');
    let made = imported.get(order);
    if (!made) {
      made = (async () => {
        const dir = join(root.path, `imported-${imported.size}`);
        for (const file of files) {
          const done = await runCli(['snapshot', 'import', file, '--data-dir', dir]);
          expect(done.code, done.stderr).toBe(0);
        }
        return dir;
      })();
      imported.set(order, made);
    }
    return made;
  };

  /** A fresh data dir holding what importing `files` in that order into an empty one leaves. */
  const importedInto = async (...files: string[]): Promise<string> => {
    const dir = join(root.path, `target-${++dirs}`);
    cpSync(await importOnce(files), dir, { recursive: true });
    return dir;
  };

  /** How many distinct messages `backup` and the data dir's journal hold together. */
  const heldBy = async (dir: string, backup: readonly Sample[]): Promise<number> => {
    const ids = new Set(backup.map((m) => messageId(m as unknown as Envelope)));
    const store = new DataStore(dir, { readOnly: true });
    try {
      const journal = new Journal(store, { dedupeWindow: 1000, onWriteError: () => undefined });
      for (const entry of journal.byTime(0, Number.MAX_VALUE, 'asc')) ids.add(entry.id);
    } finally {
      await store.close();
    }
    return ids.size;
  };

  /** Starts a service on `dir`, returns the messages it counts and the generations it fell back past. */
  const served = async (
    dir: string,
    extra: Record<string, unknown> = {},
  ): Promise<{ counted: number; fellBack: (number | null)[]; refused: number }> => {
    const service = await Service.build({ config: config(dir, extra), logger: silent, checkDataFile: false });
    try {
      await service.start();
      const base = `http://127.0.0.1:${service.server?.port}`;
      const rows = (await servedViews(base, [VOLUME])).get(VOLUME) as (Row & { volume?: number })[];
      return {
        counted: rows.reduce((n, r) => n + (r.volume ?? 0), 0),
        fellBack: service.restored.fallbacks.map((f) => f.generation),
        refused: service.counters.backfillBeforeJournal,
      };
    } finally {
      await service.stop();
    }
  };

  it('newer then older: serves the older backup plus the journal, once, across restarts', async () => {
    const dir = await importedInto(fileB, fileA);
    const want = await heldBy(dir, inA);
    // B's 50 s tail is journaled on top of A: more than A, fewer than B.
    expect(want).toBeGreaterThan(inA.length);
    expect(want).toBeLessThan(inB.length);
    expect((await served(dir)).counted).toBe(want);
    expect((await served(dir)).counted).toBe(want);
  }, 60_000);

  it('newer then older, the older unreadable: falls back to the newer, each message once', async () => {
    const dir = await importedInto(fileB, fileA);
    const damaged = await damageNewestGeneration(dir, VOLUME);
    const want = await heldBy(dir, inB);
    const first = await served(dir);
    expect(first.fellBack).toEqual([damaged]);
    expect(first.counted).toBe(want);
    expect((await served(dir)).counted).toBe(want);
  }, 60_000);

  it('older then newer: serves the newer backup plus the journal, once, across restarts', async () => {
    const dir = await importedInto(fileA, fileB);
    const want = await heldBy(dir, inB);
    expect((await served(dir)).counted).toBe(want);
    expect((await served(dir)).counted).toBe(want);
  }, 60_000);

  it('older then newer, the newer unreadable: falls back to the older plus the journal, each message once', async () => {
    const dir = await importedInto(fileA, fileB);
    const damaged = await damageNewestGeneration(dir, VOLUME);
    const want = await heldBy(dir, inA);
    const first = await served(dir);
    expect(first.fellBack).toEqual([damaged]);
    expect(first.counted).toBe(want);
    expect((await served(dir)).counted).toBe(want);
  }, 60_000);

  it('into the replica itself, newer then older: every message it journaled, once, also on a fall back', async () => {
    const dir = join(root.path, 'replica');
    await session(dir, inB);
    for (const file of [fileB, fileA]) {
      const done = await runCli(['snapshot', 'import', file, '--data-dir', dir]);
      expect(done.code, done.stderr).toBe(0);
    }
    const want = await heldBy(dir, inA);
    expect(want).toBe(inB.length);
    expect((await served(dir)).counted).toBe(want);
    await damageNewestGeneration(dir, VOLUME);
    expect((await served(dir)).counted).toBe(want);
  }, 60_000);

  it('newer then older, then a start with --datagrepper: the history fills in what the older backup lacks, once', async () => {
    const dir = await importedInto(fileB, fileA);
    const first = await served(dir, { datagrepper: history.url });
    // Before: 360 of 510, the 150 messages dated between A and B's tail refused as already counted (B's mark).
    expect(first.counted).toBe(samples.length);
    expect((await served(dir)).counted).toBe(samples.length);
  }, 60_000);

  it('newer then older, the older unreadable, --datagrepper: falls back to the newer and takes only what it lacks', async () => {
    const dir = await importedInto(fileB, fileA);
    const damaged = await damageNewestGeneration(dir, VOLUME);
    const first = await served(dir, { datagrepper: history.url });
    expect(first.fellBack).toEqual([damaged]);
    // B counts what it holds before its tail without ids: the history's copies of those are refused.
    expect(first.refused).toBeGreaterThan(0);
    expect(first.counted).toBe(samples.length);
  }, 60_000);

  it('newer then older, backfilled, then every generation but the newer backup unreadable: each message once', async () => {
    const dir = await importedInto(fileB, fileA);
    expect((await served(dir, { datagrepper: history.url })).counted).toBe(samples.length);
    // That start's final snapshot and the older backup's generation both fail their checksums.
    const newest = await damageNewestGeneration(dir, VOLUME);
    const older = await damageNewestGeneration(dir, VOLUME, newest - 1);
    const fallen = await served(dir);
    expect(fallen.fellBack).toEqual([newest, older]);
    // The history's copies of what B counts without ids were journaled under A: not replayed on B.
    expect(fallen.counted).toBe(samples.length);
  }, 60_000);

  it('older then newer, the newer unreadable, --datagrepper: falls back to the older and takes what it lacks', async () => {
    const dir = await importedInto(fileA, fileB);
    const damaged = await damageNewestGeneration(dir, VOLUME);
    const first = await served(dir, { datagrepper: history.url });
    expect(first.fellBack).toEqual([damaged]);
    // Before: 361 of 510, B's mark kept on A's state refused the 150 messages between them.
    expect(first.counted).toBe(samples.length);
    expect((await served(dir)).counted).toBe(samples.length);
  }, 60_000);
});
