/**
 * Finished answers kept by everything they depend on, so a repeated read of an unchanged view
 * skips query validation (zod), cache-key building, header assembly and the adapter's header
 * walk. The caller builds the key (request path, query, negotiation headers, the plugin's
 * change-log position, the current second); a changed state or a new second simply stops
 * matching. Bounded by entries: when full it starts over (the dead keys are the many ones).
 *
 * Bounded by bytes too (`weigh`, the oldest answers go first): an answer holds its body, and a
 * body the encoded-body cache let go stays alive as long as the memo holds it. 2,000 requests
 * for 144 KB pages, each made new by its `start`, held 288 MB here behind the cache's 32 MB.
 */
export class AnswerMemo<T extends object> {
  private readonly entries = new Map<string, { readonly value: T; readonly bytes: number }>();
  private readonly last = new Map<object, { parts: readonly (string | number)[]; value: T }>();
  private bytes = 0;

  constructor(
    private readonly maxEntries = 2048,
    private readonly maxBytes = Number.POSITIVE_INFINITY,
    private readonly weigh: (value: T) => number = () => 0,
  ) {}

  get size(): number {
    return this.entries.size;
  }

  /** What `weigh` gave the answers held, summed (a body shared by two counts twice). */
  get totalBytes(): number {
    return this.bytes;
  }

  get(key: string): T | undefined {
    return this.entries.get(key)?.value;
  }

  /**
   * The answer last served for `owner` when every part of its key is the same again: a repeated
   * read (the common case: many clients polling one view) skips building and hashing the key.
   */
  recent(owner: object, parts: readonly (string | number)[]): T | undefined {
    const last = this.last.get(owner);
    if (last === undefined || last.parts.length !== parts.length) return undefined;
    for (let i = 0; i < parts.length; i++) if (last.parts[i] !== parts[i]) return undefined;
    return last.value;
  }

  /** Remembers `value` as `owner`'s most recent answer (see recent()); owners are few (plugins). */
  remember(owner: object, parts: readonly (string | number)[], value: T): T {
    this.last.set(owner, { parts, value });
    return value;
  }

  /** Keeps `value` under `key`, unless it alone weighs more than the memo may hold. */
  set(key: string, value: T): T {
    const bytes = this.weigh(value);
    if (bytes > this.maxBytes) return value;
    if (this.entries.size >= this.maxEntries) {
      this.entries.clear();
      this.bytes = 0;
    }
    const held = this.entries.get(key);
    if (held !== undefined) {
      this.entries.delete(key);
      this.bytes -= held.bytes;
    }
    for (const [oldest, entry] of this.entries) {
      if (this.bytes + bytes <= this.maxBytes) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    return value;
  }
}

/**
 * Per-object memo of something derived from an immutable answer: the same answer object
 * (served again from an AnswerMemo) is turned into headers or a status line once.
 */
export function derivedOnce<T extends object, D>(store: WeakMap<T, D>, value: T, make: (v: T) => D): D {
  let d = store.get(value);
  if (d === undefined) {
    d = make(value);
    store.set(value, d);
  }
  return d;
}
