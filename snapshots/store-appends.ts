/**
 * The data store's journal appends, in the base's write queue (store-commits.ts), each confirmed
 * from the file: lmdb-js 3.5.6 misreports commit outcomes (append-witness.ts picks the records
 * to read).
 */
import { AppendWitness } from './append-witness.js';
import { StoreCommits } from './store-commits.js';
import { EMPTY } from './store-tables.js';

/** One journal record to append. */
export interface JournalAppend {
  readonly seq: number;
  readonly id: string;
  readonly timestamp: number;
  readonly value: Uint8Array;
}

export class StoreAppends extends StoreCommits {
  /** Which records confirm an append from the file (append-witness.ts). */
  private readonly witness = new AppendWitness(this.journal);

  /**
   * Appends journal records in one transaction (committed asynchronously, in order with
   * every other write of this environment). Normally a batch: LMDB's writer thread does the
   * puts (the B-tree inserts of three databases per record), where a transaction callback runs
   * them on the main thread while the writer waits for it (12% less main-thread CPU per
   * message at 1 k msg/s). While a paced snapshot holds its transaction open across turns, a
   * batch would run inside it and resolve at once, before anything is committed; a
   * transaction callback then joins the snapshot's transaction and resolves when it commits.
   */
  appendJournal(records: readonly JournalAppend[]): Promise<void> {
    // Failed as every write is, never thrown: witnessOf may read the file, which throws then (store-guard.ts).
    const panicked = this.panics.error;
    if (panicked !== null) return Promise.reject(panicked);
    // Chosen before the puts are queued: whether the newest seq was ever put before (witnessOf).
    const witness = this.witness.witnessOf(records);
    // Settled (append-settlement.ts), then confirmed: lmdb-js may report neither outcome, or the wrong one.
    return this.appends
      .watch(this.checked(this.queued(() => this.appendInTransaction(records))))
      .then(() => this.confirmInFile(records, witness));
  }

  /**
   * An append lmdb-js said committed (or never reported on, and settled by a later write:
   * append-settlement.ts), confirmed from the file. lmdb-js 3.5.6 links each new
   * transaction's outcome to the head of its pending list (queueCommitResolution in write.js),
   * dropping any queued between: with three commits pending at once, the second one's writes
   * take the third one's outcome. Under a refusing disk a commit failed with EIO (lmdb-js logged
   * it) and the single-message appends in it resolved, their records absent (10 of 600 in
   * test/e2e/amqp-bus.test.ts; most runs of test/snapshots/misreported-append.test.ts, none with
   * the link made at the tail): the journal neither held nor wrote them again. Which records are
   * looked up: append-witness.ts.
   */
  private confirmInFile(records: readonly JournalAppend[], witness: number | null): void {
    const absent = this.witness.absentSeq(records, witness);
    if (absent === undefined) return;
    throw this.failedInFile(
      `LMDB did not report the journal write of seqs ${String(records[0]?.seq)}-${String(records.at(-1)?.seq)} as failed, but seq ${String(absent)} is not in the file`,
    );
  }

  /** Journal seqs about to be put outside appendJournal (`snapshot import`'s moves): no later append may take them for fresh. */
  protected notePuts(seqs: readonly number[]): void {
    this.witness.notePuts(seqs);
  }

  /** Journal appends whose outcome LMDB never reported, settled by a later write and read from the file. */
  get appendOutcomesRecovered(): number {
    return this.appends.recovered;
  }

  protected appendInTransaction(records: readonly JournalAppend[]): void {
    // One time key for the batch: lmdb-js writes a key's bytes into its instructions within
    // put() and keeps the key itself only for a cache, which these tables do not have.
    const time: [number, number] = [0, 0];
    for (const r of records) {
      void this.journal.put(r.seq, r.value);
      void this.ids.put(r.id, r.seq);
      time[0] = r.timestamp;
      time[1] = r.seq;
      void this.times.put(time, EMPTY);
    }
  }
}
