/**
 * The fake datagrepper's answers in the order a stable sort by timestamp gives them, without
 * sorting everything it holds for every page: crash-recovery re-reads a 600 s overlap holding
 * every message it published (20,000 and more) at every restart, 200 pages a start, and a
 * filter and sort of the whole list took ~34 ms a page on the loaded 2-core box.
 *
 * `messages` is append-only (tests push to it): what was pushed since the last read is appended
 * to the ordered copy when it comes in time order, and the copy is sorted again otherwise. A
 * timestamp that is not a number (or NaN) makes `window` return undefined, and the caller sorts
 * as before: comparisons with such values are not an order a binary search can use.
 */
export interface Timed {
  readonly timestamp: number;
}

export class TimeOrdered<T extends Timed> {
  private ordered: T[] = [];
  private seen = 0;
  private irregular = false;

  constructor(private readonly messages: readonly T[]) {}

  /**
   * The messages with start <= timestamp <= end, oldest first (`asc`) or newest first, ties in the
   * order they were pushed either way (as Array.prototype.sort, which is stable, leaves them);
   * `limit` of them from `offset`, and how many the window holds.
   */
  window(
    start: number,
    end: number,
    asc: boolean,
    offset: number,
    limit: number,
  ): { total: number; rows: T[] } | undefined {
    if (!this.index()) return undefined;
    const lo = this.firstAtOrAfter(start, (t, s) => t >= s);
    const hi = this.firstAtOrAfter(end, (t, e) => t > e);
    const total = Math.max(0, hi - lo);
    if (asc) return { total, rows: this.ordered.slice(lo + offset, Math.min(hi, lo + offset + limit)) };
    // Newest first, each run of equal timestamps still in push order: walk the runs back from `hi`.
    const rows: T[] = [];
    let skip = offset;
    for (let runEnd = hi; runEnd > lo && rows.length < limit; ) {
      let runStart = runEnd - 1;
      const t = (this.ordered[runStart] as T).timestamp;
      while (runStart > lo && (this.ordered[runStart - 1] as T).timestamp === t) runStart--;
      for (let i = runStart; i < runEnd && rows.length < limit; i++) {
        if (skip > 0) skip--;
        else rows.push(this.ordered[i] as T);
      }
      runEnd = runStart;
    }
    return { total, rows };
  }

  /** Brings the ordered copy up to what was pushed; false once any timestamp is not a number. */
  private index(): boolean {
    if (this.irregular) return false;
    const { messages } = this;
    if (messages.length < this.seen) {
      this.ordered = [];
      this.seen = 0;
    }
    let inOrder = true;
    for (let i = this.seen; i < messages.length; i++) {
      const m = messages[i] as T;
      if (typeof m.timestamp !== 'number' || Number.isNaN(m.timestamp)) {
        this.irregular = true;
        return false;
      }
      const last = this.ordered[this.ordered.length - 1];
      if (last !== undefined && m.timestamp < last.timestamp) inOrder = false;
      this.ordered.push(m);
    }
    this.seen = messages.length;
    // A stable sort of the whole list in push order: what the filter-then-sort gave.
    if (!inOrder) this.ordered = [...messages].sort((a, b) => a.timestamp - b.timestamp);
    return true;
  }

  /** The first index whose timestamp `past(timestamp, bound)` holds for (they are ordered). */
  private firstAtOrAfter(bound: number, past: (t: number, bound: number) => boolean): number {
    let lo = 0;
    let hi = this.ordered.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (past((this.ordered[mid] as T).timestamp, bound)) hi = mid;
      else lo = mid + 1;
    }
    return lo;
  }
}
