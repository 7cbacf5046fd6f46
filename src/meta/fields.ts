/**
 * Safe accessors for untrusted message payloads. Every fedmsg field is treated as
 * `unknown`: a getter returns `undefined` instead of throwing when a hop is missing
 * or has the wrong type, so rule sets can be written as plain lookups.
 */

export type Key = string | number;
export type Obj = Record<string, unknown>;

export function isObj(value: unknown): value is Obj {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Walks `path` from `root`; numeric keys index arrays, string keys index objects. */
export function get(root: unknown, ...path: Key[]): unknown {
  let cur: unknown = root;
  for (const key of path) {
    if (typeof key === 'number') {
      if (!Array.isArray(cur)) return undefined;
      cur = cur[key < 0 ? cur.length + key : key];
    } else {
      if (!isObj(cur) || !Object.hasOwn(cur, key)) return undefined;
      cur = cur[key];
    }
  }
  return cur;
}

/** A non-blank string at `path`, trimmed; anything else is `undefined`. */
export function str(root: unknown, ...path: Key[]): string | undefined {
  const v = get(root, ...path);
  if (typeof v !== 'string') return undefined;
  const t = v.trim();
  return t === '' ? undefined : t;
}

/** Ids arrive as numbers or strings depending on the publisher's version. */
export function id(root: unknown, ...path: Key[]): string | undefined {
  const v = get(root, ...path);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return str(root, ...path);
}

export function obj(root: unknown, ...path: Key[]): Obj | undefined {
  const v = get(root, ...path);
  return isObj(v) ? v : undefined;
}

export function arr(root: unknown, ...path: Key[]): readonly unknown[] {
  const v = get(root, ...path);
  return Array.isArray(v) ? v : [];
}

/** Strings of an array field, skipping non-string entries. */
export function strs(root: unknown, ...path: Key[]): string[] {
  const out: string[] = [];
  for (const item of arr(root, ...path)) {
    if (typeof item === 'string' && item.trim() !== '') out.push(item.trim());
  }
  return out;
}

export function bool(root: unknown, ...path: Key[]): boolean | undefined {
  const v = get(root, ...path);
  return typeof v === 'boolean' ? v : undefined;
}

/**
 * A person field that publishers send either as a bare name or as an object
 * (`{name}` in bodhi/pagure, `{username}` in fas/tagger). Returns the account name.
 */
export function person(root: unknown, ...path: Key[]): string | undefined {
  const v = get(root, ...path);
  if (typeof v === 'string') return str(v);
  if (isObj(v)) return str(v, 'username') ?? str(v, 'name') ?? str(v, 'nickname');
  // Some old publishers (pkgdb branch topics) wrapped the single actor in a list.
  if (Array.isArray(v) && v.length === 1) return person(v, 0);
  return undefined;
}

/** Keys of an object field (meetbot attendee maps, tagger package maps). */
export function keys(root: unknown, ...path: Key[]): string[] {
  const v = get(root, ...path);
  return isObj(v) ? Object.keys(v) : [];
}
