import { SortedTimes } from './sorted-times.js';

/** What the index needs of a group: its timestamp, and a number it gives the group when added. */
export interface Indexed {
  readonly ts: number;
  seq: number;
}

/**
 * GroupedRows' groups by timestamp, and in the order they were added. They were a
 * `Map<number, Group>` beside the sorted timestamps: a 1 s plugin at replay speed opens a group
 * per message and evicts the oldest, so each message paid a Map insertion, a deletion and
 * three lookups, and the Map's table was copied whenever its deleted entries filled it. Here
 * the sorted timestamps hold the groups themselves (SortedTimes with values): the newest is
 * found at the end and the oldest leaves from the front, with no hashing.
 *
 * The order the rows' keys are read in (keys(), values(), entries(), a snapshot's walk) was
 * that Map's, the order groups were added in: each group is numbered as it is added (`seq`),
 * and walked by that number as a Map's iterator walks, live. While every group present came
 * after the newest timestamp of its time, that is the sorted order; a group added before it
 * (a late message's bucket) opens a second list by number, kept until no such group is left.
 * With timestamps in order (replay, most live traffic) each group would only be added to that
 * list and taken from it again, for nothing.
 *
 * A timestamp that is not a number, or NaN (a row only a restore or an odd plugin writes),
 * cannot be found by comparing: from the first such group on, groups are found through a Map
 * by timestamp as before, and the sorted list keeps its timestamps as it did beside that Map.
 */
export class GroupIndex<G extends Indexed> {
  /** Timestamps that hold groups, ascending; each holds its group until byTime takes over. */
  readonly times = new SortedTimes<G>(true);
  /**
   * The groups by `seq`, ascending (the order they were added in), while they are not already
   * in that order in `times`: from a group added before the newest timestamp (a late message's
   * bucket) until no such group is left, and for good once byTime took over.
   */
  private order: SortedTimes<G> | null = null;
  /** Groups present that were added before the newest timestamp (their `seq` odd). */
  private misplaced = 0;
  private added = 0;
  /** Groups present (the sorted timestamps lose count of one that is NaN). */
  private count = 0;
  /** Once a timestamp no comparison finds came: every group by timestamp (SameValueZero, as before). */
  private byTime: Map<number, G> | null = null;

  get size(): number {
    return this.count;
  }

  get(ts: number): G | undefined {
    return this.byTime === null ? this.times.valueAt(ts) : this.byTime.get(ts);
  }

  /**
   * Adds a group for a timestamp that has none. Its `seq` grows with every group added, odd for
   * one added before the newest timestamp: while none of those is present, the groups stand in
   * `times` in the order they were added (each came after every timestamp present then).
   */
  add(g: G): void {
    const ts = g.ts;
    if (this.byTime === null && (typeof ts !== 'number' || Number.isNaN(ts))) this.mapTimes();
    const last = this.times.last;
    const atEnd = last === undefined || last < ts;
    g.seq = this.added++ * 2 + (atEnd ? 0 : 1);
    if (!atEnd && this.misplaced++ === 0 && this.order === null) this.openOrder();
    if (this.byTime === null) this.times.insert(ts, g);
    else {
      this.byTime.set(ts, g);
      this.times.insert(ts);
    }
    if (this.order !== null) this.order.insert(g.seq, g);
    this.count++;
  }

  /** Removes a group that is in the index. */
  remove(g: G): void {
    if (this.byTime !== null) this.byTime.delete(g.ts);
    this.times.remove(g.ts);
    this.count--;
    if (this.order === null) return;
    this.order.remove(g.seq);
    if (g.seq % 2 === 1 && --this.misplaced === 0 && this.byTime === null) this.order = null;
  }

  /**
   * The groups in the order they were added, read live as a Map's iterator reads: a group
   * added meanwhile comes at the end, one removed before it is reached does not come. Each
   * step goes on from the last group given by its number, so removals, compactions and the
   * order list coming or going between steps do not lose the place.
   */
  *groups(): Generator<G> {
    let seq = -1;
    let i = 0;
    let from: SortedTimes<G> | null = null;
    for (;;) {
      const list = this.order ?? this.times;
      // Where the last group given stands, unless slots moved since (then found again by number).
      if (list !== from || seqInSlot(list, i - 1, list === this.order) !== seq) {
        i = list === this.order ? list.upperBound(seq) : firstAfter(list, seq);
        from = list;
      }
      let g: G | undefined;
      while (i < list.slots && (g = list.valueInSlot(i)) === undefined) i++;
      if (g === undefined) return;
      seq = g.seq;
      i++;
      yield g;
    }
  }

  /** The groups in the order they were added, as an array. */
  list(): G[] {
    const out: G[] = [];
    const list = this.order ?? this.times;
    for (let i = 0; i < list.slots; i++) {
      const g = list.valueInSlot(i);
      if (g !== undefined) out.push(g);
    }
    return out;
  }

  /** The order list, from `times` (in the order added while no group is misplaced). */
  private openOrder(): void {
    const order = new SortedTimes<G>(true);
    for (const g of this.list()) order.insert(g.seq, g);
    this.order = order;
  }

  /** By a Map from now on; the sorted timestamps stay as they are, without their groups. */
  private mapTimes(): void {
    if (this.order === null) this.openOrder();
    const byTime = new Map<number, G>();
    for (const g of this.list()) byTime.set(g.ts, g);
    this.times.dropValues();
    this.byTime = byTime;
  }
}

/** The seq of the group in slot i (the order list: its key, live or dead; `times`: its live group's). */
function seqInSlot<G extends Indexed>(list: SortedTimes<G>, i: number, byOrder: boolean): number | undefined {
  return byOrder ? list.timeInSlot(i) : list.valueInSlot(i)?.seq;
}

/**
 * In `times` while its groups stand in the order added: the first slot after every group numbered
 * `seq` or less. A dead slot holds nothing; the first live one from a probe on decides.
 */
function firstAfter<G extends Indexed>(times: SortedTimes<G>, seq: number): number {
  const n = times.slots;
  let lo = 0;
  let hi = n;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    let k = mid;
    let g: G | undefined;
    while (k < n && (g = times.valueInSlot(k)) === undefined) k++;
    if (g === undefined || g.seq > seq) hi = mid;
    else lo = k + 1;
  }
  return lo;
}
