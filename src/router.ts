/**
 * Maps a topic to the plugins that want it. Built once from the plugins' topic prefixes;
 * answers are cached per topic because the bus repeats a few hundred topics endlessly.
 */
export interface Route {
  (topic: string): readonly number[];
  /** Topics whose answer is cached now (at most ROUTE_CACHE_LIMIT). */
  readonly cached: number;
}

/** Topics whose answer is kept: topics come from publishers, and a hostile one makes each new. */
export const ROUTE_CACHE_LIMIT = 10_000;

export function createRouter(targets: readonly { readonly topics: readonly string[] }[]): Route {
  const everything: number[] = [];
  const byPrefix = new Map<string, number[]>();
  targets.forEach((t, index) => {
    if (t.topics.includes('')) {
      everything.push(index);
      return;
    }
    for (const prefix of new Set(t.topics)) {
      const list = byPrefix.get(prefix) ?? [];
      list.push(index);
      byPrefix.set(prefix, list);
    }
  });
  const prefixes = [...byPrefix.entries()];
  const cache = new Map<string, readonly number[]>();

  const route = (topic: string): readonly number[] => {
    const hit = cache.get(topic);
    if (hit) return hit;
    const wanted = new Set(everything);
    for (const [prefix, indexes] of prefixes) {
      if (topic.startsWith(prefix)) for (const i of indexes) wanted.add(i);
    }
    // Not frozen (the type keeps callers from writing): optimized code reads a frozen array's
    // elements through a KeyedLoadIC call, ~90 instructions a plugin a message in queue().
    const result: readonly number[] = [...wanted].sort((a, b) => a - b);
    // Unbounded topic sets (a hostile publisher) must not grow the cache forever.
    if (cache.size >= ROUTE_CACHE_LIMIT) cache.clear();
    cache.set(topic, result);
    return result;
  };
  return Object.defineProperty(route, 'cached', { get: () => cache.size }) as Route;
}
