/**
 * The store's tables, refusing every read once the data file failed for good (MDB_PANIC):
 * each read throws the store's DataFilePanicError instead of answering. Reads cannot be left
 * to LMDB: while any iterator holds its read transaction open across turns (the start-up
 * replay's journalAfter, a filtered /raw scan between slices, a paced generation measure),
 * lmdb-js answers every read of the environment from that transaction, begun before the failed
 * commit and reused as current (the commit moved no txn id). journal.seen() then said an id
 * was stored, /id served it and the held iterator went on serving records, all from before the
 * failure (test/snapshots/panicked-reads.test.ts). One field check a read, and a step of an
 * iterator: an iterator held across the failure stops at its next step.
 */
import type { DataFilePanicError } from './store-write-errors.js';
import type { KeyRange, StoreEnv, Table } from './store-tables.js';

/** Where the guard learns of the failure: StorePanic (its `error`, null until MDB_PANIC). */
export interface PanicState {
  readonly error: DataFilePanicError | null;
}

/** `inner`'s iterator, each step refused once `state` holds an error (the held read transaction let go first). */
function guardedIterable<T>(inner: Iterable<T>, state: PanicState): Iterable<T> {
  return {
    [Symbol.iterator](): Iterator<T> {
      const it = inner[Symbol.iterator]();
      return {
        next(): IteratorResult<T> {
          const failed = state.error;
          if (failed !== null) {
            // A throwing next() is not followed by return(): end lmdb-js's cursor here.
            it.return?.();
            throw failed;
          }
          return it.next();
        },
        return(value?: unknown): IteratorResult<T> {
          return it.return?.(value) ?? { done: true, value: value as T };
        },
      };
    },
  };
}

/**
 * The environment's database names (the file check's walk), refused as a table's reads are.
 * Unguarded, after a panic in this process they came from a held read transaction (from before
 * the failure) or failed with LMDB's bare MDB_PANIC, where every other read names the file.
 */
export function guardedNames(root: Pick<StoreEnv, 'getKeys'>, state: PanicState): Iterable<unknown> {
  const failed = state.error;
  if (failed !== null) throw failed;
  return guardedIterable(root.getKeys(), state);
}

/** A table whose reads throw `state`'s error once it holds one; writes pass (the write queue refuses them: store-commits.ts). */
export class GuardedTable<V, K> implements Table<V, K> {
  constructor(
    private readonly inner: Table<V, K>,
    private readonly state: PanicState,
  ) {}

  private refuse(): void {
    const failed = this.state.error;
    if (failed !== null) throw failed;
  }

  get(key: K): V | undefined {
    this.refuse();
    return this.inner.get(key);
  }

  getBinary(key: K): Uint8Array | undefined {
    this.refuse();
    return this.inner.getBinary(key);
  }

  doesExist(key: K): boolean {
    this.refuse();
    return this.inner.doesExist(key);
  }

  getRange(range?: KeyRange<K>): Iterable<{ key: K; value: V }> {
    this.refuse();
    return guardedIterable(this.inner.getRange(range), this.state);
  }

  getKeys(range?: KeyRange<K>): Iterable<K> {
    this.refuse();
    return guardedIterable(this.inner.getKeys(range), this.state);
  }

  getKeysCount(range?: KeyRange<K>): number {
    this.refuse();
    return this.inner.getKeysCount(range);
  }

  getCount(range?: KeyRange<K>): number {
    this.refuse();
    return this.inner.getCount(range);
  }

  getStats(): unknown {
    this.refuse();
    return this.inner.getStats();
  }

  put(key: K, value: V): Promise<boolean> {
    return this.inner.put(key, value);
  }

  remove(key: K): Promise<boolean> {
    return this.inner.remove(key);
  }

  putSync(key: K, value: V): void {
    this.inner.putSync(key, value);
  }

  removeSync(key: K): boolean {
    return this.inner.removeSync(key);
  }
}
