/**
 * The keys of one timestamp of a RowStore in order, kept between reads. Sorting a timestamp's
 * keys is what a page of rows costs when that timestamp holds many (a contribution calendar's
 * day can hold a row per user: a million keys take a quarter of a second to sort), so a large
 * group sorts once and then only the keys added or deleted since are merged in when it is
 * read again. A write costs O(1) here (a Set add); a read after writes costs one pass over
 * the keys (binary searches plus a copy, no string sort); a read after none costs nothing.
 */

/** Groups smaller than this are sorted on every read: cheap, and no cache to keep. */
export const SORTED_KEYS_MIN = 64;
/** Changes patched into the kept order one splice each; more are merged in one copy. */
const SPLICE_MAX = 32;

/** Code-unit order of the keys themselves (RowStore's (timestamp, key) order). */
export const compareKeys = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);

/** A key with its `\` escapes (row-key.ts) undone: the column value it was made from. */
function unescapeKey(key: string): string {
  // biome-ignore lint/suspicious/noControlCharactersInRegex: U+001F is one of the escaped characters
  return key.replace(/\\([\\\u001f])/g, '$1');
}

/**
 * Code-unit order of the values the keys were made from (escapes undone), as a plugin's view
 * orders rows by a column's string; the keys themselves break a tie (only odd keys tie).
 */
export function compareKeyValues(a: string, b: string): number {
  if (a.includes('\\') || b.includes('\\')) return compareKeys(unescapeKey(a), unescapeKey(b)) || compareKeys(a, b);
  return compareKeys(a, b);
}

export class SortedKeys {
  private sorted: string[];
  /** Keys added since `sorted` was made (not in it), and keys deleted since (still in it). */
  private added: Set<string> | null = null;
  private gone: Set<string> | null = null;
  /** Too much changed to patch: the next read sorts afresh. */
  private stale = false;

  constructor(
    /** Which order: compareKeyValues (true) or compareKeys. */
    readonly byValue: boolean,
    keys: Iterable<string>,
  ) {
    this.sorted = [...keys].sort(byValue ? compareKeyValues : compareKeys);
  }

  /** A key new to the group. O(1). */
  add(key: string): void {
    if (this.stale) return;
    if (this.gone?.delete(key)) return;
    (this.added ??= new Set()).add(key);
    this.checkPending();
  }

  /** A key that left the group. O(1). */
  remove(key: string): void {
    if (this.stale) return;
    if (this.added?.delete(key)) return;
    (this.gone ??= new Set()).add(key);
    this.checkPending();
  }

  /**
   * The group's keys in order; `current` lists them (any order) when they must be sorted
   * afresh. Do not modify it, nor keep it past the next write (it may be patched in place).
   */
  keys(current: () => Iterable<string>): readonly string[] {
    if (!this.stale && (this.added !== null || this.gone !== null)) {
      const patched = this.patched();
      if (patched === null) this.stale = true;
      else this.sorted = patched;
    }
    if (this.stale) {
      this.sorted = [...current()].sort(this.byValue ? compareKeyValues : compareKeys);
      this.stale = false;
    }
    this.added = null;
    this.gone = null;
    return this.sorted;
  }

  /** More changes pending than keys: sorting afresh is cheaper than holding them. */
  private checkPending(): void {
    const pending = (this.added?.size ?? 0) + (this.gone?.size ?? 0);
    if (pending > SORTED_KEYS_MIN && pending > this.sorted.length) {
      this.stale = true;
      this.added = null;
      this.gone = null;
    }
  }

  /** `sorted` with the deleted keys taken out and the added ones put in place (in place when they are few); null: sort afresh. */
  private patched(): string[] | null {
    const cmp = this.byValue ? compareKeyValues : compareKeys;
    const old = this.sorted;
    // Each change as (position in `old`, key to insert there or null to delete the key there).
    const changes: [number, string | null][] = [];
    if (this.gone !== null)
      for (const key of this.gone) {
        const i = lowerBound(old, key, cmp);
        // `gone` holds only keys that are in `old`; were one not, sorting afresh is the safe answer.
        if (old[i] !== key) return null;
        changes.push([i, null]);
      }
    if (this.added !== null) for (const key of this.added) changes.push([lowerBound(old, key, cmp), key]);
    // In position order; at one position the insertions (in key order) come before the deletion.
    changes.sort((a, b) => a[0] - b[0] || (a[1] === null ? 1 : b[1] === null ? -1 : cmp(a[1], b[1])));
    if (changes.length <= SPLICE_MAX) {
      // A few changes: in place, from the last (a splice moves memory, no per-key step).
      for (let c = changes.length - 1; c >= 0; c--) {
        const [i, key] = changes[c] as [number, string | null];
        if (key === null) old.splice(i, 1);
        else old.splice(i, 0, key);
      }
      return old;
    }
    // The runs of `old` between changes are copied whole (slice and concat copy memory, no per-key step).
    const pieces: string[][] = [];
    let from = 0;
    let inserted: string[] = [];
    for (const [i, key] of changes) {
      if (from < i) {
        if (inserted.length > 0) pieces.push(inserted);
        inserted = [];
        pieces.push(old.slice(from, i));
        from = i;
      }
      if (key === null) from = i + 1;
      else inserted.push(key);
    }
    if (inserted.length > 0) pieces.push(inserted);
    pieces.push(old.slice(from));
    // concat takes the pieces as arguments: a bounded number at a time.
    let out: string[] = [];
    for (let p = 0; p < pieces.length; p += 4096) out = out.concat(...pieces.slice(p, p + 4096));
    return out;
  }
}

/** First index of `list` whose key is not before `key`. */
function lowerBound(list: readonly string[], key: string, cmp: (a: string, b: string) => number): number {
  let lo = 0;
  let hi = list.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (cmp(list[mid] as string, key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}
