/**
 * The envelope a thread hands the main thread, which reads `msg` and the LAZY_FIELDS from its
 * journal record on first use (withBodyFrom). Its own file: how the main thread joins a head
 * to its record (getters, a private stamp, V8's object shapes), apart from how the head is
 * encoded and decoded (prepared-head.ts).
 */
import { decodeFreshRecord } from '../snapshots/journal-record.js';
import type { Envelope } from './envelope.js';

/**
 * String fields left in the journal record, not copied into the head: a signed fedmsg message
 * carries ~2.4 KB of them (of ~3.3 KB), which the main thread would otherwise parse for every
 * message though nothing on it reads them. A placeholder keeps each one's place among the keys.
 */
export const LAZY_FIELDS = ['certificate', 'signature'] as const;

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
