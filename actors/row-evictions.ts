/** RowStore's evictions by age or number: whole timestamps from either end, or the oldest rows to a count, each recorded as a delete is. */
import type { Row } from './row-store.js';
import { TimeIndexedRows } from './time-indexed-rows.js';

/** TimeIndexedRows' rows evicted in timestamp order: retention, the key cap, and rows dated ahead of the clock. */
export class RowEvictions<R extends Row> extends TimeIndexedRows<R> {
  /**
   * Deletes every row older than `span` seconds before the newest (a retention after a message):
   * evictBefore(newestTimestamp - span) when any row is that old. No rows: NaN, and nothing to do.
   */
  evictOlderThan(span: number): number {
    const times = this.fixedTimes ?? this.index.times;
    const top = times.newest;
    if (!(times.oldest < top - span)) return 0;
    return this.evictBefore(top - span);
  }

  /** Deletes every row older than `cutoff` (recorded as changes, so snapshots drop them too). */
  evictBefore(cutoff: number): number {
    let evicted = 0;
    const list = this.index.times;
    // Whole groups from the oldest end; a group that deletes nothing would be a bug, not a loop.
    while (list.length > 0 && (list.first as number) < cutoff) {
      const n = this.evictGroup(list.first as number);
      if (n === 0) break;
      evicted += n;
    }
    return evicted;
  }

  /**
   * Deletes the `n` oldest rows, recorded as changes like retention: whole buckets oldest first,
   * and of the bucket that goes only in part, its last keys in key order. Not the order the rows
   * were written in: a restore loads them in key order, so a replica that had restarted kept
   * other rows of that bucket than one that had not (the key cap and the key budget cut here).
   * The last, not the first: a large bucket's kept key order loses its end in O(1), its start
   * in O(keys) (sorted-keys.ts), and at the cap this runs for every message.
   */
  evictOldest(n: number): number {
    let evicted = 0;
    const list = this.index.times;
    while (evicted < n && list.length > 0) {
      const ts = list.first as number;
      const left = n - evicted;
      let gone = 0;
      if (this.index.countAt(ts) <= left) gone = this.evictGroup(ts);
      else for (const key of this.index.lastKeysAt(ts, left)) if (this.delete(key)) gone++;
      // The index drops a timestamp with its last row; an empty one would be a bug, not a loop.
      if (gone === 0) break;
      evicted += gone;
    }
    return evicted;
  }

  /** Deletes every row newer than `cutoff`: state an older version let a message date ahead of the clock. */
  evictAfter(cutoff: number): number {
    let evicted = 0;
    const list = this.index.times;
    while (list.length > 0 && (list.last as number) > cutoff) {
      const n = this.evictGroup(list.last as number);
      if (n === 0) break;
      evicted += n;
    }
    return evicted;
  }

  /**
   * Deletes every row at `ts`: the group leaves the table and the index in one step, and each
   * key is then recorded as a delete() would record it (undo, cut, digest, change log), in the
   * order keysAt() gives, without looking each key up again.
   */
  private evictGroup(ts: number): number {
    if (this.grouped !== null) {
      const group = this.grouped.takeGroup(ts);
      if (group !== null) {
        // Logged split, as a write is (logWrite): the key made here for the undo log, the cut
        // and the digest is garbage once they are done with it, and when none of them wants it
        // (retention through replay) it is not made at all: String(ts), its head and a key per row.
        const head = this.removalNeedsKey ? this.grouped.headOf(group) : null;
        if (group.rest0 !== null) this.evictedRow(group.ts, head, group.rest0, group.row0 as R);
        if (group.rows !== null) for (const [rest, row] of group.rows) this.evictedRow(group.ts, head, rest, row);
        return group.regularSize;
      }
    } else if (this.numbered !== null) {
      const row = this.numbered.takeAt(ts);
      if (row === undefined) return 0;
      if (row !== null) {
        // Logged as the number, as a write is (logWrite); the key made only when something wants it.
        if (this.removalNeedsKey) this.recordRemoval(String(ts), row);
        else this.recordRemovalUnkeyed(row);
        this.logNumber(ts);
        return 1;
      }
    } else if (this.flat !== null) {
      const keys = this.flat.takeGroup(ts);
      if (typeof keys === 'string') {
        this.deleteIndexed(keys);
        return 1;
      }
      if (keys !== null) {
        for (const key of keys) this.deleteIndexed(key);
        return keys.size;
      }
    }
    // Odd keys (restored state only): one by one; delete() unindexes each and drops the timestamp with its last row.
    let n = 0;
    for (const key of [...this.index.keysAt(ts)]) {
      this.delete(key);
      n++;
    }
    return n;
  }

  /** `head`: the group's key head, or null when no key is wanted (removalNeedsKey). */
  private evictedRow(ts: number, head: string | null, rest: string, row: R): void {
    if (head === null) this.recordRemovalUnkeyed(row);
    else this.recordRemoval(head + rest, row);
    this.logSplit(ts, rest);
  }

  /** Deletes the row of a key the flat index has already let go of. */
  private deleteIndexed(key: string): void {
    const previous = this.map.get(key) as R;
    this.map.delete(key);
    this.recordDeleted(key, previous);
  }
}
