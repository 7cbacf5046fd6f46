/**
 * The journal's two indexes: journal-ids (message id → seq: de-duplication, GET /id) and
 * journal-time ([timestamp, seq] → empty: time-window reads, counted and paged by LMDB's
 * cursor), and the repair of time keys an older build wrote for messages dated -0.
 */
import { StoreJournal } from './store-journal.js';
import { EMPTY, recordedEntries } from './store-tables.js';

export class StoreIndexes extends StoreJournal {
  seqOfId(id: string): number | undefined {
    return this.ids.get(id);
  }

  /** Up to `limit` ids of the id index after `after` (from the first when undefined), in key order. */
  idsAfter(after: string | undefined, limit: number): string[] {
    const ids: string[] = [];
    const range = after === undefined ? { limit } : { start: after, limit: limit + 1 };
    for (const id of this.ids.getKeys(range)) if (id !== after) ids.push(id);
    return ids.length > limit ? ids.slice(0, limit) : ids;
  }

  /** Entries in the id index. */
  idCount(): number {
    return recordedEntries(this.ids) ?? 0;
  }

  /** The id index's entries with start <= id < end, in key order. */
  *idsBetween(start: string, end: string): Generator<{ readonly id: string; readonly seq: number }> {
    for (const { key, value } of this.ids.getRange({ start, end })) yield { id: key, seq: value };
  }

  /**
   * Seqs of the records with start <= timestamp <= end in time order, the first `offset` of them
   * skipped by LMDB's cursor (a page deep in the window: 12 ms natively for 400 k keys, against
   * 148 ms stepping through them here).
   */
  *seqsByTime(start: number, end: number, order: 'asc' | 'desc', offset = 0): Generator<number> {
    const range =
      order === 'asc'
        ? { start: [start, 0] as [number, number], end: [end, Number.MAX_SAFE_INTEGER] as [number, number], offset }
        : {
            start: [end, Number.MAX_SAFE_INTEGER] as [number, number],
            end: [start, 0] as [number, number],
            reverse: true,
            offset,
          };
    for (const key of this.times.getKeys(range)) yield key[1];
  }

  /**
   * The total of records with start <= timestamp <= end and the seqs of the `limit` of them after
   * the first `offset` in `order`, walking the time index natively `step` keys at a time with
   * `pause()` between steps: a window of millions of keys is counted, and a deep page reached,
   * without holding the event loop (LMDB counts ~30 ns a key, so one step of 100 k is ~3 ms).
   * Each step reads on its own, so records written meanwhile may or may not be counted.
   */
  async pageByTime(
    start: number,
    end: number,
    order: 'asc' | 'desc',
    offset: number,
    limit: number,
    pause: () => Promise<void>,
    step = 100_000,
  ): Promise<{ total: number; seqs: number[] }> {
    const asc = order === 'asc';
    const bound: [number, number] = asc ? [end, Number.MAX_SAFE_INTEGER] : [start, 0];
    let from: [number, number] = asc ? [start, 0] : [end, Number.MAX_SAFE_INTEGER];
    let passed = 0;
    let seqs: number[] | null = null;
    for (;;) {
      const range = { start: from, end: bound, reverse: !asc };
      if (seqs === null && offset < passed + step) {
        seqs = [];
        for (const key of this.times.getKeys({ ...range, offset: offset - passed, limit })) seqs.push(key[1]);
      }
      let next: [number, number] | undefined;
      for (const key of this.times.getKeys({ ...range, offset: step, limit: 1 })) next = key;
      if (next === undefined) {
        passed += this.times.getCount(range);
        break;
      }
      passed += step;
      from = next;
      await pause();
    }
    return { total: passed, seqs: seqs ?? [] };
  }

  /** How many records have start <= timestamp <= end (counted by LMDB without decoding them). */
  countByTime(start: number, end: number): number {
    return this.times.getCount({ start: [start, 0], end: [end, Number.MAX_SAFE_INTEGER] });
  }

  /**
   * Before decodeEnvelope turned -0 into 0, a message dated -0 got the time-index key [-0, seq],
   * which the ordered key encoding has no form for: it sorts after every finite time, so the
   * message was in no window and trimming (which removes [0, seq]) left the key for good. Such
   * keys are all past [Infinity, 0], where no real key is: finding them reads only them. Each is
   * re-keyed [0, seq] (how the record reads back), or dropped when its record is gone.
   */
  protected repairNegativeZeroTimes(): number {
    const seqs: number[] = [];
    for (const key of this.times.getKeys({ start: [Number.POSITIVE_INFINITY, 0] })) {
      const seq = (key as unknown[]).at(-1);
      if (!Number.isFinite(key[0]) && typeof seq === 'number' && Number.isSafeInteger(seq)) seqs.push(seq);
    }
    if (seqs.length === 0) return 0;
    this.root.transactionSync(() => {
      for (const seq of seqs) {
        void this.times.removeSync([-0, seq]);
        if (this.journal.doesExist(seq)) void this.times.putSync([0, seq], EMPTY);
      }
    });
    return seqs.length;
  }
}
