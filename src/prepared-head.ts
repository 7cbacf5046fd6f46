/**
 * How a message's head (id, meta, the envelope without `msg`) crosses from the bus thread (and
 * the replay thread) to the main thread, to be joined again with the body it left in the
 * journal record (withBodyFrom: lazy-envelope.ts). JSON when it round-trips exactly, msgpack
 * otherwise; the first byte tells which (the JSON is an array, `[`, where the msgpack is a map,
 * which never starts so).
 *
 * Why JSON: V8's JSON.stringify and JSON.parse beat msgpackr for these small string-heavy
 * objects, the more so with msgpackr's native string extraction off (msgpack-strings.ts).
 * Per fixture head on this machine: encode 5.9 → 2.8 µs (bus thread), decode 4.2 → 2.5 µs (main).
 */
import { decode, encode } from '../snapshots/codec.js';
import { flat } from '../snapshots/journal-read.js';
import type { Envelope, Meta } from './envelope.js';
import { LAZY_FIELDS, withBodyFrom } from './lazy-envelope.js';

export { withBodyFrom } from './lazy-envelope.js';

export interface PreparedHead {
  readonly id: string;
  readonly meta: Meta;
  /** Every field of the envelope but `msg`; those `lazy` names hold a placeholder. */
  readonly fields: Omit<Envelope, 'msg'>;
  /** Bit i set: fields[LAZY_FIELDS[i]] is read from the journal record, as `msg` is (absent: none). */
  readonly lazy?: number;
}

/** The head of (id, envelope): the envelope without `msg`, its LAZY_FIELDS left to the record. */
export function headOf(id: string, meta: Meta, envelope: Envelope): PreparedHead {
  const { msg: _, ...fields } = envelope;
  const own = fields as Record<string, unknown>;
  let lazy = 0;
  for (let i = 0; i < LAZY_FIELDS.length; i++) {
    const name = LAZY_FIELDS[i] as string;
    if (typeof own[name] !== 'string') continue;
    own[name] = 0;
    lazy |= 1 << i;
  }
  return lazy === 0 ? { id, meta, fields } : { id, meta, fields, lazy };
}

const OPEN_BRACKET = 0x5b;
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
  const text = headText(head);
  return text === null ? encode(head) : Buffer.from(text);
}

/**
 * The head as JSON text, to be written as UTF-8 where it is sent (transfer-buffer.ts), or null
 * when JSON would not give it back exactly (encodeHead's bytes are then msgpack). Whitespace may
 * follow the text: JSON.parse reads past it.
 */
export function headText(head: PreparedHead): string | null {
  // Meta is strings, string arrays and nulls: only the envelope's own fields need the check.
  if (!jsonExact(head.fields, 0)) return null;
  const { id, meta, fields, lazy } = head;
  const row: HeadRow = [id, meta.category, meta.usernames, meta.packages, meta.agent, meta.link, meta.subtitle, fields];
  if (lazy !== undefined) row.push(lazy);
  return JSON.stringify(row);
}

/**
 * The JSON head: a row, not the PreparedHead object, so that JSON.parse on the main thread makes
 * no keys for the head and its meta (each key it reads is looked up in V8's string table); the
 * meta is made from the row with one literal, one shape for every message. Parsing the head was
 * most of the main thread's cost of a message handed over.
 */
type HeadRow = [...HeadMeta, fields: Omit<Envelope, 'msg'>, lazy?: number];

/** The head's first seven: the id and the meta's members, the same in the row and in UnpackedHead. */
type HeadMeta = [
  id: string,
  category: string,
  usernames: readonly string[],
  packages: readonly string[],
  agent: string | null,
  link: string | null,
  subtitle: string | null,
];

function metaOf(row: HeadRow | UnpackedHead): Meta {
  return { category: row[1], usernames: row[2], packages: row[3], agent: row[4], link: row[5], subtitle: row[6] };
}

/** Throws on bytes that are neither. */
export function decodeHead(bytes: Uint8Array): PreparedHead {
  if (bytes[0] !== OPEN_BRACKET) return decode(bytes) as PreparedHead;
  const row = JSON.parse(utf8.decode(bytes)) as HeadRow;
  const lazy = row[8];
  return lazy === undefined
    ? { id: row[0], meta: metaOf(row), fields: row[7] }
    : { id: row[0], meta: metaOf(row), fields: row[7], lazy };
}

/**
 * One message of a batch buffer (transfer-buffer.ts): its record in [start, end), its head in
 * [end, headEnd); the envelope reads its body from the record on use. Throws on a range outside
 * the buffer and on a head of neither form.
 */
export function unpackPrepared(
  buffer: ArrayBuffer,
  start: number,
  end: number,
  headEnd: number,
): { readonly id: string; readonly meta: Meta; readonly envelope: Envelope; readonly record: Uint8Array } {
  // Each view bounds its range within the buffer.
  const record = new Uint8Array(buffer, start, end - start);
  const head = unpackHead(buffer, record, end, headEnd);
  return { id: head[0], meta: headMeta(head), envelope: head[7], record };
}

/**
 * The head as its row, `fields` (at 7) made the envelope that reads the rest from the record:
 * the array JSON.parse made, so a caller building its own message (bus-thread-batch.ts) takes
 * the parts without an object between. Its meta: headMeta.
 */
export type UnpackedHead = readonly [...HeadMeta, envelope: Envelope];

export const headMeta: (head: UnpackedHead) => Meta = metaOf;

/** unpackPrepared's head: `record` the view of the message's record, its head in [end, headEnd). */
export function unpackHead(buffer: ArrayBuffer, record: Uint8Array, end: number, headEnd: number): UnpackedHead {
  const bytes = new Uint8Array(buffer, end, headEnd - end);
  if (bytes[0] !== OPEN_BRACKET) {
    const { id, meta, fields, lazy } = decode(bytes) as PreparedHead;
    const envelope = withBodyFrom(fields, record, lazy);
    // msgpackr's strings may be slices of one string per head: the journal keeps the id (flat).
    return [flat(id), meta.category, meta.usernames, meta.packages, meta.agent, meta.link, meta.subtitle, envelope];
  }
  // (TextDecoder here measured ~400 instructions a head less than utf8Slice of one Buffer over the batch.)
  const row = JSON.parse(utf8.decode(bytes)) as HeadRow;
  (row as unknown as Envelope[])[7] = withBodyFrom(row[7], record, row[8]);
  return row as unknown as UnpackedHead;
}
