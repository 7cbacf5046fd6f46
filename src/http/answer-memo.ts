/**
 * Finished answers kept by everything they depend on, so a repeated read of an unchanged view
 * skips query validation (zod), cache-key building, header assembly and the adapter's header
 * walk. The caller builds the key (request path, query, negotiation headers, the plugin's
 * change-log position, the current second); a changed state or a new second simply stops
 * matching. Bounded by entries: when full it starts over (the dead keys are the many ones).
 */
export class AnswerMemo<T extends object> {
  private readonly entries = new Map<string, T>();
  private readonly last = new Map<object, { parts: readonly (string | number)[]; value: T }>();

  constructor(private readonly maxEntries = 2048) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): T | undefined {
    return this.entries.get(key);
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

  set(key: string, value: T): T {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, value);
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
