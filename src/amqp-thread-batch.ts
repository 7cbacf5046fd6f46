/**
 * A turn's deliveries as the AMQP input thread hands them to the main thread, packed as the bus
 * thread packs its messages (bus-thread-protocol.ts): ITEM_FIELDS float64s per delivery in an
 * ArrayBuffer transferred with the batch, the routing keys once each in `keys`, and the rare
 * deliveries the thread could not prepare as objects in `others`, in order. An object per
 * delivery built with a spread had V8 make a fresh hidden class for nearly every one (a
 * DefineNamedOwnIC miss each, ~6% of the thread in perf) before the clone copied it across.
 * Float64: ids and byte counts stay exact past 2^31 in a long run.
 */
import type { Corrected } from './envelope-limits.js';
import type { ItemBase, ThreadItem } from './amqp-thread-protocol.js';
import type { DecodeErrorReason } from './decode-frames.js';
import { correctedOf, FILLED, PREPARED_BITS, preparedFlags, READY, TRUNCATED } from './prepared-flags.js';

/** flags, input, id, conn, key (index into `keys`), bytes, end, headEnd. */
export const ITEM_FIELDS = 8;
/** Past prepared-flags.ts's bits. */
const REDELIVERED = PREPARED_BITS + 1;

/** A delivery the thread did not prepare: refused there, or for the main thread to decode. */
export type OtherDelivery =
  | { readonly k: 'rejected'; readonly reason: DecodeErrorReason; readonly detail: string; readonly digest: string }
  | { readonly k: 'raw'; readonly content: Uint8Array; readonly messageId: unknown; readonly headers: unknown };

export interface PackedDeliveries {
  /** count × ITEM_FIELDS float64s. */
  readonly items: ArrayBuffer;
  readonly count: number;
  readonly keys: readonly string[];
  readonly others: readonly OtherDelivery[];
}

/** Gathers a turn's deliveries on the AMQP input thread. */
export class DeliveryBatch {
  private fields = new Float64Array(64 * ITEM_FIELDS);
  private keys: string[] = [];
  private keyAt = new Map<string, number>();
  private others: OtherDelivery[] = [];
  /** Deliveries gathered since the last take(). */
  count = 0;

  /** Prepared: its record is [previous headEnd, end) of the batch buffer, its head [end, headEnd). */
  ready(d: ItemBase, end: number, headEnd: number, truncated: boolean, corrected: Corrected, filled: boolean): void {
    this.push(preparedFlags(truncated, corrected, filled), d, end, headEnd);
  }

  other(d: ItemBase, item: OtherDelivery): void {
    this.others.push(item);
    this.push(0, d, 0, 0);
  }

  /** The deliveries packed to transfer; starts the next batch. */
  take(): PackedDeliveries {
    const items = this.fields.slice(0, this.count * ITEM_FIELDS).buffer;
    const packed = { items, count: this.count, keys: this.keys, others: this.others };
    this.keys = [];
    this.keyAt = new Map();
    this.others = [];
    this.count = 0;
    return packed;
  }

  private push(flags: number, d: ItemBase, end: number, headEnd: number): void {
    let key = this.keyAt.get(d.routingKey);
    if (key === undefined) {
      key = this.keys.push(d.routingKey) - 1;
      this.keyAt.set(d.routingKey, key);
    }
    const at = this.count * ITEM_FIELDS;
    if (at + ITEM_FIELDS > this.fields.length) {
      const grown = new Float64Array(this.fields.length * 2);
      grown.set(this.fields);
      this.fields = grown;
    }
    const f = this.fields;
    f[at] = flags | (d.redelivered ? REDELIVERED : 0);
    f[at + 1] = d.input;
    f[at + 2] = d.id;
    f[at + 3] = d.conn;
    f[at + 4] = key;
    f[at + 5] = d.bytes;
    f[at + 6] = end;
    f[at + 7] = headEnd;
    this.count++;
  }
}

/** A whole number in [0, max]. */
function index(value: number, max: number, what: string): number {
  if (!Number.isInteger(value) || value < 0 || value > max)
    throw new Error(`an AMQP thread batch's ${what} ${value} is out of range`);
  return value;
}

/**
 * The deliveries of one batch, in the thread's order. Throws when the batch does not read back
 * (it came from our own thread, so that is a defect there): the caller ends the thread, and the
 * broker delivers again what it held, none of it acked. `inputs`: how many inputs there are;
 * `bufferBytes`: the batch buffer's size, which every record and head must lie within.
 */
export function unpackDeliveries(packed: PackedDeliveries, inputs: number, bufferBytes: number): ThreadItem[] {
  const { count, keys, others } = packed;
  if (!Number.isInteger(count) || count < 0 || count * ITEM_FIELDS * 8 > packed.items.byteLength)
    throw new Error(
      `an AMQP thread batch says ${count} deliveries but carries ${packed.items.byteLength} bytes of them`,
    );
  const f = new Float64Array(packed.items, 0, count * ITEM_FIELDS);
  const out: ThreadItem[] = [];
  let other = 0;
  let start = 0;
  for (let i = 0; i < count; i++) {
    const at = i * ITEM_FIELDS;
    const flags = index(f[at] as number, PREPARED_BITS | REDELIVERED, 'flags');
    const input = index(f[at + 1] as number, inputs - 1, 'input');
    const id = index(f[at + 2] as number, Number.MAX_SAFE_INTEGER, 'id');
    const conn = index(f[at + 3] as number, Number.MAX_SAFE_INTEGER, 'connection');
    const routingKey = keys[index(f[at + 4] as number, keys.length - 1, 'routing key')] as string;
    const redelivered = (flags & REDELIVERED) !== 0;
    const bytes = index(f[at + 5] as number, Number.MAX_SAFE_INTEGER, 'size');
    if ((flags & READY) !== 0) {
      const end = index(f[at + 6] as number, bufferBytes, 'record end');
      const headEnd = index(f[at + 7] as number, bufferBytes, 'head end');
      if (end < start || headEnd < end)
        throw new Error(`an AMQP thread batch's delivery ${i} is out of order in its buffer`);
      start = headEnd;
      out.push({
        input,
        id,
        conn,
        routingKey,
        redelivered,
        bytes,
        k: 'ready',
        end,
        headEnd,
        truncated: (flags & TRUNCATED) !== 0,
        corrected: correctedOf(flags),
        filled: (flags & FILLED) !== 0,
      });
      continue;
    }
    const o = others[other++];
    if (o === undefined) throw new Error('an AMQP thread batch lists more unprepared deliveries than it carries');
    out.push(
      o.k === 'rejected'
        ? {
            input,
            id,
            conn,
            routingKey,
            redelivered,
            bytes,
            k: 'rejected',
            reason: o.reason,
            detail: o.detail,
            digest: o.digest,
          }
        : {
            input,
            id,
            conn,
            routingKey,
            redelivered,
            bytes,
            k: 'raw',
            content: o.content,
            messageId: o.messageId,
            headers: o.headers,
          },
    );
  }
  if (other !== others.length) throw new Error('an AMQP thread batch carries more unprepared deliveries than it lists');
  return out;
}
