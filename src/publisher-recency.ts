/** A publisher's `i` state, kept by the gap detector. */
export interface IState {
  i: number;
  ts: number;
  strikes: number;
  clean: number;
  unreliable: boolean;
}

interface Entry extends IState {
  /** `<username>|<category>`: what the snapshot meta calls it. */
  readonly key: string;
  /** The key split at its last `|`; category null for a key without one (only a snapshot holds those). */
  readonly user: string;
  readonly category: string | null;
  older: Entry | null;
  newer: Entry | null;
}

/**
 * The gap detector's publishers, found by (username, category) and kept in recency order, the
 * least recently heard first: the same keys and the same order as a Map keyed by
 * `<username>|<category>` with each heard key deleted and set again, without joining that key
 * for every message (a string built, flattened and hashed) or re-inserting into the Map (the
 * holes deletes leave, rehashed away). The order is a list linked through the entries; a lookup
 * is two Map reads of strings the message already holds.
 *
 * Identity is the joined key's, as before: `a|b` in `c` and `a` in `b|c` are one publisher. So a
 * pair is looked up split at the joined key's last `|`, which for a category without `|` (every
 * real one) is the pair itself.
 */
export class PublisherRecency {
  private readonly byCategory = new Map<string, Map<string, Entry>>();
  private oldest: Entry | null = null;
  private newest: Entry | null = null;
  private count = 0;

  get size(): number {
    return this.count;
  }

  find(user: string, category: string): IState | undefined {
    if (category.includes('|')) {
      const key = `${user}|${category}`;
      const cut = key.lastIndexOf('|');
      return this.byCategory.get(key.slice(cut + 1))?.get(key.slice(0, cut));
    }
    return this.byCategory.get(category)?.get(user);
  }

  /** A publisher not tracked yet (find returned nothing), as the most recent. */
  add(user: string, category: string, i: number, ts: number): void {
    this.addKey(`${user}|${category}`, i, ts, false);
  }

  /** By its joined key (a snapshot's table); the key must not be tracked yet. */
  addKey(key: string, i: number, ts: number, unreliable: boolean): void {
    const cut = key.lastIndexOf('|');
    const entry: Entry = {
      i,
      ts,
      strikes: 0,
      clean: 0,
      unreliable,
      key,
      user: cut === -1 ? key : key.slice(0, cut),
      category: cut === -1 ? null : key.slice(cut + 1),
      older: this.newest,
      newer: null,
    };
    if (entry.category !== null) {
      let users = this.byCategory.get(entry.category);
      if (users === undefined) {
        users = new Map();
        this.byCategory.set(entry.category, users);
      }
      users.set(entry.user, entry);
    }
    if (this.newest === null) this.oldest = entry;
    else this.newest.newer = entry;
    this.newest = entry;
    this.count++;
  }

  /** Heard again: now the most recent. `state` is one find returned. */
  touch(state: IState): void {
    const entry = state as Entry;
    if (entry === this.newest) return;
    const { older, newer } = entry;
    if (older === null) this.oldest = newer;
    else older.newer = newer;
    if (newer !== null) newer.older = older;
    entry.older = this.newest;
    entry.newer = null;
    (this.newest as Entry).newer = entry;
    this.newest = entry;
  }

  /** Forgets the least recently heard. */
  forgetOldest(): void {
    const entry = this.oldest;
    if (entry === null) return;
    this.oldest = entry.newer;
    if (entry.newer === null) this.newest = null;
    else entry.newer.older = null;
    entry.newer = null;
    this.count--;
    if (entry.category === null) return;
    const users = this.byCategory.get(entry.category);
    users?.delete(entry.user);
    // Hostile topics make endless categories: an emptied one is not kept.
    if (users?.size === 0) this.byCategory.delete(entry.category);
  }

  /** Oldest first, with the joined keys. */
  *entries(): IterableIterator<[string, IState]> {
    for (let e = this.oldest; e !== null; e = e.newer) yield [e.key, e];
  }
}
