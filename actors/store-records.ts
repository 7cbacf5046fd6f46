import type { ChangeLog } from './change-log.js';
import { KeysWalk } from './entry-walk.js';
import { StateDigest } from './state-digest.js';
import type { ReadonlyKeyedStore, Table } from './store-table.js';

/**
 * A container's entries and what is kept of their writes: the undo log of the message being
 * applied, the copy-on-write snapshot cut, the digest and the change log it is attached to.
 * The writes that fill them are KeyedStore's (keyed-store.ts), which extends this class.
 */
export class StoreRecords<V> implements ReadonlyKeyedStore<V> {
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
  /** Slots endMessageInBatch() left filled past undoLength, cleared by releaseUndo() or the next endMessage(). */
  protected undoUsed = 0;
  protected recording = false;
  /** Fingerprint of this container's entries, brought up to date on read (state-digest.ts). */
  readonly digest: StateDigest;
  /**
   * Whether written values are checked and frozen (storable-value.ts). Off only for the built-in
   * plugins when nothing else is loaded (RuntimeOptions.checkValues), as their messages are not
   * frozen either (src/message.ts): their own tests run with it on.
   */
  checkValues = true;

  constructor(table: Table<V>) {
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

  endMessage(): void {
    this.recording = false;
    const n = Math.max(this.undoLength, this.undoUsed);
    // Cleared slot by slot, so old values are not kept alive, without giving up the arrays' capacity.
    for (let i = 0; i < n; i++) {
      this.undoKeys[i] = '';
      this.undoValues[i] = undefined;
    }
    this.undoLength = 0;
    this.undoUsed = 0;
  }

  /**
   * endMessage() with the slots' clearing left to releaseUndo() after a batch of messages: the
   * runtime's apply loop ends every plugin-message, and the clearing loop's set-up was ~40
   * instructions of each (callgrind, bench/apply-live). Old values stay alive until the batch ends.
   */
  endMessageInBatch(): void {
    this.recording = false;
    if (this.undoLength > this.undoUsed) this.undoUsed = this.undoLength;
    this.undoLength = 0;
  }

  /** Clears the slots endMessageInBatch() left filled, so no old value is kept alive past the batch. */
  releaseUndo(): void {
    if (this.undoUsed > 0) this.endMessage();
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

  protected remember(key: string, previous: V | undefined): void {
    if (this.recording) {
      this.undoKeys[this.undoLength] = key;
      this.undoTimes[this.undoLength] = Number.NaN;
      this.undoValues[this.undoLength] = previous;
      this.undoLength++;
    }
  }

  protected touch(key: string): void {
    if (this.log !== null) this.logWrite(this.log, this.container, key);
  }

  /** How a write of `key` is appended to the change log (RowStore records grouped rows' keys split). */
  protected logWrite(log: ChangeLog, container: number, key: string): void {
    log.record(container, key);
  }
}
