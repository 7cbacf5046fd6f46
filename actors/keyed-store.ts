/**
 * A keyed container owned by the runtime. Plugins read and write it in place (no copy per
 * message); every write is recorded for each change tracker, so a snapshot writes and a
 * WebSocket frame carries only the keys that changed, and an undo log lets the runtime
 * roll back a message whose update threw half-way.
 */
export type ChangeSet = Set<string>;

/** Longest key in bytes: snapshots store keys in LMDB, whose limit (1978 bytes) includes a prefix. */
export const MAX_KEY_BYTES = 1800;

export class KeyTooLongError extends Error {}

export interface ReadonlyKeyedStore<V> {
  readonly size: number;
  get(key: string): V | undefined;
  has(key: string): boolean;
  keys(): IterableIterator<string>;
  values(): IterableIterator<V>;
  entries(): IterableIterator<[string, V]>;
}

export class KeyedStore<V> implements ReadonlyKeyedStore<V> {
  protected readonly map = new Map<string, V>();
  /** An array, not a Set: touch() runs on every write and indexed loops allocate nothing. */
  private trackers: ChangeSet[] = [];
  /** Keys written by the message being applied and their previous values, in write order (reused arrays). */
  private readonly undoKeys: string[] = [];
  private readonly undoValues: (V | undefined)[] = [];
  private recording = false;

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
    // Strings of up to 600 UTF-16 units are at most 1800 UTF-8 bytes: skip the byte count for them.
    if (key.length > 600 && Buffer.byteLength(key) > MAX_KEY_BYTES) {
      throw new KeyTooLongError(`key of ${Buffer.byteLength(key)} bytes exceeds ${MAX_KEY_BYTES}: ${key.slice(0, 80)}…`);
    }
    this.remember(key);
    const previous = this.map.get(key);
    this.map.set(key, value);
    this.afterWrite(key, previous, value);
    this.touch(key);
  }

  /** Read-modify-write in one call: `update(k, (old) => ({ ...old, n: (old?.n ?? 0) + 1 }))`. */
  update(key: string, fn: (current: V | undefined) => V): V {
    const next = fn(this.map.get(key));
    this.set(key, next);
    return next;
  }

  delete(key: string): boolean {
    if (!this.map.has(key)) return false;
    this.remember(key);
    const previous = this.map.get(key);
    this.map.delete(key);
    this.afterWrite(key, previous, undefined);
    this.touch(key);
    return true;
  }

  /** Starts recording every key written or deleted from now on; the caller drains the set. */
  track(): ChangeSet {
    const changes: ChangeSet = new Set();
    this.trackers.push(changes);
    return changes;
  }

  untrack(changes: ChangeSet): void {
    this.trackers = this.trackers.filter((t) => t !== changes);
  }

  /** Marks every key as changed for every tracker (after a restore that rewrote the state). */
  touchAll(): void {
    for (const key of this.map.keys()) this.touch(key);
  }

  beginMessage(): void {
    this.recording = true;
  }

  /** Restores the values the current message overwrote. Keys stay marked changed: rewriting them is harmless. */
  rollback(): void {
    // Newest first, so a key written twice ends at its value from before the message.
    for (let i = this.undoKeys.length - 1; i >= 0; i--) {
      const key = this.undoKeys[i] as string;
      const previous = this.undoValues[i];
      const current = this.map.get(key);
      if (previous === undefined) this.map.delete(key);
      else this.map.set(key, previous);
      this.afterWrite(key, current, previous);
    }
    this.endMessage();
  }

  endMessage(): void {
    this.recording = false;
    if (this.undoKeys.length > 0) {
      this.undoKeys.length = 0;
      this.undoValues.length = 0;
    }
  }

  /** Loads a value without recording it as a change (restore from a snapshot). */
  load(key: string, value: V): void {
    const previous = this.map.get(key);
    this.map.set(key, value);
    this.afterWrite(key, previous, value);
  }

  /** Hook for indexes kept beside the map (see RowStore). */
  protected afterWrite(_key: string, _previous: V | undefined, _next: V | undefined): void {}

  private remember(key: string): void {
    if (this.recording) {
      this.undoKeys.push(key);
      this.undoValues.push(this.map.get(key));
    }
  }

  private touch(key: string): void {
    const trackers = this.trackers;
    for (let i = 0; i < trackers.length; i++) (trackers[i] as ChangeSet).add(key);
  }
}
