/**
 * How a message's head (id, meta, the envelope without `msg`) crosses from the bus thread to
 * the main thread. JSON when it round-trips exactly, msgpack otherwise; the first byte tells
 * which (a JSON object starts with `{`, a msgpack map never does).
 *
 * Why JSON: V8's JSON.stringify and JSON.parse beat msgpackr for these small string-heavy
 * objects, the more so with msgpackr's native string extraction off (msgpack-strings.ts).
 * Per fixture head on this machine: encode 5.9 → 2.8 µs (bus thread), decode 4.2 → 2.5 µs (main).
 */
import { decode, encode } from '../snapshots/codec.js';
import type { Envelope, Meta } from './envelope.js';

export interface PreparedHead {
  readonly id: string;
  readonly meta: Meta;
  /** Every field of the envelope but `msg`. */
  readonly fields: Omit<Envelope, 'msg'>;
}

const OPEN_BRACE = 0x7b;
/** Bounds the walk below; deeper fields (none in real envelopes) just take the msgpack path. */
const MAX_WALK_DEPTH = 16;
const utf8 = new TextDecoder();

/**
 * True when JSON.stringify then JSON.parse gives back an equal value. Values here came from
 * JSON.parse, so the only loss possible is a number: an overflowing literal (1e999) parses to
 * Infinity, which stringifies to null. (-0 becomes 0 either way: msgpackr writes it as 0 too.)
 */
function jsonExact(value: unknown, depth: number): boolean {
  if (typeof value === 'number') return Number.isFinite(value);
  if (typeof value === 'string' || typeof value === 'boolean' || value === null) return true;
  if (typeof value !== 'object') return false;
  if (depth >= MAX_WALK_DEPTH) return false;
  if (Array.isArray(value)) {
    for (let i = 0; i < value.length; i++) if (!jsonExact(value[i], depth + 1)) return false;
    return true;
  }
  for (const k in value) {
    if (Object.hasOwn(value, k) && !jsonExact((value as Record<string, unknown>)[k], depth + 1)) return false;
  }
  return true;
}

export function encodeHead(head: PreparedHead): Uint8Array {
  // Meta is strings, string arrays and nulls: only the envelope's own fields need the check.
  return jsonExact(head.fields, 0) ? Buffer.from(JSON.stringify(head)) : encode(head);
}

/** Throws on bytes that are neither. */
export function decodeHead(bytes: Uint8Array): PreparedHead {
  return (bytes[0] === OPEN_BRACE ? JSON.parse(utf8.decode(bytes)) : decode(bytes)) as PreparedHead;
}
