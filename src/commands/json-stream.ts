import { constants } from 'node:buffer';

/**
 * JSON.stringify(value, null, 2)'s exact text, written in pieces. One string of a whole
 * generation's JSON fails past V8's longest string (~512 MiB of UTF-16 units on 64-bit) with an
 * uncoded RangeError "Invalid string length": `snapshot inspect` built one, so a generation of
 * many keys could not be inspected at all, and the error named neither it nor a way out.
 */

/** The longest string V8 makes here: one piece of JSON past it cannot be made at all. */
export const MAX_STRING_CHARS = constants.MAX_STRING_LENGTH;

export interface JsonStreamLimits {
  /** The longest piece of JSON made at once (a value below `depth`); default MAX_STRING_CHARS. */
  readonly maxChars?: number;
  /** Pieces are joined until this many characters before each `out` call (fewer calls, each bounded). */
  readonly flushChars?: number;
}

/** One value whose JSON alone is longer than JsonStreamLimits.maxChars. `path`: where it is, as JS accessors. */
export class JsonTooLargeError extends Error {
  constructor(
    readonly path: string,
    readonly maxChars: number,
  ) {
    super(`${path} is over ${maxChars} characters of JSON, more than one string can hold`);
  }
}

const FLUSH_CHARS = 1 << 20;

/** What JSON.stringify writes for a member: its toJSON's value, or undefined for what it leaves out. */
function jsonValue(value: unknown, key: string): unknown {
  const toJSON = (value as { toJSON?: unknown } | null | undefined)?.toJSON;
  const v = typeof toJSON === 'function' ? (toJSON as (k: string) => unknown).call(value, key) : value;
  return v === undefined || typeof v === 'function' || typeof v === 'symbol' ? undefined : v;
}

const accessor = (key: string): string => (/^[A-Za-z_$][\w$]*$/.test(key) ? `.${key}` : `[${JSON.stringify(key)}]`);

/**
 * Writes `value` as JSON.stringify(value, null, 2) would, to `out`: objects and arrays down to
 * `depth` levels member by member, what is deeper stringified whole, each piece at most
 * `maxChars` (else JsonTooLargeError, nothing more written), joined up to `flushChars` per call.
 */
export function writeJson(
  value: unknown,
  out: (text: string) => void,
  depth: number,
  limits: JsonStreamLimits = {},
): void {
  const maxChars = limits.maxChars ?? MAX_STRING_CHARS;
  const flushChars = limits.flushChars ?? FLUSH_CHARS;
  // Joined by concatenation (V8 makes a rope, flattened once when written).
  let held = '';
  const put = (text: string) => {
    held += text;
    if (held.length < flushChars) return;
    out(held);
    held = '';
  };
  const leaf = (v: unknown, indent: string, path: string) => {
    let text: string;
    try {
      text = JSON.stringify(v, null, 2);
      // Only an object's or array's text has line breaks (a string's are escaped).
      if (indent !== '' && typeof v === 'object' && v !== null) text = text.replaceAll('\n', `\n${indent}`);
    } catch (err) {
      if (err instanceof RangeError) throw new JsonTooLargeError(path, maxChars);
      throw err;
    }
    if (text.length > maxChars) throw new JsonTooLargeError(path, maxChars);
    put(text);
  };
  const write = (v: unknown, indent: string, level: number, path: string) => {
    if (level >= depth || v === null || typeof v !== 'object') return leaf(v, indent, path);
    const inner = `${indent}  `;
    if (Array.isArray(v)) {
      if (v.length === 0) return put('[]');
      v.forEach((item, i) => {
        put(`${i === 0 ? '[' : ','}\n${inner}`);
        const member = jsonValue(item, String(i));
        if (member === undefined) put('null');
        else write(member, inner, level + 1, `${path}[${i}]`);
      });
      return put(`\n${indent}]`);
    }
    let first = true;
    for (const key of Object.keys(v)) {
      const member = jsonValue((v as Record<string, unknown>)[key], key);
      if (member === undefined) continue;
      put(`${first ? '{' : ','}\n${inner}${JSON.stringify(key)}: `);
      first = false;
      write(member, inner, level + 1, `${path}${accessor(key)}`);
    }
    put(first ? '{}' : `\n${indent}}`);
  };
  const top = jsonValue(value, '');
  if (top !== undefined) write(top, '', 0, '');
  if (held !== '') out(held);
}
