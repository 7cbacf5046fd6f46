/**
 * The journal's records as the store reads them (seq → message record), and trimming: the
 * records dropped and the mark of what they covered (trimmedThrough), which de-duplication and
 * backfill read. Appends are the layer below's (store-appends.ts: they share the base's write queue).
 */
import { StoreAppends } from './store-appends.js';
import { pagesBytes } from './store-tables.js';

export class StoreJournal extends StoreAppends {
  lastSeq(): number {
    for (const key of this.journal.getKeys({ reverse: true, limit: 1 })) return key;
    return 0;
  }

  firstSeq(): number {
    for (const key of this.journal.getKeys({ limit: 1 })) return key;
    return 0;
  }

  /**
   * Committed journal records with seq > after, in order, each passed to `read` as the first
   * `size` bytes of a buffer LMDB reuses for the next record: `read` must not keep it.
   */
  *journalAfter<T>(after: number, read: (seq: number, bytes: Uint8Array, size: number) => T): Generator<T> {
    for (const { key, value } of this.journalShared.getRange({ start: after + 1 }))
      yield read(key, value, this.sharedSize);
  }

  journalRecord(seq: number): Uint8Array | undefined {
    return this.journal.getBinary(seq) ?? undefined;
  }

  /** Bytes of a committed journal record (0 if none), read through the shared buffer: nothing copied out. */
  journalRecordBytes(seq: number): number {
    this.sharedSize = 0;
    return this.journalShared.get(seq) === undefined ? 0 : this.sharedSize;
  }

  /**
   * Deletes journal records with seq <= upTo (their index entries given by `indexOf`), and
   * records in the same transaction the newest message time among them (trimmedThrough()).
   */
  truncate(upTo: number, indexOf: (value: Uint8Array) => { id: string; timestamp: number } | null): Promise<number> {
    let n = 0;
    // lmdb-js may settle a trim neither way (a data file refusing writes), and the snapshot
    // cycle waits on it: settled by a later write, the file says whether the records are gone.
    return this.settled(
      this.root.transaction(() => {
        n = 0;
        const before = this.trimmedThrough();
        let through = before;
        for (const { key, value } of this.journal.getRange({ end: upTo + 1 })) {
          const idx = indexOf(value);
          if (idx) {
            if (this.ids.get(idx.id) === key) this.ids.remove(idx.id);
            this.times.remove([idx.timestamp, key]);
            if (idx.timestamp > through) through = idx.timestamp;
          }
          this.journal.remove(key);
          n++;
        }
        if (through > before) void this.trimmed?.put('through', through);
        // The trims alone too: a restore sets the mark to its generation's own and these (markRestored).
        if (through > this.journalTrimsThrough()) void this.trimmed?.put('trims', through);
        return n;
      }) as Promise<number>,
      () => {
        for (const seq of this.journal.getKeys({ end: upTo + 1, limit: 1 }))
          throw this.failedInFile(
            `LMDB did not report the journal trim through seq ${upTo} as failed, but seq ${seq} is still in the file`,
          );
        return n;
      },
    );
  }

  /**
   * The newest message time among the journal records ever trimmed (-Infinity: none). A message
   * dated at or before it may have been counted while its id is gone from the journal, so
   * de-duplication can no longer tell; after it, every counted message's id is still held.
   */
  trimmedThrough(): number {
    const through = this.trimmed?.get('through');
    return typeof through === 'number' ? through : Number.NEGATIVE_INFINITY;
  }

  /** The newest message time among the journal records trimmed (the trims alone, no import's mark); -Infinity: none recorded. */
  journalTrimsThrough(): number {
    const through = this.trimmed?.get('trims');
    return typeof through === 'number' ? through : Number.NEGATIVE_INFINITY;
  }

  /**
   * Sets trimmedThrough() for a restored generation that records its own mark
   * (SnapshotMeta.coveredThrough, written by `snapshot import`): that mark, or the newest
   * trimmed record's time when later (a trim drops only what every generation holds). Lower
   * than before too: kept, a newer import's mark refused a backfill of what this older state
   * lacks (361 of 510 counted).
   */
  markRestored(coveredThrough: number): Promise<void> {
    const through = Math.max(coveredThrough, this.journalTrimsThrough());
    if (through === this.trimmedThrough()) return Promise.resolve();
    // lmdb-js may settle it neither way (a data file refusing writes), and the start waits on
    // it: settled by a later write (a probe), the file says whether the mark is set.
    return this.settled(
      this.root.transaction(() => this.setTrimmedThrough(through)).then(() => undefined),
      () => {
        if (this.trimmedThrough() !== through)
          throw this.failedInFile(
            `LMDB did not report setting the restored generation's covered-through mark as failed, but the file does not hold it`,
          );
      },
    );
  }

  protected setTrimmedThrough(through: number): void {
    if (through === Number.NEGATIVE_INFINITY) void this.trimmed?.remove('through');
    else void this.trimmed?.put('through', through);
  }

  /** Approximate bytes used by the journal's databases. */
  journalBytes(): number {
    return [this.journal, this.ids, this.times].reduce((sum, db) => sum + pagesBytes(db.getStats()), 0);
  }
}
