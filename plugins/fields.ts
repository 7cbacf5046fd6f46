/**
 * Guarded reads of untrusted message bodies. Plugins receive whatever a publisher sent, so
 * every access goes through these instead of casts: a missing or mistyped field reads as
 * undefined and the plugin skips the message rather than throwing.
 */
export type Obj = Readonly<Record<string, unknown>>;

export function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** The value at a dotted path of plain objects, or undefined. */
export function at(v: unknown, ...path: readonly string[]): unknown {
  let cur = v;
  for (const p of path) {
    if (!isObj(cur) || !Object.hasOwn(cur, p)) return undefined;
    cur = cur[p];
  }
  return cur;
}

/** A non-empty string at the path, or undefined. */
export function strAt(v: unknown, ...path: readonly string[]): string | undefined {
  const s = at(v, ...path);
  return typeof s === 'string' && s !== '' ? s : undefined;
}

/** Unit separator: never appears in topics, account or package names, so joined keys cannot collide. */
export const SEP = '\u001f';

/** `[a, b].join(SEP)`, without the array: plugins build a key on every message. */
export const joinKey = (a: string | number, b: string | number): string => `${a}${SEP}${b}`;

/** Code-unit order, independent of locale (views must order identically everywhere). */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
