/**
 * A keyed store whose entries expire `expireAfter` seconds of message time after their last
 * write: `stores: { seen: store<Seen>({ expireAfter: '24h' }) }`.
 *
 * Each value is stored (and snapshotted) with the message time of its last write as
 * `{ timestamp, value }`; the timestamp index of RowStore orders them, so when the runtime
 * moves message time forward the expired entries are deleted oldest first in O(expired), with
 * no timer and no scan. Deletes are ordinary writes, recorded as changes for snapshots and
 * live views, and committed before the message's own writes (a dropped message does not undo
 * them). Plugins see plain values
 * through `writer` (the stamps are the runtime's business).
 */
import type { ReadonlyKeyedStore } from './keyed-store.js';
import { RowStore } from './row-store.js';

/** The stored form of one entry. */
export interface Stamped<V> {
  /** Message time of the last write, seconds. */
  readonly timestamp: number;
  readonly value: V;
}

/** What `update` may do with a keyed store (an expiring one included). */
export interface WritableKeyedStore<V> extends ReadonlyKeyedStore<V> {
  set(key: string, value: V): void;
  update(key: string, fn: (current: V | undefined) => V): V;
  delete(key: string): boolean;
}

export class ExpiringStore<V> extends RowStore<Stamped<V>> {
  /** The plugin's view of this store: plain values, stamped on write with the message time. */
  readonly writer: WritableKeyedStore<V>;
  /** Time of the message being applied, and the newest message time (set by advance()). */
  private messageTime = 0;
  private now = -Infinity;

  constructor(readonly expireAfter: number) {
    super();
    this.writer = writerOf(this);
  }

  /** Deletes the entries last written more than `expireAfter` before `now`; returns how many. */
  advance(now: number, messageTime: number): number {
    this.now = now;
    this.messageTime = messageTime;
    const oldest = this.oldestTimestamp;
    return oldest !== undefined && oldest < now - this.expireAfter ? this.evictBefore(now - this.expireAfter) : 0;
  }

  /**
   * Writes `value` stamped with the current message time (never moving a stamp back, so a late
   * message cannot shorten an entry's life). A write already past expiry deletes the entry.
   */
  stamp(key: string, value: V): void {
    const previous = this.get(key)?.timestamp;
    const timestamp = previous !== undefined && previous > this.messageTime ? previous : this.messageTime;
    if (timestamp < this.now - this.expireAfter) this.delete(key);
    else this.set(key, { timestamp, value });
  }
}

function writerOf<V>(raw: ExpiringStore<V>): WritableKeyedStore<V> {
  return {
    get size() {
      return raw.size;
    },
    get: (key) => raw.get(key)?.value,
    has: (key) => raw.has(key),
    keys: () => raw.keys(),
    *values() {
      for (const s of raw.values()) yield s.value;
    },
    *entries() {
      for (const [k, s] of raw.entries()) yield [k, s.value] as [string, V];
    },
    set: (key, value) => raw.stamp(key, value),
    update(key, fn) {
      const next = fn(raw.get(key)?.value);
      raw.stamp(key, next);
      return next;
    },
    delete: (key) => raw.delete(key),
  };
}
