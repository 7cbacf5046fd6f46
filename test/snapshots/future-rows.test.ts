import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { loadConfig } from '../../src/config.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { systemClock } from '../../src/clock.js';
import { Service } from '../../src/service.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { Journal } from '../../snapshots/journal.js';
import { openSession } from '../helpers/persistence.js';
import { openJournal } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/**
 * An older version accepted a message dated years ahead and snapshotted the row it made; that
 * row kept every retention watermark ahead of the clock. A start with today's code drops it.
 */
describe('rows restored from ahead of the clock', () => {
  it('are dropped at start and gone from the next snapshot', async () => {
    const d = tempDir();
    dirs.push(d);
    const now = Math.floor(Date.now() / 1000);
    const old = openSession(d.path, builtinPlugins(), { slots: 3, journalSeq: () => 0 });
    const daily = old.host.get('volume-by-category-1d')!;
    daily.send(
      createPluginMessage({ topic: 'org.fedoraproject.prod.buildsys.tag', timestamp: now - 3600, msg: {} }, deriveMeta),
    );
    daily.send(
      createPluginMessage(
        { topic: 'org.fedoraproject.prod.buildsys.tag', timestamp: now + 30 * 86_400, msg: {} },
        deriveMeta,
      ),
    );
    expect(daily.inspect().rows.size).toBe(2);
    await old.snapshotter.take();
    await old.close();

    const config = loadConfig({ env: {}, flags: { dataDir: d.path, port: 0 } });
    const service = await Service.build({ config, logger: pino({ level: 'silent' }) as never });
    const rows = [...service.host.get('volume-by-category-1d')!.inspect().rows.values()];
    expect(rows.map((r) => r.timestamp)).toEqual([(Math.floor((now - 3600) / 86_400) + 1) * 86_400]);
    expect(service.futureRowsDropped).toEqual({ 'volume-by-category-1d': 1 });
    await service.snapshot();
    await service.close();

    const again = await Service.build({ config, logger: pino({ level: 'silent' }) as never });
    expect(again.futureRowsDropped).toEqual({});
    expect(again.host.get('volume-by-category-1d')!.inspect().rows.size).toBe(1);
    await again.close();
  });
  it('keeps rows and journal entries accepted while the clock ran ahead, once the clock steps back', async () => {
    const d = tempDir();
    dirs.push(d);
    const now = Math.floor(Date.now() / 1000);
    // The clock read an hour ahead when these were accepted (within its 300 s skew then), then NTP stepped it back.
    const clockThen = now + 3600;
    const tag = (timestamp: number, msg_id: string) => ({
      topic: 'org.fedoraproject.prod.buildsys.tag',
      timestamp,
      msg_id,
      msg: { owner: 'a', name: 'b', tag: 'f45' },
    });
    const old = openSession(d.path, builtinPlugins(), { slots: 3, journalSeq: () => 0, now: () => clockThen * 1000 });
    const minutely = old.host.get('volume-by-category-1m')!;
    minutely.send(createPluginMessage(tag(now - 60, 'before'), deriveMeta));
    minutely.send(createPluginMessage(tag(clockThen - 600, 'ahead'), deriveMeta));
    await old.snapshotter.take();
    await old.close();
    // Journaled after that snapshot, then a crash: replay brings it back.
    {
      const store = new DataStore(d.path);
      const journal = new Journal(store, {
        dedupeWindow: 100,
        onWriteError: (err) => {
          throw err;
        },
      });
      journal.accept(tag(clockThen - 300, 'after-snapshot'));
      await journal.flush();
      await store.close();
    }

    const config = loadConfig({ env: {}, flags: { dataDir: d.path, port: 0 } });
    const service = await Service.build({ config, logger: pino({ level: 'silent' }) as never });
    expect(service.futureRowsDropped).toEqual({});
    await service.recover();
    expect(service.counters).toMatchObject({ replayed: 1, replayRejected: 0 });
    const rows = [...service.host.get('volume-by-category-1m')!.inspect().rows.values()];
    expect(rows.map((r) => r.timestamp).sort()).toEqual(
      [now - 60, clockThen - 600, clockThen - 300].map((t) => (Math.floor(t / 60) + 1) * 60),
    );
    await service.close();
  });

  it('journal entries an older version accepted from ahead of the clock are refused on replay, and the rest applied', async () => {
    const now = Math.floor(Date.now() / 1000);
    const { dir, store, journal } = openJournal(dirs);
    const at = (ts: number, id: string) => ({
      topic: 'org.fedoraproject.prod.buildsys.tag',
      timestamp: ts,
      msg_id: id,
      msg: { owner: 'a', name: 'b', tag: 'f45' },
    });
    journal.accept(at(now - 60, 'ok-1'));
    journal.accept(at(now + 2 * 86_400, 'ahead'));
    journal.accept(at((now - 30) * 1000, 'in-ms')); // corrected to seconds on replay
    await journal.flush();
    await store.close();

    const config = loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } });
    const service = await Service.build({ config, logger: pino({ level: 'silent' }) as never });
    await service.recover();
    expect(service.counters).toMatchObject({ replayed: 2, replayRejected: 1 });
    const total = [...service.host.get('volume-by-category-1d')!.inspect().rows.values()].reduce(
      (a, r) => a + (r as unknown as { volume: number }).volume,
      0,
    );
    expect(total).toBe(2);
    expect(service.host.get('volume-by-category-1d')!.inspect().rows.newestTimestamp).toBeLessThanOrEqual(
      (Math.floor(now / 86_400) + 1) * 86_400,
    );
    await service.close();
  });

  it('an entry ahead of the clock as replay read it for earlier entries is judged by the clock read again', async () => {
    // A clock a day later at every read: each entry is dated a day after the one before, more
    // than the skew ahead of any reading taken before the entry ahead of it was judged.
    const base = Math.floor(Date.now() / 1000) - 100 * 86_400;
    let reads = 0;
    const clock = { ...systemClock, now: () => (base + 86_400 * reads++) * 1000 };
    const { dir, store, journal } = openJournal(dirs);
    for (let k = 1; k <= 40; k++)
      journal.accept({
        topic: 'org.fedoraproject.prod.buildsys.tag',
        timestamp: base + k * 86_400 + 3600,
        msg_id: `day-${k}`,
        msg: { owner: 'a', name: 'b', tag: 'f45' },
      });
    await journal.flush();
    await store.close();
    const config = loadConfig({ env: {}, flags: { dataDir: dir, port: 0, replayThread: false } });
    const service = await Service.build({ config, logger: pino({ level: 'silent' }) as never, clock });
    await service.recover();
    expect(service.counters).toMatchObject({ replayed: 40, replayRejected: 0 });
    await service.close();
  });
});
