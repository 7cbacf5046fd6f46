/** What a container's readers see and what it keeps its entries in: apart from KeyedStore so GroupedRows implements Table without importing the store. */
import type { EntryWalk } from './entry-walk.js';

export interface ReadonlyKeyedStore<V> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[string, V]>;
}

/**
 * Where a container keeps its entries: a `Map` by default; RowStore may keep rows grouped by
 * timestamp instead (grouped-rows.ts), which is what a key costs in memory.
 */
export interface Table<V> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  set(key: string, value: V): unknown;
  delete(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[string, V]>;
  /** A walk of the entries for a digest's settle, when the table has one cheaper than its keys (entry-walk.ts). */
  walkEntries?(): EntryWalk;
}
