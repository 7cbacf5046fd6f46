import type { ChangeLog } from './change-log.js';
import { KeysWalk } from './entry-walk.js';
import { SEP } from './row-key.js';
import { StateDigest } from './state-digest.js';
import { freezeStored, UnstorableValueError, unstorable } from './storable-value.js';
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

export class KeyedStore<V> implements ReadonlyKeyedStore<V> {
  protected readonly map: Table<V>;
  protected log: ChangeLog | null = null;
  protected container = 0;
  /**
   * While a snapshot cut is open: each key's value at the cut, saved on its first write after
   * it (copy-on-write), so a snapshot encoded over several event-loop turns is one point in time.
   */
  protected cut: Map<string, V | undefined> | null = null;
  /** Keys written by the message being applied and their previous values, in write order (reused arrays). */
  protected readonly undoKeys: string[] = [];
  /** Beside each undo key: NaN, or for a write recorded split (recordSplitWrite) the timestamp its key starts with. */
  protected readonly undoTimes: number[] = [];
  protected readonly undoValues: (V | undefined)[] = [];
  /** Entries of the undo arrays in use: the arrays keep their capacity (setting length 0 would free it, and the next push reallocate). */
  protected undoLength = 0;
  protected recording = false;
  /** Fingerprint of this container's entries, brought up to date on read (state-digest.ts). */
  readonly digest: StateDigest;
  /**
   * Whether written values are checked and frozen (storable-value.ts). Off only for the built-in
   * plugins when nothing else is loaded (RuntimeOptions.checkValues), as their messages are not
   * frozen either (src/message.ts): their own tests run with it on.
   */
  checkValues = true;

  constructor(table: Table<V> = new Map<string, V>()) {
    this.map = table;
    this.digest = new StateDigest();
  }

  get size(): number {
    return this.map.size;
  }

  get(key: string): V | undefined {
    return this.map.get(key);
  }

  has(key: string): boolean {
    return this.map.has(key);
  }

  keys(): IterableIterator<string> {
    return this.map.keys();
  }

  values(): IterableIterator<V> {
    return this.map.values();
  }

  entries(): IterableIterator<[string, V]> {
    return this.map.entries();
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
    const logged = previous === value ? key : this.digest.touch(key, previous, value);
    this.map.set(key, value);
    this.afterWrite(key, previous, value);
    this.touch(logged);
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

  /** Appends every later write to `log` as (container, key); the runtime attaches each container once. */
  attach(log: ChangeLog, container: number): void {
    this.log = log;
    this.container = container;
    this.digest.setContainer(container);
  }

  /** Leaves writes unhashed until the digest is settled from the entries (state-digest.ts, defer()). */
  deferDigest(): void {
    this.digest.defer(() => this.map.walkEntries?.() ?? new KeysWalk(this.map));
  }

  /** Starts a copy-on-write cut: valueAtCut() answers as of now until closeCut(). */
  openCut(): void {
    this.cut = new Map();
  }

  closeCut(): void {
    this.cut = null;
  }

  /** The value `key` had when the cut was opened. */
  valueAtCut(key: string): V | undefined {
    const cut = this.cut;
    return cut?.has(key) ? cut.get(key) : this.map.get(key);
  }

  /** Keys deleted since the cut opened, with their values then (a whole-store walk misses them). */
  *deletedSinceCut(): Generator<[string, V]> {
    if (this.cut === null) return;
    for (const [key, value] of this.cut) if (value !== undefined && !this.map.has(key)) yield [key, value];
  }

  beginMessage(): void {
    this.recording = true;
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

  endMessage(): void {
    this.recording = false;
    // Cleared slot by slot, so old values are not kept alive, without giving up the arrays' capacity.
    for (let i = 0; i < this.undoLength; i++) {
      this.undoKeys[i] = '';
      this.undoValues[i] = undefined;
    }
    this.undoLength = 0;
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

  /**
   * What delete() records, for an entry the table has already dropped (a whole timestamp group
   * evicted at once): the undo log, the cut, the digest and the change log, as delete() would.
   * The caller keeps its own indexes (no afterWrite).
   */
  protected recordDeleted(key: string, previous: V): void {
    this.recordRemoval(key, previous);
    this.touch(key);
  }

  /** recordDeleted() but for the change log, which the caller appends to (logSplit). */
  protected recordRemoval(key: string, previous: V): void {
    this.remember(key, previous);
    if (this.cut !== null && !this.cut.has(key)) this.cut.set(key, previous);
    this.digest.touchRemoval(key, previous);
  }

  /** Hook for indexes kept beside the map (see RowStore). */
  protected afterWrite(_key: string, _previous: V | undefined, _next: V | undefined): void {}

  private remember(key: string, previous: V | undefined): void {
    if (this.recording) {
      this.undoKeys[this.undoLength] = key;
      this.undoTimes[this.undoLength] = Number.NaN;
      this.undoValues[this.undoLength] = previous;
      this.undoLength++;
    }
  }

  private touch(key: string): void {
    if (this.log !== null) this.logWrite(this.log, this.container, key);
  }

  /** How a write of `key` is appended to the change log (RowStore records grouped rows' keys split). */
  protected logWrite(log: ChangeLog, container: number, key: string): void {
    log.record(container, key);
  }
}
