/**
 * A restored entry's key and the field of its value that the key was made from, decoded as two
 * equal strings. Written live they are one: a row keyed by one string column has that string
 * as its key (row-key.ts, keyPart), so each restored row kept a string more than the same row
 * written live (16 B per tracked key in the restore bench's 1 M keys), and the collector moved
 * it out of the young generation with the rest. The field is pointed at the key's string as
 * the entry is decoded, before a scavenge: the copy dies young.
 */

/** Values looked through for the field before giving up (a key made of several columns matches none). */
const TRIES = 16;

/** For one container's entries read in key order: the field found, kept for the entries after. */
export class KeyShare {
  private field: string | null = null;
  private misses = 0;

  /** Points `value`'s field equal to `key` (if any) at `key` itself. `value` must be freshly decoded: it is written to. */
  share(key: string, value: unknown): void {
    if (typeof value !== 'object' || value === null) return;
    const entry = value as Record<string, unknown>;
    const field = this.field;
    if (field !== null && entry[field] === key) {
      entry[field] = key;
      return;
    }
    if (this.misses >= TRIES) return;
    for (const f in entry) {
      if (entry[f] === key) {
        entry[f] = key;
        this.field = f;
        return;
      }
    }
    this.misses++;
  }
}
