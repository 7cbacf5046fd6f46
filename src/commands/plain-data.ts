/**
 * Whether a value decoded from an export holds only what JSON and a plugin's state hold. The
 * export's checksum is in the file itself, so a hand-made one passes it, and msgpack decodes
 * more than plain data: an int64 or uint64 as a BigInt, a timestamp extension as a Date, bin as
 * a Buffer, msgpackr's own extensions as an Error, RegExp, Set or typed array. Imported, a
 * BigInt made every answer of its plugin `500 internal` (JSON.stringify throws on one) on every
 * start, and the others came back as something else after the next snapshot.
 */
import { kindOf, STORABLE_KINDS } from '../../actors/storable-value.js';

/**
 * Where `value` holds something other than plain data, as "<path> is a <what>", or null. Walked
 * without recursion (an export's value may be deep; its depth is bounded apart, value-depth.ts).
 * `undefined` passes: a plugin may keep it (actors/storable-value.ts) and msgpack stores it.
 */
export function notPlainData(value: unknown): string | null {
  const stack: { v: unknown; path: string }[] = [{ v: value, path: '' }];
  for (let next = stack.pop(); next !== undefined; next = stack.pop()) {
    const { v, path } = next;
    switch (typeof v) {
      case 'string':
      case 'number':
      case 'boolean':
      case 'undefined':
        continue;
      case 'object': {
        if (v === null) continue;
        if (Array.isArray(v)) {
          for (let i = v.length - 1; i >= 0; i--) stack.push({ v: v[i], path: `${path}[${i}]` });
          continue;
        }
        const proto: unknown = Object.getPrototypeOf(v);
        if (proto !== Object.prototype && proto !== null) return refusal(path, kindOf(v));
        const entries = Object.entries(v);
        for (let i = entries.length - 1; i >= 0; i--) {
          const [k, member] = entries[i] as [string, unknown];
          stack.push({ v: member, path: `${path}.${k}` });
        }
        continue;
      }
      default:
        return refusal(path, kindOf(v));
    }
  }
  return null;
}

function refusal(path: string, what: string): string {
  const where = path === '' ? 'it' : `its member ${path.slice(0, 120)}`;
  return `${where} is a ${what}, not ${STORABLE_KINDS}`;
}
