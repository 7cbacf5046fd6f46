import type { Group } from './grouped-rows.js';

/**
 * A resumable walk over a container's entries, for a deferred digest's settle (state-digest.ts),
 * that hands out each key as two parts (key = head + rest) and allocates nothing per entry.
 * Walking entries() instead made, per entry, an iterator result, a [key, value] pair and (for
 * grouped rows) a concatenated key that hashing then flattened: the settle after a replay of
 * 20 k messages allocated 157 MiB so.
 */
export interface EntryWalk {
  /** Moves to the next entry (then in head, rest and value); false once there is none. */
  step(): boolean;
  head: string;
  rest: string;
  value: unknown;
}

/** What a walk reads of a Map-like table. */
interface KeyedTable {
  keys(): Iterator<string>;
  get(key: string): unknown;
}

/** Any table through its keys (one iterator result per entry: no pair, no key copy). */
export class KeysWalk implements EntryWalk {
  head = '';
  rest = '';
  value: unknown = undefined;
  private readonly keys: Iterator<string>;

  constructor(private readonly table: KeyedTable) {
    this.keys = table.keys();
  }

  step(): boolean {
    const next = this.keys.next();
    if (next.done === true) return false;
    this.rest = next.value;
    this.value = this.table.get(next.value);
    return true;
  }
}

/**
 * Grouped rows (grouped-rows.ts): each group's regular rests under the group's head, then its
 * odd keys whole. A group's rests are copied into one scratch array when the walk reaches it
 * (reused from group to group), so a step is an array read and a lookup.
 */
export class GroupsWalk<R> implements EntryWalk {
  head = '';
  rest = '';
  value: unknown = undefined;
  private g = -1;
  private readonly rests: string[] = [];
  private restCount = 0;
  private at = 0;
  private group: Group<R> | null = null;
  private odd: Iterator<string> | null = null;

  constructor(
    private readonly groups: readonly Group<R>[],
    private readonly headOf: (g: Group<R>) => string,
  ) {}

  step(): boolean {
    for (;;) {
      const group = this.group;
      if (group !== null) {
        if (this.at < this.restCount) {
          const rest = this.rests[this.at++] as string;
          this.rest = rest;
          this.value = group.get(rest);
          return true;
        }
        if (this.odd !== null) {
          const next = this.odd.next();
          if (next.done !== true) {
            this.head = '';
            this.rest = next.value;
            this.value = group.odd?.get(next.value);
            return true;
          }
        }
      }
      if (!this.enter(this.g + 1)) return false;
    }
  }

  /** Makes group `i` the current one; false past the last. */
  private enter(i: number): boolean {
    this.g = i;
    const group = this.groups[i];
    // Drop the previous group's strings: the scratch array outlives it.
    this.rests.fill('', 0, this.restCount);
    this.restCount = 0;
    this.at = 0;
    if (group === undefined) {
      this.group = null;
      return false;
    }
    this.group = group;
    this.head = this.headOf(group);
    if (group.rest0 !== null) this.rests[this.restCount++] = group.rest0;
    if (group.rows !== null) for (const rest of group.rows.keys()) this.rests[this.restCount++] = rest;
    this.odd = group.odd === null ? null : group.odd.keys();
    return true;
  }
}
