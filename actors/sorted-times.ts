/**
 * Distinct timestamps, ascending, as a row store's buckets come and go: new ones are nearly
 * always appended at the end and old ones leave from the front (retention, expiry). Removing
 * the oldest is O(1) amortised: a head offset moves on and the array is compacted once the
 * dead prefix is half of it, where `splice(0, 1)` would move every later bucket (21 600 of
 * them for 1 s buckets kept 6 h) on every eviction.
 */
export class SortedTimes {
  private items: number[] = [];
  private head = 0;

  get length(): number {
    return this.items.length - this.head;
  }

  /** The i-th oldest, or undefined out of range. */
  at(i: number): number | undefined {
    return i >= 0 && i < this.length ? this.items[this.head + i] : undefined;
  }

  get first(): number | undefined {
    return this.length > 0 ? this.items[this.head] : undefined;
  }

  get last(): number | undefined {
    return this.length > 0 ? this.items[this.items.length - 1] : undefined;
  }

  /** Adds a timestamp not yet present. */
  insert(ts: number): void {
    const last = this.last;
    if (last === undefined || last < ts) this.items.push(ts);
    else this.items.splice(this.head + this.lowerBound(ts), 0, ts);
  }

  remove(ts: number): void {
    const i = this.lowerBound(ts);
    if (this.at(i) !== ts) return;
    if (i === 0) {
      this.head++;
      if (this.head === this.items.length) {
        this.items.length = 0;
        this.head = 0;
      } else if (this.head >= 64 && this.head * 2 >= this.items.length) {
        this.items = this.items.slice(this.head);
        this.head = 0;
      }
    } else if (i === this.length - 1) this.items.pop();
    else this.items.splice(this.head + i, 1);
  }

  /** First index whose timestamp is >= ts. */
  lowerBound(ts: number): number {
    const items = this.items;
    let lo = this.head;
    let hi = items.length;
    if (hi > lo && (items[hi - 1] as number) < ts) return hi - this.head;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((items[mid] as number) < ts) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }

  /** First index whose timestamp is > ts. */
  upperBound(ts: number): number {
    const items = this.items;
    let lo = this.head;
    let hi = items.length;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((items[mid] as number) <= ts) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }
}
