/**
 * Deletes the oldest key of a Map or Set kept in insertion (or recency, by delete-and-set) order.
 *
 * `map.keys().next()` does that in O(1) only on paper: V8 leaves a deleted entry as a hole in
 * the Map's table until the next rehash, and a new iterator steps over every hole before the
 * first live entry, which is exactly where evictions leave them. A map capped at 10 000 keys
 * under a stream of new keys paid ~5 µs per eviction for that. A live iterator, kept per map,
 * stays at the first live entry instead: each hole is stepped over once.
 */
const cursors = new WeakMap<object, Iterator<unknown>>();

/** A Map or a Set. */
interface Ordered<K> {
  keys(): Iterator<K>;
  delete(key: K): boolean;
}

export function forgetOldest<K>(map: Ordered<K>): void {
  let cursor = cursors.get(map) as Iterator<K> | undefined;
  // Every key before the cursor was deleted by this function, and a key set again moves to the
  // end, so the cursor's next key is the oldest alive. Once done, an iterator stays done.
  let next = cursor?.next();
  if (next === undefined || next.done === true) {
    cursor = map.keys();
    cursors.set(map, cursor);
    next = cursor.next();
  }
  if (next.done !== true) map.delete(next.value);
}
