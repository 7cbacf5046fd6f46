import { SEP } from './row-key.js';
import { freezeStored, UnstorableValueError, unstorable } from './storable-value.js';
import { StoreRecords } from './store-records.js';
import type { ReadonlyKeyedStore, Table } from './store-table.js';
import { KeyTooLongError, MAX_KEY_BYTES, storedKeyBytes } from './stored-key-bytes.js';

// Imported from here by the rest of the code.
export type { ReadonlyKeyedStore, Table } from './store-table.js';
export { KeyTooLongError, MAX_KEY_BYTES, storedKeyBytes } from './stored-key-bytes.js';

/**
 * A keyed container owned by the runtime. Plugins read and write it in place (no copy per
 * message); every write is appended to the plugin's change log (change-log.ts), so a
 * snapshot writes and a WebSocket frame carries only the keys that changed, and an undo log
 * lets the runtime roll back a message whose update threw half-way. Values are replaced,
 * never mutated in place (rollback and snapshot cuts keep the old references).
 */

export class KeyedStore<V> extends StoreRecords<V> implements ReadonlyKeyedStore<V> {
  constructor(table: Table<V> = new Map<string, V>()) {
    super(table);
  }

  set(key: string, value: V): void {
    this.setOver(key, value, this.map.get(key));
  }

  /**
   * set() of a key whose value the caller has just read (`previous`: what get(key) gave, nothing
   * written since), without looking it up a second time: a windowed counter's add() reads the
   * count to bump it, three windows per name per message in top-users.
   */
  protected setOver(key: string, value: V, previous: V | undefined): void {
    const logged = this.recordWrite(key, value, previous);
    this.map.set(key, value);
    this.afterWrite(key, previous, value);
    this.touch(logged);
  }

  /**
   * What setOver() does before the table's write: the key's size and the value checked, the undo
   * log, the cut and the digest. Returns the string to log the write under (touch()).
   */
  protected recordWrite(key: string, value: V, previous: V | undefined): string {
    // Strings of up to 600 UTF-16 units take at most 1800 bytes stored (3 per unit in UTF-8, or
    // 2 per escaped low unit plus 10 separators): skip the count for them.
    if (key.length > 600 && storedKeyBytes(key) > MAX_KEY_BYTES) {
      throw new KeyTooLongError(
        `key of ${storedKeyBytes(key)} bytes as stored exceeds ${MAX_KEY_BYTES}: ${JSON.stringify(key.slice(0, 80))}…`,
      );
    }
    if (this.checkValues) this.checkStorable(key, value);
    // One lookup of the previous value serves the undo log, the cut, the digest and the index.
    this.remember(key, previous);
    if (this.cut !== null && !this.cut.has(key)) this.cut.set(key, previous);
    return previous === value ? key : this.digest.touch(key, previous, value);
  }

  protected checkStorable(key: string, value: V): void {
    const why = unstorable(value);
    if (why !== null) {
      throw new UnstorableValueError(`cannot keep the value for key ${JSON.stringify(key.slice(0, 80))}: ${why}`);
    }
  }

  /** Read-modify-write in one call: `update(k, (old) => ({ ...old, n: (old?.n ?? 0) + 1 }))`. */
  update(key: string, fn: (current: V | undefined) => V): V {
    const next = fn(this.get(key));
    this.set(key, next);
    return next;
  }

  delete(key: string): boolean {
    const previous = this.map.get(key);
    if (previous === undefined && !this.map.has(key)) return false;
    this.remember(key, previous);
    if (this.cut !== null && !this.cut.has(key)) this.cut.set(key, previous);
    this.digest.touchRemoval(key, previous);
    this.map.delete(key);
    this.afterWrite(key, previous, undefined);
    this.touch(key);
    return true;
  }

  /** Restores the values the current message overwrote. Keys stay marked changed: rewriting them is harmless. */
  rollback(): void {
    // Newest first, so a key written twice ends at its value from before the message.
    for (let i = this.undoLength - 1; i >= 0; i--) {
      const ts = this.undoTimes[i] as number;
      const key = Number.isNaN(ts) ? (this.undoKeys[i] as string) : String(ts) + SEP + (this.undoKeys[i] as string);
      const previous = this.undoValues[i];
      const current = this.map.get(key);
      if (previous === undefined) {
        this.digest.touchRemoval(key, current);
        this.map.delete(key);
      } else {
        if (current !== previous) this.digest.touch(key, current, previous);
        this.map.set(key, previous);
      }
      this.afterWrite(key, current, previous);
    }
    this.endMessage();
  }

  /** Loads a value without recording it as a change (restore from a snapshot; the runtime resets the log). */
  load(key: string, value: V): void {
    if (this.checkValues) freezeStored(value);
    const previous = this.map.get(key);
    if (this.cut !== null && !this.cut.has(key)) this.cut.set(key, previous);
    if (previous !== value) this.digest.touch(key, previous, value);
    this.map.set(key, value);
    this.afterWrite(key, previous, value);
  }

  /**
   * load() of each entry, keys given once each (as a snapshot stores them). Into an empty
   * container with no cut open (restore's fill) there is no previous value to look up or save.
   */
  loadAll(keys: readonly string[], values: readonly V[]): void {
    if (this.map.size > 0 || this.cut !== null) {
      for (let i = 0; i < keys.length; i++) this.load(keys[i] as string, values[i] as V);
      return;
    }
    for (let i = 0; i < keys.length; i++) {
      const key = keys[i] as string;
      const value = values[i] as V;
      if (this.checkValues) freezeStored(value);
      this.digest.touch(key, undefined, value);
      this.map.set(key, value);
    }
    this.afterLoadAll(keys, values);
  }

  /**
   * What afterWrite() makes of each entry loadAll() put into the empty table, for all of them
   * at once: an index beside the map may be built in one pass rather than entry by entry.
   */
  protected afterLoadAll(keys: readonly string[], values: readonly V[]): void {
    for (let i = 0; i < keys.length; i++) this.afterWrite(keys[i] as string, undefined, values[i] as V);
  }

  /** Hook for indexes kept beside the map (see RowStore). */
  protected afterWrite(_key: string, _previous: V | undefined, _next: V | undefined): void {}
}
