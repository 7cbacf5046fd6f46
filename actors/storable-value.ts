/**
 * What a plugin may keep in a container: data that a snapshot stores (msgpack) and a view serves
 * (JSON) and that comes back the same after a restart. Checked on every write, so a plugin that
 * keeps anything else fails on that message (rolled back, counted, reported) instead of at the
 * next snapshot: there msgpackr throws on a symbol, a bigint over 64 bits or a cycle, every
 * later snapshot failed with it, and the journal could no longer be trimmed; and what it does
 * encode can come back different (a Map as a plain object, a Set as an array, a class instance
 * without its methods, a function as nothing), so a plugin worked until its first restart.
 *
 * A value that passes is frozen, deep: containers promise values are replaced, never changed in
 * place (rollback, snapshot cuts and the digest keep the old references), and a plugin changing
 * one afterwards could also put back what the check refused. Now that throws in the plugin, on
 * the message that does it.
 */

/** Deepest nesting of arrays and objects in one value (a cycle is caught by this bound too). */
export const MAX_VALUE_DEPTH = 32;

export class UnstorableValueError extends Error {}

/** What a value may hold, as refusals say it. */
export const STORABLE_KINDS = 'plain objects, arrays, strings, numbers, booleans or null';

/**
 * Why `value` cannot be kept as plugin state, or null when it can; then every object and array
 * in it is frozen. (Refused, parts of it already checked may be frozen.)
 */
export function unstorable(value: unknown): string | null {
  return problemOf(value, 0, '', null);
}

/**
 * Freezes a value read back from a snapshot, deep, without checking it (it was checked when
 * written, and msgpack gives back only plain data): a restored row is as unchangeable as the one
 * written, or changing it in place went unnoticed until that row was written again.
 */
export function freezeStored(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  // Restore freezes every entry of a snapshot: a stack and an Object.values() array per value
  // cost twice the freezing itself for a flat row (numbers and strings), which needs neither.
  // for-in finds only own keys here, as in nested() below.
  let stack: object[] | null = null;
  for (let next: object | undefined = value; next !== undefined; next = stack?.pop()) {
    if (Array.isArray(next)) {
      for (let i = 0; i < next.length; i++) {
        const v: unknown = next[i];
        if (typeof v === 'object' && v !== null) (stack ??= []).push(v);
      }
    } else {
      for (const k in next) {
        const v = (next as Record<string, unknown>)[k];
        if (typeof v === 'object' && v !== null) (stack ??= []).push(v);
      }
    }
    Object.freeze(next);
  }
}

function nested(o: object, depth: number, path: string): string | null {
  if (depth > MAX_VALUE_DEPTH) return `${at(path)}nests deeper than ${MAX_VALUE_DEPTH} levels (or refers to itself)`;
  if (Array.isArray(o)) {
    for (let i = 0; i < o.length; i++) {
      const why = problemOf(o[i], depth, path, i);
      if (why !== null) return why;
    }
    Object.freeze(o);
    return null;
  }
  const proto: unknown = Object.getPrototypeOf(o);
  if (proto !== Object.prototype && proto !== null) return describe(o, path);
  const record = o as Record<string, unknown>;
  // No hasOwn per key (a third of the check's cost): the prototype is Object.prototype or none,
  // so a key for-in finds is the object's own unless Object.prototype was given enumerable ones.
  for (const k in record) {
    const why = problemOf(record[k], depth, path, k);
    if (why !== null) return why;
  }
  Object.freeze(o);
  return null;
}

/**
 * The value itself (`name` null) or an element or member of the one at `path`: its path is built
 * only when it is needed (an object to walk into, or a refusal), not for every member. `undefined`
 * is allowed anywhere: JSON drops or nulls it, a snapshot stores no value for it, and so does
 * the digest.
 */
function problemOf(v: unknown, depth: number, path: string, name: string | number | null): string | null {
  switch (typeof v) {
    case 'string':
    case 'number':
    case 'boolean':
    case 'undefined':
      return null;
    case 'object':
      return v === null ? null : nested(v, depth + 1, name === null ? path : pathTo(path, name));
    default:
      return describe(v, name === null ? path : pathTo(path, name));
  }
}

function pathTo(path: string, name: string | number): string {
  return typeof name === 'number' ? `${path}[${name}]` : `${path}.${name}`;
}

function at(path: string): string {
  return path === '' ? 'the value ' : `${path.slice(0, 200)} `;
}

function describe(v: unknown, path: string): string {
  return `${at(path)}is a ${kindOf(v)}; keep only ${STORABLE_KINDS}`;
}

/** What a value that is not storable is, as a refusal names it: its class (`Date`, `Map`) or its type (`bigint`). */
export function kindOf(v: unknown): string {
  if (typeof v !== 'object' || v === null) return typeof v;
  const name: unknown = (v as { constructor?: { name?: unknown } }).constructor?.name;
  return typeof name === 'string' && name !== '' ? name : 'non-plain object';
}
