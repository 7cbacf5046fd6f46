/**
 * A snapshot written while the data file refuses writes (made immutable: EPERM, as a file system
 * remounted read-only refuses them). lmdb-js settled that snapshot's transaction neither way,
 * every time, while the journal appends beside it settled (their outcome confirmed from the file:
 * append-settlement.ts). The snapshot cycle waits on each write, so a running service wrote no
 * generation ever again once the disk took writes back: /readyz 503 "snapshot write pending"
 * until a restart, the journal never trimmed, and a stop that waited out --stop-timeout. A journal
 * trim (run by the same cycle after each snapshot) was left pending the same way.
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
});
