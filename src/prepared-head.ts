/**
 * How a message's head (id, meta, the envelope without `msg`) crosses from the bus thread (and
 * the replay thread) to the main thread, and how the main thread joins it again with the body
 * it left in the journal record (withBodyFrom). JSON when it round-trips exactly, msgpack otherwise; the first byte tells
 * which (a JSON object starts with `{`, a msgpack map never does).
 *
 * Why JSON: V8's JSON.stringify and JSON.parse beat msgpackr for these small string-heavy
 * objects, the more so with msgpackr's native string extraction off (msgpack-strings.ts).
 * Per fixture head on this machine: encode 5.9 → 2.8 µs (bus thread), decode 4.2 → 2.5 µs (main).
 */
import { decode, encode } from '../snapshots/codec.js';
import { decodeFreshRecord } from '../snapshots/journal-record.js';
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

const RECORD = Symbol('journal record');
const BODY = Symbol('decoded msg');
type WithRecord = { readonly [RECORD]: Uint8Array; [BODY]?: unknown };

/** One getter shared by every envelope (a closure each would cost ~1 µs more per message). */
function readBody(this: WithRecord): unknown {
  if (!(BODY in this)) Object.defineProperty(this, BODY, { value: decodeFreshRecord(this[RECORD]).envelope.msg });
  return this[BODY];
}
const BODY_PROPERTY: PropertyDescriptor = { enumerable: true, configurable: true, get: readBody };

/**
 * The envelope with `msg` read from its journal record on first use: the fields every message
 * needs came decoded in the head, and most plugins never read the body (80% of a fedmsg
 * record's bytes). `msg` is an own enumerable getter, so a spread or JSON.stringify still has
 * it; the record sits beside it, not enumerable, so a spread does not carry it along.
 */
export function withBodyFrom(fields: Omit<Envelope, 'msg'>, record: Uint8Array): Envelope {
  Object.defineProperty(fields, RECORD, { value: record });
  return Object.defineProperty(fields, 'msg', BODY_PROPERTY) as Envelope;
}

/**
 * One message of a batch buffer (transfer-buffer.ts): its record in [start, end), its head in
 * [end, headEnd); the envelope reads its body from the record on use. Throws on a head of
 * neither form.
 */
export function unpackPrepared(
  buffer: ArrayBuffer,
  start: number,
  end: number,
  headEnd: number,
): { readonly id: string; readonly meta: Meta; readonly envelope: Envelope; readonly record: Uint8Array } {
  const record = new Uint8Array(buffer, start, end - start);
  const { id, meta, fields } = decodeHead(new Uint8Array(buffer, end, headEnd - end));
  return { id, meta, envelope: withBodyFrom(fields, record), record };
}
