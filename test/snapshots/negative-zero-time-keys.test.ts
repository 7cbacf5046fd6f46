import { afterEach, expect, it } from 'vitest';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { Journal } from '../../snapshots/journal.js';
import { openJournal } from '../helpers/persistence.js';
import { getJson, startService } from '../helpers/service-process.js';

/**
 * A data dir written before decodeEnvelope turned -0 into 0 holds time-index keys for
 * messages dated -0: LMDB's ordered keys have no form for -0, so [-0, seq] was stored as a
 * key sorting after every time. No /raw window held those messages, and trimming (which
 * removes [0, seq], the record reading back 0) never removed the key. Opening the file for
 * writing re-keys each one as [0, seq], or drops it when its record is gone.
 */
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

const journalOn = (store: DataStore) =>
  new Journal(store, {
    dedupeWindow: 1000,
    onWriteError: (err) => {
      throw err;
    },
  });

it('re-keys -0 time-index keys written by the old encoding at open; trimming then removes them', async () => {
  const { dir, store, journal } = openJournal(dirs);
  // The old path: a timestamp of -0 reached the journal as it came.
  journal.accept({ topic: 'a.b.c.d', timestamp: -0, msg_id: 'm-neg-zero', msg: {} });
  journal.accept({ topic: 'a.b.c.d', timestamp: 0, msg_id: 'm-zero', msg: {} });
  journal.accept({ topic: 'a.b.c.d', timestamp: 10, msg_id: 'm-ten', msg: {} });
  await journal.flush();
  // What the old file held: the -0 message in no window.
  expect([...journal.seqsByTime(0, 1, 'asc')]).toEqual([2]);
  expect(store.walk()['journal-time']).toBe(3);
  await store.close();

  const reopened = new DataStore(dir);
  expect(reopened.repairedTimeKeys).toBe(1);
  const j = journalOn(reopened);
  expect([...j.seqsByTime(0, 1, 'asc')]).toEqual([1, 2]);
  expect(reopened.countByTime(0, Number.MAX_VALUE)).toBe(3);
  // Trimming past both removes their keys: nothing is left behind.
  expect(await j.truncate(2)).toBe(2);
  expect(reopened.walk()['journal-time']).toBe(1);
  await reopened.close();
  // Nothing left to repair on the next open.
  const again = new DataStore(dir);
  expect(again.repairedTimeKeys).toBe(0);
  await again.close();
});

it('serve repairs such a data dir at start, says so in its log, and /raw then finds the message', async () => {
  const { dir, store, journal } = openJournal(dirs);
  journal.accept({ topic: 'org.fedoraproject.prod.a.b', timestamp: -0, msg_id: 'm-neg-zero', msg: {} });
  journal.accept({ topic: 'org.fedoraproject.prod.a.b', timestamp: 5, msg_id: 'm-five', msg: {} });
  await journal.flush();
  await store.close();

  const service = await startService(['--data-dir', dir]);
  try {
    const repaired = service.logs
      .map((l) => JSON.parse(l) as { msg?: string; repairedTimeKeys?: number })
      .find((l) => l.msg?.startsWith('history time index repaired'));
    expect(repaired?.repairedTimeKeys).toBe(1);
    const raw = await getJson(`${service.base}/raw?start=0&end=1`);
    expect(raw.status).toBe(200);
    expect((raw.body as { raw_messages: { msg_id: string }[] }).raw_messages.map((m) => m.msg_id)).toEqual([
      'm-neg-zero',
    ]);
  } finally {
    await service.stop();
  }
}, 60_000);
