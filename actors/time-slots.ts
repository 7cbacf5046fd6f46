/**
 * The slots a SortedTimes keeps its timestamps in, and the reads of them. Timestamps stand
 * ascending in `items[head, end)`; a slot whose timestamp was removed from the middle stays in
 * place, marked dead in `alive`, until a compaction (sorted-times.ts, which owns every write).
 * The first and last slots are always live, so `first` and `last` never see a dead one; scans
 * walk slots and skip the dead.
 *
 * Made with values, each live slot also holds what its timestamp stands for in `held` (undefined
 * when dead or spare), found by valueAt() without a Map beside the list (group-index.ts).
 */
export class TimeSlots<T = never> {
  protected items: number[] = [];
  /** Beside each slot of `items`: 1 while its timestamp is present, 0 once removed (a dead slot). */
  protected alive: number[] = [];
  /** With values: beside each slot, its timestamp's value (undefined when dead or spare); as long as `items`. */
  protected held: (T | undefined)[] | null;
  protected head = 0;
  /** One past the last slot in use; `items` and `alive` may be longer (spare capacity). */
  protected end = 0;
  /** Dead slots past `head`. */
  protected dead = 0;
  protected moved = 0;
  /**
   * `items[head]` and `items[end - 1]` while any slot is in use, NaN when none (sorted-times.ts
   * keeps them so at every write): the per-message retention check reads these fields, where
   * `first`/`last` were a call TurboFan left out of line and a HeapNumber boxed for each answer
   * (40 calls a message over the built-ins, ~4.9 k instructions with their allocation).
   */
  protected oldestTs = Number.NaN;
  protected newestTs = Number.NaN;

  constructor(withValues = false) {
    this.held = withValues ? [] : null;
  }

  /** Live timestamps. */
  get length(): number {
    return this.end - this.head - this.dead;
  }

  /** Slots, live or dead: the range lowerBound() and upperBound() index into. */
  get slots(): number {
    return this.end - this.head;
  }

  /**
   * Array elements copied or stepped over so far (splices, compactions, dead slots dropped from
   * an end): what the tests read to show a removal costs O(1) amortised whatever the size.
   */
  get elementMoves(): number {
    return this.moved;
  }

  /** The timestamp in slot i, or undefined when that slot is dead or out of range. */
  slot(i: number): number | undefined {
    if (i < 0 || i >= this.slots) return undefined;
    return this.alive[this.head + i] === 1 ? this.items[this.head + i] : undefined;
  }

  get first(): number | undefined {
    return this.slots > 0 ? this.items[this.head] : undefined;
  }

  get last(): number | undefined {
    return this.slots > 0 ? this.items[this.end - 1] : undefined;
  }

  /** `first`, or NaN when empty: any comparison with it is false, as the retention checks want. */
  get oldest(): number {
    return this.oldestTs;
  }

  /** `last`, or NaN when empty. */
  get newest(): number {
    return this.newestTs;
  }

  /**
   * The value held at `ts` (made with values), or undefined when `ts` is not present: the
   * newest slot is tried first, where nearly every write goes, then the oldest, which retention
   * takes, before a binary search. Slots are compared with `===`,
   * so a timestamp that is not a number, or NaN, is never found (group-index.ts keeps those in
   * a Map).
   */
  valueAt(ts: number): T | undefined {
    const held = this.held as (T | undefined)[];
    const end = this.end;
    const head = this.head;
    if (end > head) {
      if (this.items[end - 1] === ts) return held[end - 1];
      if (this.items[head] === ts) return held[head];
    }
    const at = this.head + this.lowerBound(ts);
    return at < end && this.items[at] === ts ? held[at] : undefined;
  }

  /** The value in slot i (made with values): undefined when that slot is dead or out of range. */
  valueInSlot(i: number): T | undefined {
    if (i < 0 || i >= this.slots) return undefined;
    return (this.held as (T | undefined)[])[this.head + i];
  }

  /** The timestamp slot i was given, live or dead; undefined out of range. */
  timeInSlot(i: number): number | undefined {
    return i < 0 || i >= this.slots ? undefined : this.items[this.head + i];
  }

  /** First slot whose timestamp is >= ts. */
  lowerBound(ts: number): number {
    const items = this.items;
    let lo = this.head;
    let hi = this.end;
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
    let hi = this.end;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if ((items[mid] as number) <= ts) lo = mid + 1;
      else hi = mid;
    }
    return lo - this.head;
  }
}
