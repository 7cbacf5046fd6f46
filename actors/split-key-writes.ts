/** KeyedStore's records of writes a subclass made to its table itself, by (timestamp, rest) without the key as a string: apart as only RowStore's grouped rows use them. */
import { KeyedStore } from './keyed-store.js';
import { SEP } from './row-key.js';

/** The recording RowStore.write() and its evictions use for rows grouped by timestamp (grouped-rows.ts). */
export class SplitKeyStore<V> extends KeyedStore<V> {
  /**
   * Whether a write may be recorded without its key as a string (recordSplitWrite): no cut to save
   * it in. The undo and change logs keep it split, and the digest takes it split (touchSplit: a
   * deferred one hashes no key, a live one makes the key only to look a pending key up by it).
   */
  protected get splitWrites(): boolean {
    return this.cut === null;
  }

  /**
   * What setOver() records for a write of the key `String(ts)` U+001F `rest` that the caller has
   * stored itself (`previous`: the value it replaced), while splitWrites holds: the value's check,
   * the undo log and the change log take the key in its two parts, the deferred digest counts
   * the write. The caller keeps the key within MAX_KEY_BYTES (setOver's check) and its indexes.
   */
  protected recordSplitWrite(ts: number, rest: string, previous: V | undefined, value: V): void {
    if (this.recording) {
      const n = this.undoLength;
      this.undoKeys[n] = rest;
      this.undoTimes[n] = ts;
      this.undoValues[n] = previous;
      this.undoLength = n + 1;
    }
    if (previous !== value) this.digest.touchSplit(ts, rest, previous, value);
    this.logSplit(ts, rest);
  }

  /** The value check of setOver() for a write recordSplitWrite() will record (the key made only for the error). */
  protected checkSplitStorable(ts: number, rest: string, value: V): void {
    if (this.checkValues) this.checkStorable(String(ts) + SEP + rest, value);
  }

  /**
   * Whether recordRemoval() has a use for the key: the undo log (a message being applied), an
   * open cut, or a digest that hashes writes. Retention's evictions through replay have none
   * (outside the message, no snapshot cut, the digest deferred), and a grouped row's key would
   * be built only to be dropped (row-store.ts, evictGroup).
   */
  protected get removalNeedsKey(): boolean {
    return this.recording || this.cut !== null || !this.digest.deferred;
  }

  /** recordRemoval() when removalNeedsKey is false: the deferred digest counts the write (it reads no key). */
  protected recordRemovalUnkeyed(previous: V): void {
    this.digest.touchRemoval('', previous);
  }

  /** Appends the write of the key `String(ts)` U+001F `rest` to the change log in those two parts (ChangeLog.recordSplit). */
  protected logSplit(ts: number, rest: string): void {
    if (this.log !== null) this.log.recordSplit(this.container, ts, rest);
  }

  /** Appends the write of the key `String(ts)` to the change log as that number (ChangeLog.recordNumber). */
  protected logNumber(ts: number): void {
    if (this.log !== null) this.log.recordNumber(this.container, ts);
  }
}
