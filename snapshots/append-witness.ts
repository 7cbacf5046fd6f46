/**
 * Which journal records confirm, from the file, that an append lmdb-js reported committed did
 * land (StoreAppends.confirmInFile says why it must be confirmed): the newest seq any write of
 * the store has put or queued (putThrough), and so each append's witness, the one record whose
 * presence proves the whole append there.
 */
import type { Table } from './store-tables.js';

/** What the witness reads of a journal record to append. */
interface Seqd {
  readonly seq: number;
}

export class AppendWitness {
  /**
   * The newest journal seq any write of this store has put or queued, from the file's newest
   * on (read at the first append): a seq above it was never in the file (witnessOf).
   */
  private putThrough: number | undefined;

  constructor(private readonly journal: Table<Uint8Array, number>) {}

  /**
   * The seq of `records` whose presence in the file proves all of them there once their
   * transaction is reported committed: their newest, if above every seq this store ever put
   * (the file's newest when the first append came, and every append and journal move since,
   * each counted when it was queued). Null if none is (a retry of held records only).
   *
   * Why one record is enough (lmdb-js 3.5.6, node_modules/lmdb): batch() is ifVersion() with
   * no key (write.js), which writes a START_BLOCK instruction, the callback's puts, then
   * finishBatch()'s BLOCK_END, all in the one synchronous call. The writer thread
   * (src/writer.cpp, DoWrites) ends a transaction only where it finds no instruction yet with
   * its block depth at 0 (NO_INSTRUCTION_YET: inside a block it waits for the next one
   * instead), and a block's START_BLOCK is flagged only once its callback has written its puts
   * (or past 1,000 of them, when the writer then waits inside the block), so a batch never
   * spans two transactions. The one other way a transaction ends mid-way, INTERRUPT_BATCH
   * (WaitForCallbacks), needs a synchronous write transaction begun while the writer waits:
   * nothing can begin one while the batch's callback holds the main thread, and no other
   * thread writes this file (the replay and export threads open it read-only). The
   * transaction-callback form runs the puts inside one LMDB transaction (executeTxnCallbacks).
   * LMDB commits a transaction whole or not at all, and a put that fails (map full, I/O) makes
   * lmdb-js abort the whole transaction (Write(): resultCode).
   */
  witnessOf(records: readonly Seqd[]): number | null {
    let newest = Number.NEGATIVE_INFINITY;
    for (const r of records) if (r.seq > newest) newest = r.seq;
    const before = this.advancePutThrough(newest);
    return newest > before ? newest : null;
  }

  /**
   * The seq of `records` the file lacks, once their append was reported committed; undefined
   * when none is missing.
   *
   * One record, the witness, proves the append's transaction committed when no write before
   * this append put its seq: only that transaction can have put it there, and an append's puts
   * are one transaction, all of it or none (witnessOf says why). Without a witness (a retry of
   * held records only: they may be in the file from a commit reported failed) every record is
   * looked up, a read each, no copy. Nothing else removes a record of an append still pending:
   * trims go only through seqs a snapshot covers, applied and so committed before it.
   */
  absentSeq(records: readonly Seqd[], witness: number | null): number | undefined {
    let absent: number | undefined;
    if (witness !== null) {
      if (!this.journal.doesExist(witness)) absent = witness;
    } else absent = records.find((r) => !this.journal.doesExist(r.seq))?.seq;
    return absent;
  }

  /** Journal seqs about to be put outside an append (`snapshot import`'s moves): no later append may take them for fresh. */
  notePuts(seqs: readonly number[]): void {
    let newest = Number.NEGATIVE_INFINITY;
    for (const seq of seqs) if (seq > newest) newest = seq;
    this.advancePutThrough(newest);
  }

  /** Counts `newest` as put (putThrough); returns the newest seq put before it. */
  private advancePutThrough(newest: number): number {
    const before = this.putThrough ?? this.newestSeqInFile();
    this.putThrough = Math.max(before, newest);
    return before;
  }

  private newestSeqInFile(): number {
    for (const key of this.journal.getKeys({ reverse: true, limit: 1 })) return key;
    return 0;
  }
}
