/**
 * The lmdb-js calls the data store's parts make, as narrow interfaces: lmdb-store.ts (the one
 * module that imports lmdb) opens the environment and its databases and hands them to the
 * parts (store-commits.ts and the layers built on it) typed as these, so the compiler checks
 * there that lmdb-js's handles provide every call used and no other module imports lmdb.
 */
import type { SnapshotKey } from './store-entry-keys.js';

/** A key range as lmdb-js reads one (start inclusive, end exclusive). */
export interface KeyRange<K> {
  readonly start?: K;
  readonly end?: K;
  readonly limit?: number;
  readonly offset?: number;
  readonly reverse?: boolean;
}

/** One database of the environment, with keys K and values V. */
export interface Table<V, K> {
  get(key: K): V | undefined;
  getBinary(key: K): Uint8Array | undefined;
  doesExist(key: K): boolean;
  getRange(range?: KeyRange<K>): Iterable<{ key: K; value: V }>;
  getKeys(range?: KeyRange<K>): Iterable<K>;
  getKeysCount(range?: KeyRange<K>): number;
  getCount(range?: KeyRange<K>): number;
  put(key: K, value: V): Promise<boolean>;
  remove(key: K): Promise<boolean>;
  putSync(key: K, value: V): void;
  removeSync(key: K): boolean;
  getStats(): unknown;
}

/** The environment: its transactions and write queue, and the names of its databases (getKeys). */
export interface StoreEnv {
  transaction<T>(action: () => T): Promise<T>;
  childTransaction<T>(action: () => T): Promise<T>;
  transactionSync<T>(action: () => T): T;
  batch(action: () => unknown): Promise<boolean>;
  getKeys(): Iterable<unknown>;
  /** Undefined on a read-only environment: lmdb-js sets up no writes for it. */
  readonly flushed: Promise<boolean> | undefined;
  close(): Promise<void>;
}

/** Every handle the store reads and writes through (lmdb-store.ts opens them). */
export interface StoreTables {
  /** The data file's path, for the errors that name it. */
  readonly file: string;
  readonly root: StoreEnv;
  readonly snapshots: Table<Uint8Array, SnapshotKey>;
  /** The snapshot table again, read through LMDB's shared buffer (forEachEntry, walk). */
  readonly snapshotsShared: Table<Uint8Array, SnapshotKey>;
  readonly journal: Table<Uint8Array, number>;
  /** The journal again, read through LMDB's shared buffer (journalAfter). */
  readonly journalShared: Table<Uint8Array, number>;
  readonly ids: Table<number, string>;
  readonly times: Table<Uint8Array, [number, number]>;
  /**
   * What trimming the journal let go: `through`, the newest message time among the records it
   * dropped (see trimmedThrough()). Absent from a read-only handle on a file older than it.
   */
  readonly trimmed: Table<number, string> | undefined;
  /**
   * One read of the environment in a read transaction begun (or renewed) for it, never one
   * reused: throws LMDB's error when the environment failed for good (MDB_PANIC). The tables'
   * reads cannot tell: while an iterator holds their read transaction open (the start-up
   * replay's), lmdb-js reuses it for a new read when no commit has moved LMDB's txn id since,
   * and a commit that failed at its meta page moved none (store-panic.ts, check).
   */
  readonly readAfresh: () => void;
  /** Closes what readAfresh opened, if anything. */
  readonly closeAfresh: () => Promise<void>;
  /** LMDB's key order (ordered-binary), for keys the store computes rather than reads. */
  readonly compareKeys: (a: SnapshotKey, b: SnapshotKey) => number;
}

/** The value of every time-index key (the key says it all): one array, never one per record. */
export const EMPTY = new Uint8Array(0);

/** LMDB's own count of a database's records (its root record's), as lmdb-js reports it. */
export const recordedEntries = (db: { getStats(): unknown }): number | undefined =>
  (db.getStats() as { entryCount?: number }).entryCount;

/** Bytes of the pages a database uses, from its stats. */
export function pagesBytes(stats: unknown): number {
  const s = stats as {
    treeBranchPageCount?: number;
    treeLeafPageCount?: number;
    overflowPages?: number;
    pageSize?: number;
  };
  return ((s.treeBranchPageCount ?? 0) + (s.treeLeafPageCount ?? 0) + (s.overflowPages ?? 0)) * (s.pageSize ?? 4096);
}
