/**
 * Which records a journal append is confirmed by once lmdb-js reports it committed
 * (store-appends.ts, confirmInFile; append-witness.ts, absentSeq): the newest one when no write
 * before put its seq, every one otherwise (a retry of held records, which may be in the file
 * from a commit reported failed). A record of a commit is made missing here by removing it in
 * the very transaction that commits the append (a remove queued in the same turn, before LMDB's
 * writer starts), the one way to get a commit reported done without its records on a healthy
 * disk; that a batch's puts are one transaction is argued from lmdb-js's source in witnessOf(),
 * and the disk-refusal tests (misreported-append, lost-append-outcome) check every record of
 * every append said committed against the file.
 */
import { rmSync } from 'node:fs';
import { afterEach, describe, expect, it } from 'vitest';
import { DataStore, WriteFailedError } from '../../snapshots/lmdb-store.js';
import { tempDir } from '../helpers/service-process.js';

const record = (seq: number) => ({
  seq,
  id: `m-${seq}`,
  timestamp: 1_700_000_000 + seq,
  value: new Uint8Array([seq, 1, 2, 3]),
});
const records = (from: number, to: number) => Array.from({ length: to - from + 1 }, (_, i) => record(from + i));

/** The journal table's own remove, queued like any write: in the same turn as an append, it commits with it. */
const removeQueued = (store: DataStore, seq: number): Promise<boolean> =>
  (store as unknown as { journal: { remove(seq: number): Promise<boolean> } }).journal.remove(seq);

const inFile = (store: DataStore, from: number, to: number) =>
  records(from, to).map((r) => store.journalRecord(r.seq) !== undefined);

describe('journal appends confirmed from the file', () => {
  const cleanup: (() => void | Promise<void>)[] = [];
  afterEach(async () => {
    for (const c of cleanup.splice(0).reverse()) await c();
  });
  const open = (path?: string) => {
    const where = path ?? tempDir().path;
    if (path === undefined) cleanup.push(() => rmSync(where, { recursive: true, force: true }));
    const store = new DataStore(where);
    let closed = false;
    const close = async () => {
      if (closed) return;
      closed = true;
      await store.close();
    };
    cleanup.push(close);
    return { store, path: where, close };
  };

  it('fails an append of new seqs whose newest record its commit did not leave in the file', async () => {
    const { store } = open();
    await store.appendJournal(records(1, 4));
    const appended = store.appendJournal(records(5, 8));
    const removed = removeQueued(store, 8);
    await expect(appended).rejects.toBeInstanceOf(WriteFailedError);
    await expect(appended).rejects.toThrow('seq 8 is not in the file');
    expect(await removed).toBe(true); // it was there to remove: the append's own transaction put it
    expect(inFile(store, 5, 8)).toEqual([true, true, true, false]);
  });

  it('looks up every record of an append whose seqs were put before, whichever one is missing', async () => {
    const { store } = open();
    await store.appendJournal(records(1, 4));
    // A first try of 5-6 that leaves 5 in the file and is failed (as a commit reported failed may have).
    const first = store.appendJournal(records(5, 6));
    void removeQueued(store, 6);
    await expect(first).rejects.toBeInstanceOf(WriteFailedError);
    expect(inFile(store, 5, 6)).toEqual([true, false]);
    // Tried again: its newest record proves nothing now (6 was put before), nor its oldest (5 is
    // in the file from the first try).
    const missingNewest = store.appendJournal(records(5, 6));
    void removeQueued(store, 6);
    await expect(missingNewest).rejects.toThrow('seq 6 is not in the file');
    const missingOldest = store.appendJournal(records(5, 6));
    void removeQueued(store, 5);
    await expect(missingOldest).rejects.toThrow('seq 5 is not in the file');
    expect(inFile(store, 5, 6)).toEqual([false, true]);
    // Whole, it is confirmed.
    await store.appendJournal(records(5, 6));
    expect(inFile(store, 5, 6)).toEqual([true, true]);
  });

  it('takes no seq the file held when the store was opened for new', async () => {
    const { store, path, close } = open();
    await store.appendJournal(records(1, 10));
    await close();
    const reopened = open(path).store;
    // 10 was in the file before this store appended anything: every record is looked up.
    const appended = reopened.appendJournal(records(9, 10));
    void removeQueued(reopened, 9);
    await expect(appended).rejects.toThrow('seq 9 is not in the file');
    // Above the file's newest, the newest record alone confirms.
    await reopened.appendJournal(records(11, 12));
    expect(inFile(reopened, 9, 12)).toEqual([false, true, true, true]);
  });
});
