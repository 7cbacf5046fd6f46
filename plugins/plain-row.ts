/**
 * A constructor of rows with a hidden class of their own that are still plain objects: their
 * prototype is Object.prototype (so `constructor` is Object, as for a literal) and their members
 * are in the order `init` sets them, so their JSON, snapshots and digests are the literal's.
 *
 * Why not a literal: V8 keeps a field's representation per hidden class, and object literals of
 * n members, JSON.parse's objects of n members and (at four members) objects built from `{}`
 * share their hidden classes by member order. A bucketed plugin's row `{ timestamp, topic,
 * volume }` stamps a whole second, a small integer; but the envelope fields the main thread
 * parses from the bus thread's heads (`{ timestamp, msg_id, topic }` when a publisher sent
 * `timestamp` first) and releng's rows carry a message's own time, a fraction, and once one was
 * made every row of that many members with `timestamp` first got a boxed double: a 16-byte
 * HeapNumber more per row made, for the scavenges to copy and the markers to visit.
 *
 * `init` must be a `function` expression (an arrow function cannot be called with `new`).
 */
export function plainRow<A extends unknown[], R extends object>(
  init: (this: R, ...args: A) => void,
): new (
  ...args: A
) => R {
  init.prototype = Object.prototype;
  return init as unknown as new (
    ...args: A
  ) => R;
}
