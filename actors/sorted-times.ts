/**
 * Distinct timestamps, ascending, as a row store's buckets come and go: new ones are nearly
 * always appended at the end and old ones leave from the front (retention, expiry). Removing
 * the oldest is O(1) amortised: a head offset moves on and the array is compacted once the
 * dead prefix is half of it, where `splice(0, 1)` would move every later bucket (21 600 of
 * them for 1 s buckets kept 6 h) on every eviction.
 *
 * A timestamp leaving from the middle (a row rewritten with a newer timestamp, the last at its
 * old one: one row per topic, moved on every message) is only marked dead, where a splice
 * would move every later timestamp; the array is compacted once the dead outnumber the live,
 * so each removal costs O(1) amortised. The first and last slots are always live, so `first`,
 * `last` and evicting from either end never see a dead one; scans walk slots and skip dead ones.
 */
export class SortedTimes {
  private items: number[] = [];
  private head = 0;
  /** Timestamps removed but still in a slot past `head`; each is in `items` exactly once. */
  private readonly dead = new Set<number>();
  private moved = 0;

  /** Live timestamps. */
  get length(): number {
    return this.items.length - this.head - this.dead.size;
  }

  /** Slots, live or dead: the range lowerBound() and upperBound() index into. */
  get slots(): number {
    return this.items.length - this.head;
  }

  /**
   * Array elements copied or stepped over so far (splices, compactions, dead slots dropped from
   * an end): the tests' measure that a removal costs O(1) amortised whatever the size.
   */
  get elementMoves(): number {
    return this.moved;
  }

  /** The timestamp in slot i, or undefined when it is dead or out of range. */
  slot(i: number): number | undefined {
    if (i < 0 || i >= this.slots) return undefined;
    const ts = this.items[this.head + i] as number;
    return this.dead.size > 0 && this.dead.has(ts) ? undefined : ts;
  }

  get first(): number | undefined {
    return this.slots > 0 ? this.items[this.head] : undefined;
  }

  get last(): number | undefined {
    return this.slots > 0 ? this.items[this.items.length - 1] : undefined;
  }

  /** Adds a timestamp not yet present. */
  insert(ts: number): void {
    const last = this.last;
    if (last === undefined || last < ts) {
      this.items.push(ts);
      return;
    }
    const i = this.lowerBound(ts);
    // Still in its slot from before it went: it is live again where it stands.
    if (this.items[this.head + i] === ts) {
      this.dead.delete(ts);
      return;
    }
    this.moved += this.slots - i;
    this.items.splice(this.head + i, 0, ts);
  }

  remove(ts: number): void {
    const i = this.lowerBound(ts);
    if (this.items[this.head + i] !== ts || i >= this.slots || this.dead.has(ts)) return;
    if (i === 0) {
      this.head++;
      this.dropDeadHead();
    } else if (i === this.slots - 1) {
      this.items.pop();
      this.dropDeadTail();
    } else {
      this.dead.add(ts);
      if (this.dead.size >= 32 && this.dead.size * 2 > this.slots) this.compact();
    }
  }

  /** First slot whose timestamp is >= ts. */
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

  /** First slot whose timestamp is > ts. */
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

  /** After the oldest went: steps over dead slots so the first is live, and drops the prefix once it is half the array. */
  private dropDeadHead(): void {
    const items = this.items;
    while (this.dead.size > 0 && this.head < items.length && this.dead.delete(items[this.head] as number)) {
      this.head++;
      this.moved++;
    }
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    } else if (this.head >= 64 && this.head * 2 >= items.length) {
      this.moved += items.length - this.head;
      this.items = items.slice(this.head);
      this.head = 0;
    }
  }

  /** After the newest went: pops dead slots so the last is live. */
  private dropDeadTail(): void {
    const items = this.items;
    while (this.dead.size > 0 && items.length > this.head && this.dead.delete(items[items.length - 1] as number)) {
      items.pop();
      this.moved++;
    }
    if (this.head === items.length) {
      items.length = 0;
      this.head = 0;
    }
  }

  /** Keeps the live slots only: O(slots), paid for by the more than slots/2 removals that made them dead. */
  private compact(): void {
    const live: number[] = [];
    const items = this.items;
    for (let i = this.head; i < items.length; i++) {
      const ts = items[i] as number;
      if (!this.dead.has(ts)) live.push(ts);
    }
    this.moved += items.length - this.head;
    this.items = live;
    this.head = 0;
    this.dead.clear();
  }
}
