import type { Group } from './row-group.js';

/**
 * A resumable walk over a container's entries, for a deferred digest's settle (state-digest.ts),
 * that hands out each key as two parts (key = head + rest), never concatenated: walking
 * entries() of grouped rows made a key per entry that hashing then flattened (the settle after
 * a replay of 20 k messages allocated 157 MiB so). A Map's own entry pairs are cheap beside
 * looking each key up again (KeysWalk).
 */
export interface EntryWalk {
  /** Moves to the next entry (then in head, rest and value); false once there is none. */
  step(): boolean;
  /** The key's head: `units[0..headUnits)` when headUnits ≥ 0 (then `head` is stale), else `head`. */
  head: string;
  headUnits: number;
  readonly units: Int32Array;
  rest: string;
  value: unknown;
}

/** The most units headUnits() writes: a safe integer's 16 digits and the separator. */
export const HEAD_UNITS_MAX = 17;

/**
 * Writes the UTF-16 units of `String(ts)`, then U+001F if `sep`, into `into` (HEAD_UNITS_MAX long); their count, or -1
 * for a number whose String() is not plain digits. A settle walks rows by timestamp (every
 * bucket), and String() of a timestamp the number-string cache has lost is a runtime call of
 * ~600 instructions and a string: ~7 a replayed message at 20 k. Plain digits are String()'s
 * form of an integer 0 ≤ ts < 2^53 (-0 included: "0").
 */
export function headUnits(ts: number, sep: boolean, into: Int32Array): number {
  if (!(ts >= 0 && ts <= Number.MAX_SAFE_INTEGER && Number.isInteger(ts))) return -1;
  let n = 1;
  while (n < 16 && ts >= (POW10[n] as number)) n++;
  if (ts <= 0x7fffffff) {
    // Every bucket until 2038: int32 arithmetic, no floating-point division or modulo.
    for (let i = n - 1, t = ts | 0; i >= 0; i--) {
      const q = (t / 10) | 0;
      into[i] = 48 + (t - q * 10);
      t = q;
    }
  } else
    for (let i = n - 1, t = ts; i >= 0; i--) {
      // Below 2^53, t / 10 never rounds up to the next integer.
      const q = Math.floor(t / 10);
      into[i] = 48 + (t - q * 10);
      t = q;
    }
  if (!sep) return n;
  into[n] = 0x1f;
  return n + 1;
}

/** 10^i, i < 16: the digit count of a safe integer. */
const POW10 = Float64Array.from({ length: 16 }, (_, i) => 10 ** i);

/** What a walk reads of a Map-like table. */
interface KeyedTable {
  entries(): Iterator<[string, unknown]>;
}

/**
 * Any table through its entries: one iterator result and one pair per entry, both dead at the
 * next step. It walked the keys and looked each value up: a Map's get() of a large table costs
 * a few cache misses (~550 ns per entry at 500 k entries here, against ~20 ns a step of its
 * entries), which made the settle after a restore of 1 M keys about 0.5 s.
 */
export class KeysWalk implements EntryWalk {
  head = '';
  readonly headUnits = -1;
  readonly units = new Int32Array(0);
  rest = '';
  value: unknown = undefined;
  private readonly entries: Iterator<[string, unknown]>;

  constructor(table: KeyedTable) {
    this.entries = table.entries();
  }

  step(): boolean {
    const next = this.entries.next();
    if (next.done === true) return false;
    const entry = next.value;
    this.rest = entry[0];
    this.value = entry[1];
    return true;
  }
}

/**
 * Grouped rows (grouped-rows.ts): each group's inline row and the entries of its Map of rests
 * under the group's head, then its odd keys whole. Both Maps are walked by their entries, not
 * looked up again by key (see KeysWalk: a calendar's group holds a day's users).
 */
export class GroupsWalk<R> implements EntryWalk {
  head = '';
  headUnits = -1;
  readonly units = new Int32Array(HEAD_UNITS_MAX);
  rest = '';
  value: unknown = undefined;
  private g = -1;
  private group: Group<R> | null = null;
  /** Whether the current group's inline row is still to come. */
  private inline = false;
  private rows: Iterator<[string, R]> | null = null;
  private odd: Iterator<[string, R]> | null = null;

  constructor(
    private readonly groups: readonly Group<R>[],
    private readonly headOf: (g: Group<R>) => string,
  ) {}

  step(): boolean {
    for (;;) {
      const group = this.group;
      if (group !== null) {
        if (this.inline) {
          this.inline = false;
          this.rest = group.rest0 as string;
          this.value = group.row0;
          return true;
        }
        if (this.rows !== null) {
          const next = this.rows.next();
          if (next.done !== true) {
            this.rest = next.value[0];
            this.value = next.value[1];
            return true;
          }
          this.rows = null;
        }
        if (this.odd !== null) {
          const next = this.odd.next();
          if (next.done !== true) {
            this.head = '';
            this.headUnits = -1;
            this.rest = next.value[0];
            this.value = next.value[1];
            return true;
          }
          this.odd = null;
        }
      }
      if (!this.enter(this.g + 1)) return false;
    }
  }

  /** Makes group `i` the current one; false past the last. */
  private enter(i: number): boolean {
    this.g = i;
    const group = this.groups[i];
    if (group === undefined) {
      this.group = null;
      return false;
    }
    this.group = group;
    this.headUnits = headUnits(group.ts, true, this.units);
    if (this.headUnits < 0) this.head = this.headOf(group);
    this.inline = group.rest0 !== null;
    this.rows = group.rows === null ? null : group.rows.entries();
    this.odd = group.odd === null ? null : group.odd.entries();
    return true;
  }
}
