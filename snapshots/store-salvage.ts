/**
 * The data file check and salvage (store-check.ts and quarantine.ts run them in a child process: a damaged page
 * kills by signal): a walk that touches every page once, raw reads of a slot or the journal,
 * synchronous writes of what was salvaged, and the journal's indexes rebuilt from its records.
 */
import { MAX_SLOTS, type SnapshotKey, slotEntries } from './store-entry-keys.js';
import { SlotWrites } from './store-slot-writes.js';
import { EMPTY, type KeyRange, recordedEntries, type Table } from './store-tables.js';

/**
 * A walk of a whole database that met fewer (or more) records than LMDB's own count of them: a
 * damaged page the cursor stepped over without an error. Garbage written into the middle of the
 * file did that: the check passed, and every start then died on MDB_CORRUPTED (a crash loop
 * under a supervisor). Throwing here fails the check, and the start quarantines and salvages.
 */
function walkedAll(name: string, walked: number, db: { getStats(): unknown }): number {
  const recorded = recordedEntries(db);
  if (recorded !== undefined && recorded !== walked)
    throw new Error(`${name}: the walk met ${walked} records, the database records ${recorded} (a damaged page)`);
  return walked;
}

export class StoreSalvage extends SlotWrites {
  /**
   * Touches every page of every database once (a damaged one faults here), reading each
   * snapshot entry and journal record; counts per database. `skipEntriesOf` leaves one slot's
   * entries out (another reader walks them).
   */
  walk(options: { skipEntriesOf?: number } = {}): Record<string, number> {
    const counts: Record<string, number> = { names: 0 };
    for (const _ of this.databaseNames()) counts['names'] = (counts['names'] ?? 0) + 1;
    const skip = options.skipEntriesOf === undefined ? null : slotEntries(options.skipEntriesOf);
    // The shared-buffer handles: each value is still read in full (a damaged page faults
    // here, in the checker), into LMDB's one reused buffer instead of a copy of its own.
    const walks = [
      ['snapshot', this.snapshotsShared, skip ? [{ end: skip.start }, { start: skip.end }] : [{}]],
      ['journal', this.journalShared, [{}]],
    ] as unknown as [string, Table<unknown, unknown>, KeyRange<unknown>[]][];
    for (const [name, db, ranges] of walks) {
      let n = 0;
      for (const range of ranges) for (const { value } of db.getRange(range)) if (value !== undefined) n++;
      counts[name] = n;
      if (skip === null || name !== 'snapshot') walkedAll(name, n, db);
      // The skipped slot is streamed by other children: the parent adds theirs and compares.
      else counts['snapshot-recorded'] = recordedEntries(db) ?? n;
    }
    // The indexes' values (a seq, nothing) sit in their leaf pages, never on overflow pages of
    // their own: LMDB's native count steps through every leaf and branch page, so it touches
    // every page a read of each record would, without handing each record to JS.
    counts['journal-ids'] = walkedAll('journal-ids', this.ids.getKeysCount({}), this.ids);
    counts['journal-time'] = walkedAll('journal-time', this.times.getKeysCount({}), this.times);
    return counts;
  }

  /**
   * The slots holding any snapshot record: the first key of each slot's range, as salvageRange
   * would meet it, and no value read. A slot not listed is one whose salvage would copy nothing.
   */
  occupiedSlots(): number[] {
    const occupied: number[] = [];
    for (let slot = 0; slot < MAX_SLOTS; slot++)
      for (const _ of this.snapshots.getKeys({
        start: [slot] as unknown as SnapshotKey,
        end: [slot + 1] as unknown as SnapshotKey,
        limit: 1,
      }))
        occupied.push(slot);
    return occupied;
  }

  /** Raw records of one slot (snapshot) or of the journal from a seq on, in key order. */
  *salvageRange(what: { slot: number } | { journalAfter: number }): Generator<{ key: unknown; value: Uint8Array }> {
    if ('slot' in what) {
      for (const { key, value } of this.snapshots.getRange({
        start: [what.slot] as unknown as SnapshotKey,
        end: [what.slot + 1] as unknown as SnapshotKey,
      }))
        yield { key, value };
    } else {
      for (const { key, value } of this.journal.getRange({ start: what.journalAfter + 1 })) yield { key, value };
    }
  }

  /** Writes salvaged records synchronously (committed before returning, so a later crash keeps them). */
  putSalvaged(into: 'snapshot' | 'journal', records: readonly { key: unknown; value: Uint8Array }[]): void {
    const db = (into === 'snapshot' ? this.snapshots : this.journal) as unknown as Table<Uint8Array, unknown>;
    if (into === 'journal') this.notePuts(records.map((r) => r.key as number));
    this.root.transactionSync(() => {
      for (const r of records) db.putSync(r.key, r.value);
    });
  }

  /**
   * Rebuilds the id and time indexes from the journal records (after a salvage copied only those).
   * lmdb-js may settle this transaction neither way (a data file refusing writes), and the check
   * child waits on it until its parent's CHILD_TIMEOUT_MS kills it: settled by a later write, the
   * file says whether the last record indexed has its id entry (the salvage copy has none before).
   */
  reindexJournal(indexOf: (value: Uint8Array) => { id: string; timestamp: number } | null): Promise<number> {
    let indexed: { n: number; last: { id: string; seq: number } | null } | null = null;
    return this.settled(
      this.root.transaction(() => {
        let n = 0;
        let last: { id: string; seq: number } | null = null;
        for (const { key, value } of this.journal.getRange({})) {
          const idx = indexOf(value);
          if (!idx) continue;
          void this.ids.put(idx.id, key);
          void this.times.put([idx.timestamp, key], EMPTY);
          last = { id: idx.id, seq: key };
          n++;
        }
        indexed = { n, last };
        return n;
      }) as Promise<number>,
      () => {
        const done = indexed as { n: number; last: { id: string; seq: number } | null } | null;
        if (done === null || (done.last !== null && this.ids.get(done.last.id) !== done.last.seq))
          throw this.failedInFile(
            `LMDB did not report rebuilding the journal's indexes as failed, but ${done?.last ? `the id of seq ${done.last.seq} is` : 'they are'} not in the file`,
          );
        return done.n;
      },
    );
  }
}
