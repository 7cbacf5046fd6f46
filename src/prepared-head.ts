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
import { flat } from '../snapshots/journal-read.js';
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
 * Stamps an envelope with its journal record in a private field (a base class whose constructor
 * returns the object it is given: the field lands on that object). A private field is set with
 * an IC store, where Object.defineProperty of a symbol took the runtime's descriptor path, and
 * it is invisible to a spread, Object.keys, Reflect.ownKeys and JSON.stringify; it stays
 * writable on a frozen envelope, so the decoded envelope is kept whenever it is first read.
 */
class Stamp {
  constructor(target: object) {
    // biome-ignore lint/correctness/noConstructorReturn: the return override stamps `target` itself.
    return target;
  }
}
class Recorded extends Stamp {
  /** The record, until its envelope is first read; then that envelope (one field: one store per message). */
  #source: Uint8Array | Envelope;

  private constructor(target: object, record: Uint8Array) {
    super(target);
    this.#source = record;
  }

  static stamp(target: object, record: Uint8Array): void {
    new Recorded(target, record);
  }

  /** The record's envelope, decoded on the first read of a field left in it. */
  static envelopeOf(target: object): Envelope {
    const self = target as Recorded;
    const source = self.#source;
    if (!ArrayBuffer.isView(source)) return source;
    const value = decodeFreshRecord(source).envelope;
    self.#source = value;
    return value;
  }
}

/** One getter per field, shared by every envelope (a closure each would cost ~1 µs more per message). */
function readBody(this: object): unknown {
  return Recorded.envelopeOf(this).msg;
}
const LAZY_GETTERS: readonly ((this: object) => unknown)[] = LAZY_FIELDS.map(
  (name) =>
    function (this: object) {
      return Recorded.envelopeOf(this)[name];
    },
);

/**
 * Object.prototype.__defineGetter__ (enumerable and configurable, as a spread or JSON needs),
 * taken once: an envelope may carry a member of that name, which a lookup on it would find.
 */
const defineGetter = (Object.prototype as unknown as { __defineGetter__: DefineGetter }).__defineGetter__;
type DefineGetter = (this: object, name: string, get: (this: object) => unknown) => void;

/**
 * The envelope with `msg` (and the `lazy` fields: headOf) read from its journal record on first
 * use: the fields every message needs came decoded in the head, and most plugins never read the
 * body (80% of a fedmsg record's bytes). `msg` is an own enumerable getter, so a spread or
 * JSON.stringify still has it; the record sits beside it in a private field, so a spread does not
 * carry it along. __defineGetter__ makes the getter without reading a descriptor object (fewer
 * instructions than Object.defineProperty with the same shared getter).
 */
export function withBodyFrom(fields: Omit<Envelope, 'msg'>, record: Uint8Array, lazy = 0): Envelope {
  const target = (lazy === 0 ? null : withLazyGetters(fields, lazy)) ?? fields;
  // Redefined in place (a fields object with a __proto__ key only): each keeps its position among the keys.
  if (target === fields)
    for (let i = 0; lazy !== 0; i++, lazy >>>= 1)
      if ((lazy & 1) !== 0) defineGetter.call(target, LAZY_FIELDS[i] as string, LAZY_GETTERS[i] as () => unknown);
  Recorded.stamp(target, record);
  defineGetter.call(target, 'msg', readBody);
  return target as Envelope;
}

/**
 * `fields` made again key by key, each `lazy` one a getter where it stands. A data property
 * redefined as a getter anywhere but last turns V8's object into a dictionary: a signed
 * message's envelope did, at ~9 k instructions more to unpack and slower reads after. Null for
 * fields with a __proto__ key (an assignment would set the prototype instead).
 */
function withLazyGetters(fields: Omit<Envelope, 'msg'>, lazy: number): Omit<Envelope, 'msg'> | null {
  const out: Record<string, unknown> = {};
  const own = fields as Record<string, unknown>;
  for (const key in own) {
    if (key === '__proto__') return null;
    const i = (LAZY_FIELDS as readonly string[]).indexOf(key);
    if (i >= 0 && (lazy & (1 << i)) !== 0) defineGetter.call(out, key, LAZY_GETTERS[i] as () => unknown);
    else out[key] = own[key];
  }
  return out as Omit<Envelope, 'msg'>;
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
