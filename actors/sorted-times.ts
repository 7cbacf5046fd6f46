import { TimeSlots } from './time-slots.js';

/**
 * Distinct timestamps, ascending, as a row store's buckets come and go: new ones are nearly
 * always appended at the end and old ones leave from the front (retention, expiry). Removing
 * the oldest is O(1) amortised: a head offset moves on and the array is compacted once the
 * dead prefix is half of it, where `splice(0, 1)` would move every later bucket (21 600 of
 * them for 1 s buckets kept 6 h) on every eviction.
 *
 * A timestamp leaving from the middle (a row rewritten at a newer timestamp, the last at its
 * old one: one row per topic, moved on every message) only has its slot marked dead, where a
 * splice would move every later timestamp; the array is compacted once the dead outnumber the
 * live, so each removal costs O(1) amortised. The first and last slots are always live, so
 * `first`, `last` and evicting from either end never see a dead one; scans walk slots and skip
 * the dead (at most as many as the live, plus 32).
 *
 * Both compactions copy within the arrays and keep their capacity: slots past `end` are spare.
 * A copy into fresh arrays (`slice`) left them exactly full, so the next bucket grew them again,
 * and the buckets of a 1 s plugin (21 600 doubles: V8's large-object space) were allocated and
 * copied over and over, about 57 bytes per new bucket.
 *
 * Made with values (`new SortedTimes<G>(true)`), each live slot also holds what its timestamp
 * stands for, found by valueAt() without a Map beside the list (group-index.ts): a dead or
 * spare slot holds undefined, so nothing that left is kept alive. The slots and their reads
 * are time-slots.ts; here are the writes and the compactions that keep removals O(1) amortised.
 */
export class SortedTimes<T = never> extends TimeSlots<T> {
  /** Keeps no values from now on: a list made with them becomes one without (group-index.ts). */
  dropValues(): void {
    this.held = null;
  }

  /** Adds a timestamp not yet present; with values, holding `value`. */
  insert(ts: number, value?: T): void {
    const last = this.last;
    if (last === undefined || last < ts) {
      this.append(ts, value);
      if (last === undefined) this.oldestTs = ts;
      this.newestTs = ts;
      return;
    }
    const at = this.head + this.lowerBound(ts);
    const held = this.held;
    // Still in its slot from before it went: live again where it stands.
    if (this.items[at] === ts) {
      if (this.alive[at] === 0) this.dead--;
      this.alive[at] = 1;
      if (held !== null) held[at] = value;
      return;
    }
    const end = this.end;
    this.moved += end - at;
    this.append(ts, value);
    const { items, alive } = this;
    for (let i = end; i > at; i--) {
      items[i] = items[i - 1] as number;
      alive[i] = alive[i - 1] as number;
    }
    items[at] = ts;
    alive[at] = 1;
    if (at === this.head) this.oldestTs = ts;
    if (held !== null) {
      for (let i = end; i > at; i--) held[i] = held[i - 1];
      held[at] = value;
    }
  }

  /** A live slot after the last; the arrays grow only when no spare slot is left. */
  private append(ts: number, value: T | undefined): void {
    const end = this.end;
    const held = this.held;
    if (end === this.items.length) {
      this.items.push(ts);
      this.alive.push(1);
      if (held !== null) held.push(value);
    } else {
      this.items[end] = ts;
      this.alive[end] = 1;
      if (held !== null) held[end] = value;
    }
    this.end = end + 1;
  }

  /** Takes distinct timestamps, ascending, into an empty list (an index built in one pass: timestamp-index.ts, fill()). */
  fill(ascending: readonly number[]): void {
    if (this.slots > 0) throw new Error('SortedTimes.fill() of a list that holds timestamps');
    if (this.held !== null) throw new Error('SortedTimes.fill() of a list made with values');
    this.items = ascending.slice();
    this.alive = new Array<number>(ascending.length).fill(1);
    this.head = 0;
    this.end = ascending.length;
    this.dead = 0;
    this.oldestTs = ascending.length > 0 ? (ascending[0] as number) : Number.NaN;
    this.newestTs = ascending.length > 0 ? (ascending[ascending.length - 1] as number) : Number.NaN;
  }

  remove(ts: number): void {
    // The oldest first: what retention and expiry remove.
    const i = this.slots > 0 && this.items[this.head] === ts ? 0 : this.lowerBound(ts);
    const at = this.head + i;
    if (this.items[at] !== ts || this.alive[at] !== 1) return;
    if (this.held !== null) this.held[at] = undefined;
    if (i === 0) {
      this.head++;
      this.dropDeadHead();
      if (this.end > this.head) this.oldestTs = this.items[this.head] as number;
    } else if (i === this.slots - 1) {
      this.end--;
      this.dropDeadTail();
      if (this.end > this.head) this.newestTs = this.items[this.end - 1] as number;
    } else {
      this.alive[at] = 0;
      this.dead++;
      if (this.dead >= 32 && this.dead * 2 > this.slots) this.compact();
    }
  }

  /** After the oldest went: steps over dead slots so the first is live; drops the prefix once it is half the array. */
  private dropDeadHead(): void {
    while (this.dead > 0 && this.alive[this.head] === 0) {
      this.head++;
      this.dead--;
      this.moved++;
    }
    const n = this.end;
    if (this.head === n) this.clear();
    else if (this.head >= 64 && this.head * 2 >= n) {
      this.moved += n - this.head;
      this.moveDown(this.head, n);
      this.end = n - this.head;
      this.head = 0;
    }
  }

  /**
   * Slots [from, to) to the start of the arrays. A loop: `copyWithin` on a JS array is V8's
   * generic per-element path (~75 ns an element here against ~5).
   */
  private moveDown(from: number, to: number): void {
    const { items, alive, held } = this;
    for (let i = from, j = 0; i < to; i++, j++) {
      items[j] = items[i] as number;
      alive[j] = alive[i] as number;
    }
    if (held === null) return;
    for (let i = from, j = 0; i < to; i++, j++) held[j] = held[i];
    // The slots left spare let go of what they held.
    for (let j = to - from; j < to; j++) held[j] = undefined;
  }

  /** After the newest went: pops dead slots so the last is live. */
  private dropDeadTail(): void {
    while (this.dead > 0 && this.alive[this.end - 1] === 0) {
      this.end--;
      this.dead--;
      this.moved++;
    }
    if (this.head === this.end) this.clear();
  }

  /** Keeps the live slots only: O(slots), paid for by the more than slots/2 removals that made them dead. */
  private compact(): void {
    const { items, alive, held } = this;
    let to = 0;
    for (let i = this.head; i < this.end; i++) {
      if (alive[i] !== 1) continue;
      items[to] = items[i] as number;
      alive[to] = 1;
      if (held !== null) held[to] = held[i];
      to++;
    }
    if (held !== null) for (let i = to; i < this.end; i++) held[i] = undefined;
    this.moved += this.end - this.head;
    this.end = to;
    this.head = 0;
    this.dead = 0;
  }

  /** Empty: the arrays are let go (a store emptied for good keeps no spare capacity). */
  private clear(): void {
    this.items.length = 0;
    this.alive.length = 0;
    if (this.held !== null) this.held.length = 0;
    this.head = 0;
    this.end = 0;
    this.dead = 0;
    this.oldestTs = Number.NaN;
    this.newestTs = Number.NaN;
  }
}
