/**
 * Writes of the snapshot slots: a generation written in one transaction (a child one, so a
 * throw part-way leaves nothing of it; the puts its fill makes are store-snapshot-batch.ts's),
 * slots emptied in bounded steps, `snapshot import`'s journal moves in the same transaction, and
 * raw writes for tools and corruption tests.
 */
import { type SnapshotKey, metaKey, slotEntries } from './store-entry-keys.js';
import type { JournalAppend } from './store-appends.js';
import { SlotReads } from './store-slot-reads.js';
import { type SnapshotBatch, snapshotBatch } from './store-snapshot-batch.js';

export type { SnapshotBatch } from './store-snapshot-batch.js';

/** settled()'s value for a snapshot write lmdb-js never reported either way. */
const UNREPORTED = Symbol('unreported');

/** One journal record moved to a later seq (snapshot import): its id and time index entries follow it. */
export interface JournalMove {
  readonly from: number;
  readonly to: number;
  readonly id: string;
  readonly timestamp: number;
}

export class SlotWrites extends SlotReads {
  /**
   * Runs `fill` inside one write transaction: all of it lands when it commits. `fill` may be
   * async (it yields between bounded chunks so the event loop keeps serving): LMDB then holds
   * the write lock until it settles, and writes queued meanwhile (journal appends) commit with it.
   *
   * A `fill` that throws part-way (a value msgpack cannot encode, a key LMDB refuses) leaves
   * nothing of it: it runs in a child transaction, which lmdb-js aborts when its callback throws
   * (a plain transaction commits the writes made before the throw: lmdb 3.5, checked with real
   * files). Journal appends queued while it runs are transactions of their own, run in the
   * parent after it, so they commit either way. Before, the slot being rewritten had its meta
   * record removed first so that a throw left it no generation rather than an older
   * generation's meta over newer entries; with --snapshot-generations 1 that left no generation
   * at all, and the journal it had let go was lost (1 message counted for 201).
   */
  writeSnapshot(fill: (batch: SnapshotBatch) => void | Promise<void>): Promise<void> {
    this.snapshotsWriting++;
    this.snapshotCalled = this.now();
    const moved = () => {
      this.snapshotMoved = this.now();
    };
    const metas = new Map<number, Uint8Array>();
    const written = this.root.childTransaction(() => {
      const filled = fill(snapshotBatch(this.snapshots, this.compareKeys, moved, metas));
      if (filled instanceof Promise) return filled.then(moved);
      moved();
      return filled;
    });
    // lmdb-js may settle the transaction neither way (a data file that refuses writes): a later
    // write settling says it is done, and the file says how.
    // Read from the file whether reported or not: the metas cost one read each, once a snapshot.
    return this.settled(written as Promise<unknown>, () => UNREPORTED)
      .then((outcome) => this.confirmMetas(metas, outcome === UNREPORTED))
      .finally(() => this.snapshotsWriting--);
  }

  /**
   * The slot metas a snapshot put, read back: a generation is its meta (restore starts from
   * it), and a transaction lands whole or not at all, so the meta proves the rest. Its bytes
   * hold the generation number, so no earlier write left the same ones.
   */
  private confirmMetas(metas: ReadonlyMap<number, Uint8Array>, unreported: boolean): void {
    // A write of no meta (the service always puts one; tests of the store's other parts may not)
    // has nothing to read back: lmdb-js's report, when it made one, is all there is.
    if (metas.size === 0 && unreported)
      throw this.failedInFile('a snapshot write put no slot meta: nothing in the file says it landed');
    for (const [slot, bytes] of metas) {
      const stored = this.snapshots.getBinary(metaKey(slot));
      if (stored === undefined || !Buffer.from(bytes).equals(stored))
        throw this.failedInFile(
          `LMDB did not report the snapshot write of slot ${slot} as failed, but its meta is not in the file`,
        );
    }
  }

  /**
   * Removes up to `limit` entries of a slot in one transaction; the number removed. For a slot
   * at or past --snapshot-generations (the count was lowered), emptied in bounded steps.
   * lmdb-js may settle this transaction neither way (a data file refusing writes: 3 of 3 runs),
   * and the snapshot cycle waits on it: settled by a later write, the file says whether the
   * entries are gone (a retired slot is never written again, so one still there proves it).
   */
  clearSlotSome(slot: number, limit: number): Promise<number> {
    const db = this.snapshots;
    let removed: SnapshotKey[] | null = null;
    return this.settled(
      this.root.transaction(() => {
        removed = [...db.getKeys({ ...slotEntries(slot), limit })];
        for (const key of removed) void db.remove(key);
        return removed.length;
      }) as Promise<number>,
      () => {
        const keys = removed as SnapshotKey[] | null;
        if (keys === null || (keys[0] !== undefined && db.doesExist(keys[0])))
          throw this.failedInFile(
            `LMDB did not report removing entries of snapshot slot ${slot} as failed, but they are still in the file`,
          );
        return keys.length;
      },
    );
  }

  /**
   * Removes a slot's meta record: it is no longer a generation (its entries go first:
   * clearSlotSome). Settled from the file as clearSlotSome is: the meta gone, or still there.
   * False when there was none to remove (lmdb-js reports a removal of an absent key as done),
   * so a caller says "removed" only for a slot it removed.
   */
  dropSlotMeta(slot: number): Promise<boolean> {
    const db = this.snapshots;
    const write = this.root.transaction(() => {
      if (!db.doesExist(metaKey(slot))) return false;
      void db.remove(metaKey(slot));
      return true;
    }) as Promise<boolean>;
    return this.settled(write, () => {
      if (this.snapshots.doesExist(metaKey(slot)))
        throw this.failedInFile(
          `LMDB did not report removing the meta of snapshot slot ${slot} as failed, but it is still in the file`,
        );
      return true;
    });
  }

  /**
   * writeSnapshot, with journal records moved to later seqs in the same transaction (all of it
   * lands, or none): `snapshot import` puts the data dir's own messages that the imported state
   * lacks after its journalSeq, so the next start replays them on top. Each record keeps its
   * bytes; its id and time index entries follow it. `appends` (the export's journal tail) are
   * written in the same transaction. A throw part-way (a record to move gone, a key LMDB
   * refuses) undoes it all: committed, the moves without their generation made the next start
   * replay the moved messages on top of a generation that held them (600 counted for 400).
   */
  writeSnapshotMovingJournal(
    moves: readonly JournalMove[],
    fill: (batch: SnapshotBatch) => void | Promise<void>,
    appends: readonly JournalAppend[] = [],
    coveredThrough?: number,
  ): Promise<void> {
    this.notePuts([...appends.map((a) => a.seq), ...moves.map((m) => m.to)]);
    return this.writeSnapshot((batch) => {
      // The state counts messages dated at or before coveredThrough whose ids the journal never
      // held: for backfill that is a trim (trimmedThrough()), in the same transaction. It
      // replaces the mark, lower too: the old mark was about the state this one replaces, and
      // kept, it refused a backfill of what an older import lacks (361 of 510 counted). The
      // older generations keep theirs (SnapshotMeta.coveredThrough) for a fall back.
      if (coveredThrough !== undefined) this.setTrimmedThrough(coveredThrough);
      this.appendInTransaction(appends);
      for (const m of moves) {
        const value = this.journal.getBinary(m.from);
        if (value === undefined || value === null) throw new Error(`journal record ${m.from} to move is gone`);
        void this.journal.remove(m.from);
        void this.times.remove([m.timestamp, m.from]);
        // Written back as any append is: the record, its id (now pointing at `to`) and its time.
        this.appendInTransaction([{ seq: m.to, id: m.id, timestamp: m.timestamp, value }]);
      }
      return fill(batch);
    });
  }

  /**
   * One snapshot record's raw bytes, as the corruption tools write them. Settled from the file as
   * the cycle's writes are (lmdb-js may settle a write to a refusing file neither way): the bytes
   * there, or not.
   */
  putRaw(key: unknown, value: Uint8Array): Promise<boolean> {
    const k = key as SnapshotKey;
    return this.settled(this.snapshots.put(k, value), () => {
      const held = this.snapshots.getBinary(k);
      if (held === undefined || held === null || Buffer.compare(held, value) !== 0)
        throw this.failedInFile(
          `LMDB did not report the raw put of ${JSON.stringify(key)} as failed, but it is not in the file`,
        );
      return true;
    });
  }

  /** Removes one snapshot record, settled from the file as putRaw is: the record gone, or still there. */
  removeRaw(key: unknown): Promise<boolean> {
    const k = key as SnapshotKey;
    return this.settled(this.snapshots.remove(k), () => {
      if (this.snapshots.doesExist(k))
        throw this.failedInFile(
          `LMDB did not report the raw remove of ${JSON.stringify(key)} as failed, but it is still in the file`,
        );
      return true;
    });
  }
}
