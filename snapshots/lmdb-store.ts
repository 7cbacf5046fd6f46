/**
 * The one module that talks to LMDB: it opens the environment and its databases and hands them
 * to the store's layers (store-commits.ts says how they stack) through the narrow interfaces of
 * store-tables.ts. Values are opaque bytes (the codec owns encoding and checksums).
 *
 * Databases (keys are ordered-binary arrays, so no separator character can clash with a key):
 *   snapshot      [slot, 'm'] → slot meta; [slot, 'e', ident, store, key] → one entry (a key of
 *                 64+ units holding a unit 0-4 as parts of 63 after `store`: see entryKey in
 *                 store-entry-keys.ts)
 *   journal       seq → message record
 *   journal-ids   message id → seq (de-duplication, GET /id)
 *   journal-time  [timestamp, seq] → empty (time-window reads)
 */
import * as lmdb from 'lmdb';
import { compareKeys, open, type Database, type Key } from 'lmdb';
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { entryKey, MAX_SLOTS, type SnapshotKey } from './store-entry-keys.js';
import { StoreSalvage } from './store-salvage.js';
import type { StoreTables } from './store-tables.js';

export type { JournalAppend } from './store-appends.js';
export { dataFileWriteFailed, WriteFailedError } from './store-commits.js';
export { MAX_SLOTS, type SlotCut, type SlotSizes } from './store-entry-keys.js';
export type { JournalMove, SnapshotBatch } from './store-slot-writes.js';

/** ordered-binary's key encoding, as LMDB is given a key: exported by lmdb-js, missing from its types. */
const keyBytes = (lmdb as unknown as { keyValueToBuffer: (key: Key) => Uint8Array }).keyValueToBuffer;

/** The longest key LMDB takes (lmdb-js's default, which statscache keeps): a longer one throws on put. */
export const MAX_LMDB_KEY_BYTES = 1978;

/**
 * Bytes the snapshot table's key for (ident, store, key) takes in the highest slot, as LMDB is
 * given it: over MAX_LMDB_KEY_BYTES, writing the entry throws (what an export made by hand, or
 * by a build without today's bound on plugin keys, can hold).
 */
export function entryKeyBytes(ident: string, store: string, key: string): number {
  // Up to 600 units, however encoded (3 bytes a unit, separators, the slot), fit with room to spare.
  if (ident.length + store.length + key.length <= 600) return 0;
  return keyBytes(entryKey(MAX_SLOTS - 1, ident, store, key) as Key).length;
}

/** A key of the main database readAfresh asks for (it names no database, so it is never there). */
const FRESH_KEY = '\u0000statscache-fresh-read';

/** The LMDB data file and its lock file inside a data dir. */
export const DATA_FILE = 'statscache.lmdb';
export const DATA_LOCK_FILE = 'statscache.lmdb-lock';

export class DataStore extends StoreSalvage {
  /** Time-index keys of messages dated -0 re-keyed (or dropped) when this file was opened. */
  readonly repairedTimeKeys: number;

  constructor(dir: string, options: { readOnly?: boolean; probeAfterMs?: number; now?: () => number } = {}) {
    if (!options.readOnly) mkdirSync(dir, { recursive: true });
    const environment = {
      path: join(dir, DATA_FILE),
      maxDbs: 8,
      readOnly: options.readOnly ?? false,
      compression: false,
      // Writes are batched per turn here (journal-commit.ts) or run in a transaction. lmdb-js's own
      // per-turn batch keeps a commit promise nobody can handle, so a failed commit (a full
      // disk) ended the process with an unhandled rejection.
      eventTurnBatching: false,
      // With overlapping sync (lmdb-js's default on Linux) a commit resolves before its pages
      // are flushed, and a flush the disk refuses is reported nowhere: journal batches said
      // "committed" were gone once a disk filled (seqs 205-228 of 400 in
      // test/e2e/amqp-bus.test.ts), never held, never written again. A commit now resolves once
      // it is on disk, so a full disk fails it and the journal holds its records.
      overlappingSync: false,
    };
    /**
     * A second handle on the same environment (lmdb-js shares an open one within a process),
     * read by readAfresh and nothing else: no iterator of it holds a read transaction, so each
     * of its reads begins one (the first) or renews the one reset after the last turn, and
     * either meets MDB_PANIC once LMDB marked the environment failed. Opened first, before any
     * read: opened later (at the first check), the first handle's next read failed with
     * MDB_BAD_RSLOT (test/snapshots/refused-snapshot-outcome.test.ts). Never written through.
     */
    const fresh = open({ ...environment });
    const root = open({ ...environment });
    // Read-only, lmdb-js hands back no handle for a database the file does not hold: say so
    // here, rather than "cannot read properties of undefined" at the first read (a file copied
    // while it was written, or not a statscache file at all).
    const need = <T>(db: T | undefined, name: string): T => {
      if (db === undefined || db === null)
        throw new Error(
          `${join(dir, DATA_FILE)} holds no "${name}" database: not a statscache data file, or a copy taken while it was being written`,
        );
      return db;
    };
    /**
     * A read-only handle on `name` whose decoder copies nothing: range reads then hand it LMDB's
     * one shared read buffer (and the value's size, in sharedSize) instead of a fresh
     * ArrayBuffer per value. Made before super(), its decoder first runs at a read, after it.
     */
    const sharedReader = <K extends Key>(name: string): Database<Uint8Array, K> =>
      root.openDB<Uint8Array, K>(name, {
        encoding: 'binary',
        encoder: {
          encode: (): never => {
            throw new Error(`the shared ${name} handle is read-only`);
          },
          decode: (bytes: Uint8Array, size: number) => {
            this.sharedSize = size;
            return bytes;
          },
        },
      } as object);
    const snapshots = need(root.openDB<Uint8Array, SnapshotKey>('snapshot', { encoding: 'binary' }), 'snapshot');
    const journal = need(root.openDB<Uint8Array, number>('journal', { encoding: 'binary' }), 'journal');
    const tables: StoreTables = {
      file: join(dir, DATA_FILE),
      root,
      snapshots,
      journal,
      // Replay reads every journal record once, and restore every snapshot entry of a generation.
      journalShared: need(sharedReader<number>('journal'), 'journal'),
      snapshotsShared: need(sharedReader<SnapshotKey>('snapshot'), 'snapshot'),
      ids: need(root.openDB<number, string>('journal-ids', { encoding: 'ordered-binary' }), 'journal-ids'),
      times: need(root.openDB<Uint8Array, [number, number]>('journal-time', { encoding: 'binary' }), 'journal-time'),
      // lmdb-js hands back no handle for a database a read-only file does not hold yet.
      trimmed: root.openDB<number, string>('journal-trimmed', {}) as Database<number, string> | undefined,
      compareKeys,
      // Any key: what is asked is whether a read transaction can be had at all.
      readAfresh: () => void fresh.doesExist(FRESH_KEY),
      closeAfresh: () => fresh.close(),
    };
    super(dir, tables, options);
    this.repairedTimeKeys = options.readOnly ? 0 : this.repairNegativeZeroTimes();
  }
}
