/**
 * JSON with every object's keys sorted: the text message ids are hashed from (journal-record.ts),
 * so it must never change for a given value. safe-stable-stringify writes it; this module
 * only skips its key sorting when there is nothing to sort.
 *
 * Why: fedmsg puts envelopes on the wire as compact JSON with sorted keys (spec/fedmsg.md), so
 * JSON.parse hands the bus thread objects whose keys already enumerate in sorted order. For
 * those, JSON.stringify writes the very same text (same string escaping, same numbers, the
 * same members skipped), at about 60 % of the cost on the fixture messages. One walk proves
 * the order first; anything it is not sure of takes the library's path.
 */
import stringify from 'safe-stable-stringify';

/** Deeper values take the library's path (the bus bounds nesting at 64 by default, README "The bus"). */
const MAX_WALK_DEPTH = 128;

/**
 * True when JSON.stringify(value) equals safe-stable-stringify's output: plain objects whose
 * own keys enumerate in sorted (UTF-16 code unit) order at every level, arrays, and primitives
 * both write alike. Integer-like keys enumerate first in numeric order ("2" before "10"),
 * which a string comparison catches as unsorted. Not a BigInt (JSON.stringify throws where
 * the library writes digits), no function (JSON.stringify calls its toJSON where the library skips
 * it), nothing else with a toJSON method or another prototype (a Date, a
 * Buffer, a typed array, which the library writes differently), no cycles (the depth bound).
 */
export function keysInOrder(value: unknown, depth = 0): boolean {
  if (typeof value !== 'object' || value === null) return typeof value !== 'bigint' && typeof value !== 'function';
  if (depth >= MAX_WALK_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!keysInOrder(value[i], depth + 1)) return false;
    return true;
  }
  const proto: unknown = Object.getPrototypeOf(value);
  if ((proto !== Object.prototype && proto !== null) || typeof (value as { toJSON?: unknown }).toJSON === 'function')
    return false;
  let previous: string | null = null;
  for (const key in value) {
    if (!Object.hasOwn(value, key)) return false;
    if (previous !== null && !(previous < key)) return false;
    previous = key;
    if (!keysInOrder((value as Record<string, unknown>)[key], depth + 1)) return false;
  }
  return true;
}

/** safe-stable-stringify's text for `value` (undefined for undefined, as it gives). */
export function stableJson(value: unknown): string | undefined {
  return keysInOrder(value) ? JSON.stringify(value) : stringify(value);
}
