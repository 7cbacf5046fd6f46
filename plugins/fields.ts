/**
 * Guarded reads of untrusted message bodies. Plugins receive whatever a publisher sent, so
 * every access goes through these instead of casts: a missing or mistyped field reads as
 * undefined and the plugin skips the message rather than throwing.
 */
import { keyPart, SEP } from '../actors/row-key.js';

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

export { SEP };

/**
 * The row key of two key columns, as the runtime derives it from a row (rowKeyOf): joined by
 * U+001F, each part with `\` and U+001F escaped. A topic, user or package holding either (a
 * publisher's choice) made a hand-joined key disagree with the runtime's, the write threw, and
 * 50 such messages quarantined the plugin. Plain values (all real ones) are joined uncopied.
 */
export const joinKey = (a: string | number, b: string | number): string => `${keyPart(a)}${SEP}${keyPart(b)}`;

/** The row key of one key column (a topic, a category): the value, escaped as joinKey does. */
export const oneKey = (a: string | number): string => keyPart(a);

/** Code-unit order, independent of locale (views must order identically everywhere). */
export const compareText = (a: string, b: string): number => (a < b ? -1 : a > b ? 1 : 0);
