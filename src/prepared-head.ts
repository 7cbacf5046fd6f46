/**
 * How a message's head (id, meta, the envelope without `msg`) crosses from the bus thread (and
 * the replay thread) to the main thread, and how the main thread joins it again with the body
 * it left in the journal record (withBodyFrom). JSON when it round-trips exactly, msgpack otherwise; the first byte tells
 * which (the JSON is an array, `[`, where the msgpack is a map, which never starts so).
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
  /** Every field of the envelope but `msg`; those `lazy` names hold a placeholder. */
  readonly fields: Omit<Envelope, 'msg'>;
  /** Bit i set: fields[LAZY_FIELDS[i]] is read from the journal record, as `msg` is (absent: none). */
  readonly lazy?: number;
}

/**
 * String fields left in the journal record, not copied into the head: a signed fedmsg message
 * carries ~2.4 KB of them (of ~3.3 KB), which the main thread would otherwise parse for every
 * message though nothing on it reads them. A placeholder keeps each one's place among the keys.
 */
const LAZY_FIELDS = ['certificate', 'signature'] as const;

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
type HeadRow = [
  id: string,
  category: string,
  usernames: readonly string[],
  packages: readonly string[],
  agent: string | null,
  link: string | null,
  subtitle: string | null,
  fields: Omit<Envelope, 'msg'>,
  lazy?: number,
];

function metaOf(row: HeadRow): Meta {
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

const RECORD = Symbol('journal record');
const DECODED = Symbol('decoded record');
type WithRecord = { readonly [RECORD]: Uint8Array; [DECODED]?: Envelope };

/** The record's envelope, decoded on the first read of a field left in it. */
function fromRecord(envelope: WithRecord): Envelope {
  const decoded = envelope[DECODED];
  if (decoded !== undefined) return decoded;
  const value = decodeFreshRecord(envelope[RECORD]).envelope;
  Object.defineProperty(envelope, DECODED, { value });
  return value;
}

/** One getter per field, shared by every envelope (a closure each would cost ~1 µs more per message). */
function readBody(this: WithRecord): unknown {
  return fromRecord(this).msg;
}
const getter = (get: (this: WithRecord) => unknown): PropertyDescriptor => ({
  enumerable: true,
  configurable: true,
  get,
});
const BODY_PROPERTY = getter(readBody);
const LAZY_PROPERTIES: readonly PropertyDescriptor[] = LAZY_FIELDS.map((name) =>
  getter(function (this: WithRecord) {
    return fromRecord(this)[name];
  }),
);

/**
 * The envelope with `msg` (and the `lazy` fields: headOf) read from its journal record on first
 * use: the fields every message needs came decoded in the head, and most plugins never read the
 * body (80% of a fedmsg record's bytes). `msg` is an own enumerable getter, so a spread or
 * JSON.stringify still has it; the record sits beside it, not enumerable, so a spread does not
 * carry it along.
 */
export function withBodyFrom(fields: Omit<Envelope, 'msg'>, record: Uint8Array, lazy = 0): Envelope {
  Object.defineProperty(fields, RECORD, { value: record });
  // Redefined in place: each keeps its position among the keys, as a spread or JSON shows them.
  for (let i = 0; lazy !== 0; i++, lazy >>>= 1)
    if ((lazy & 1) !== 0)
      Object.defineProperty(fields, LAZY_FIELDS[i] as string, LAZY_PROPERTIES[i] as PropertyDescriptor);
  return Object.defineProperty(fields, 'msg', BODY_PROPERTY) as Envelope;
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
  const bytes = new Uint8Array(buffer, end, headEnd - end);
  if (bytes[0] !== OPEN_BRACKET) {
    const { id, meta, fields, lazy } = decode(bytes) as PreparedHead;
    return { id, meta, envelope: withBodyFrom(fields, record, lazy), record };
  }
  // Without decodeHead's PreparedHead between: the row's parts go straight where they are used.
  // (TextDecoder here measured ~400 instructions a head less than utf8Slice of one Buffer over the batch.)
  const row = JSON.parse(utf8.decode(bytes)) as HeadRow;
  return { id: row[0], meta: metaOf(row), envelope: withBodyFrom(row[7], record, row[8]), record };
}
