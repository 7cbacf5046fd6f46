/**
 * A snapshot written while the data file refuses writes (made immutable: EPERM, as a file system
 * remounted read-only refuses them). lmdb-js settled that snapshot's transaction neither way,
 * every time, while the journal appends beside it settled (their outcome confirmed from the file:
 * append-settlement.ts). The snapshot cycle waits on each write, so a running service wrote no
 * generation ever again once the disk took writes back: /readyz 503 "snapshot write pending"
 * until a restart, the journal never trimmed, and a stop that waited out --stop-timeout. A journal
 * trim (run by the same cycle after each snapshot) was left pending the same way, and so were the
 * removals that retire a slot past a lowered --snapshot-generations (same cycle) and the mark a
 * restored generation sets at start (the start waited on it for good).
 */
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { DATA_FILE, DataStore, WriteFailedError } from '../../snapshots/lmdb-store.js';
import { immutableSupported, setImmutable } from '../helpers/immutable-file.js';
import { tempDir } from '../helpers/service-process.js';

const dir = tempDir('statscache-refused-snapshot-');
const file = join(dir.path, DATA_FILE);
const supported = immutableSupported(dir.path);
afterAll(() => {
  if (supported) setImmutable(file, false);
  dir.remove();
});

const record = (seq: number) => ({
  seq,
  id: `refused-${seq}`,
  timestamp: 1_700_000_000 + seq,
  value: new Uint8Array(64).fill(seq),
});

/** The outcome of `write`, or 'never settled' if it has none within `ms` (a bound, not a timing under test). */
const outcome = (write: Promise<unknown>, ms = 30_000): Promise<unknown> =>
  Promise.race([
    write.then(
      () => 'resolved',
      (err: unknown) => err,
    ),
    new Promise((resolve) => setTimeout(() => resolve('never settled'), ms).unref()),
  ]);

/** A fresh store in its own data dir, journal seq 1 written, whose data file `refused` runs against while it refuses writes. */
async function withRefusingStore(
  name: string,
  refused: (store: DataStore, refuse: <T>(write: () => Promise<T>) => Promise<unknown>) => Promise<void>,
): Promise<void> {
  const own = tempDir(`statscache-refused-${name}-`);
  const ownFile = join(own.path, DATA_FILE);
  const store = new DataStore(own.path, { probeAfterMs: 100 });
  const refuse = async <T>(write: () => Promise<T>): Promise<unknown> => {
    setImmutable(ownFile, true);
    try {
      return await outcome(write());
    } finally {
      setImmutable(ownFile, false);
    }
  };
  try {
    await store.appendJournal([record(1)]);
    await refused(store, refuse);
    await store.close();
  } finally {
    setImmutable(ownFile, false);
    own.remove();
  }
}

describe.skipIf(!supported)('a snapshot written while the data file refuses writes', () => {
  it('fails with the cause, and the next one after the file takes writes again is written', async () => {
    const store = new DataStore(dir.path, { probeAfterMs: 100 });
    await store.appendJournal([record(1)]);
    setImmutable(file, true);
    let refused: unknown;
    try {
      const snapshot = outcome(
        store.writeSnapshot((batch) => {
          batch.put(0, 'p', 'rows', 'k', new Uint8Array(5000).fill(7));
          batch.putMeta(0, new Uint8Array([1, 2, 3]));
        }),
      );
      // A journal append behind it, as intake makes (refused too).
      const append = outcome(store.appendJournal([record(2)]));
      refused = await snapshot;
      expect(await append).toBeInstanceOf(WriteFailedError);
    } finally {
      setImmutable(file, false);
    }
    expect(refused).toBeInstanceOf(WriteFailedError);
    expect(String((refused as Error).message)).toMatch(/snapshot write of slot 0 .*not in the file/);
    expect(store.readSlotMeta(0)).toBeUndefined();
    expect(store.writesWaiting().snapshot).toBeNull();

    // Writes taken again: the next generation lands and reads back.
    await store.appendJournal([record(3)]);
    expect(
      await outcome(
        store.writeSnapshot((batch) => {
          batch.putMeta(1, new Uint8Array([4, 5, 6]));
        }),
      ),
    ).toBe('resolved');
    expect([...(store.readSlotMeta(1) ?? [])]).toEqual([4, 5, 6]);
    await store.close();
  }, 90_000);

  it('a journal trim fails with the cause, and trims once the file takes writes again', async () => {
    const trimDir = tempDir('statscache-refused-trim-');
    const trimFile = join(trimDir.path, DATA_FILE);
    const store = new DataStore(trimDir.path, { probeAfterMs: 100 });
    try {
      await store.appendJournal([record(1), record(2), record(3)]);
      setImmutable(trimFile, true);
      let refused: unknown;
      try {
        const trim = outcome(store.truncate(2, () => null));
        const append = outcome(store.appendJournal([record(4)]));
        refused = await trim;
        expect(await append).toBeInstanceOf(WriteFailedError);
      } finally {
        setImmutable(trimFile, false);
      }
      expect(refused).toBeInstanceOf(WriteFailedError);
      expect(String((refused as Error).message)).toMatch(/journal trim through seq 2 .*seq 1 is still in the file/);
      expect(store.journalRecord(1)).toBeDefined();

      expect(await outcome(store.truncate(2, () => null))).toBe('resolved');
      expect(store.journalRecord(1)).toBeUndefined();
      expect(store.journalRecord(3)).toBeDefined();
      await store.close();
    } finally {
      setImmutable(trimFile, false);
      trimDir.remove();
    }
  }, 90_000);

  it('retiring a slot (entries, then meta) fails with the cause, and retires once the file takes writes again', async () => {
    await withRefusingStore('retire', async (store, refuse) => {
      await store.writeSnapshot((batch) => {
        for (const key of ['a', 'b', 'c']) batch.put(1, 'p', 'rows', key, new Uint8Array(64).fill(1));
        batch.putMeta(1, new Uint8Array([1]));
      });
      const cleared = await refuse(() => store.clearSlotSome(1, 10));
      expect(cleared).toBeInstanceOf(WriteFailedError);
      expect(String((cleared as Error).message)).toMatch(/removing entries of snapshot slot 1 .*still in the file/);
      expect(await store.clearSlotSome(1, 10)).toBe(3);
      expect(await store.clearSlotSome(1, 10)).toBe(0);

      const dropped = await refuse(() => store.dropSlotMeta(1));
      expect(dropped).toBeInstanceOf(WriteFailedError);
      expect(String((dropped as Error).message)).toMatch(/meta of snapshot slot 1 .*still in the file/);
      expect(store.readSlotMeta(1)).toBeDefined();
      expect(await outcome(store.dropSlotMeta(1))).toBe('resolved');
      expect(store.readSlotMeta(1)).toBeUndefined();
    });
  }, 120_000);

  it("a restored generation's mark set at start fails with the cause, and is set once the file takes writes again", async () => {
    await withRefusingStore('mark', async (store, refuse) => {
      const marked = await refuse(() => store.markRestored(1_700_000_005));
      expect(marked).toBeInstanceOf(WriteFailedError);
      expect(String((marked as Error).message)).toMatch(/covered-through mark .*does not hold it/);
      expect(store.trimmedThrough()).toBe(Number.NEGATIVE_INFINITY);
      expect(await outcome(store.markRestored(1_700_000_005))).toBe('resolved');
      expect(store.trimmedThrough()).toBe(1_700_000_005);
    });
  }, 90_000);
});

describe.skipIf(!supported)('tool writes while the data file refuses writes', () => {
  it("the journal's indexes rebuilt after a salvage (the check child's reindex) fail with the cause, and rebuild once the file takes writes again", async () => {
    await withRefusingStore('reindex', async (store, refuse) => {
      const indexOf = () => ({ id: 'reindexed-1', timestamp: 1_700_000_100 });
      const reindexed = await refuse(() => store.reindexJournal(indexOf));
      expect(reindexed).toBeInstanceOf(WriteFailedError);
      expect(String((reindexed as Error).message)).toMatch(/rebuilding the journal's indexes .*not in the file/);
      expect(store.seqOfId('reindexed-1')).toBeUndefined();
      expect(await store.reindexJournal(indexOf)).toBe(1);
      expect(store.seqOfId('reindexed-1')).toBe(1);
    });
  }, 90_000);

  it('a raw put and remove (the corruption tools) fail with the cause, and land once the file takes writes again', async () => {
    await withRefusingStore('raw', async (store, refuse) => {
      const key = [3, 'e', 'p', 'rows', 'k'];
      const put = await refuse(() => store.putRaw(key, new Uint8Array([9, 9])));
      expect(put).toBeInstanceOf(WriteFailedError);
      expect(String((put as Error).message)).toMatch(/raw put .*not in the file/);
      expect(await store.putRaw(key, new Uint8Array([9, 9]))).toBe(true);
      const removed = await refuse(() => store.removeRaw(key));
      expect(removed).toBeInstanceOf(WriteFailedError);
      expect(String((removed as Error).message)).toMatch(/raw remove .*still in the file/);
      expect(await store.removeRaw(key)).toBe(true);
    });
  }, 90_000);
});
