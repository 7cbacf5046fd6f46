import type { Corrected } from './envelope-limits.js';
import { ITEM_INTS, type PackedItems } from './bus-thread-protocol.js';
import type { DecodeErrorReason } from './decode-frames.js';
import type { Envelope, Meta } from './envelope.js';
import { correctedOf, FILLED, READY, TRUNCATED } from './prepared-flags.js';
import { headMeta, unpackHead } from './prepared-head.js';

/** A bus message as the main thread receives it from the bus thread (see bus-prepare.ts). */
export type ThreadMessage =
  | {
      readonly kind: 'ready';
      readonly source: string;
      readonly id: string;
      readonly envelope: Envelope;
      /** The journal record of (id, envelope), stored as is. */
      readonly record: Uint8Array;
      readonly meta: Meta;
      readonly truncated: boolean;
      readonly corrected: Corrected;
      /** It had no timestamp: the bus thread filled it in from the service's clock (bus-prepare.ts). */
      readonly filled: boolean;
    }
  | { readonly kind: 'clock'; readonly source: string; readonly frames: readonly Uint8Array[] }
  | { readonly kind: 'rejected'; readonly source: string; readonly reason: DecodeErrorReason; readonly detail: string };

/** The source named when the bus thread itself fails. */
export const BUS_THREAD_SOURCE = 'bus-thread';

/**
 * The messages of one batch the bus thread handed over, in its order. An item that cannot be
 * read goes to `receiveError`; null once that says the loop has ended (nothing more is handled).
 */
export function unpackBatch(
  batch: PackedItems,
  buffer: ArrayBuffer,
  receiveError: (err: unknown, source: string) => boolean,
): ThreadMessage[] | null {
  const messages: ThreadMessage[] = [];
  const ints = new Int32Array(batch.items);
  let start = 0;
  let other = 0;
  for (let i = 0; i < batch.count; i++) {
    const at = i * ITEM_INTS;
    const flags = ints[at] as number;
    const source = batch.sources[ints[at + 1] as number] ?? BUS_THREAD_SOURCE;
    if ((flags & READY) !== 0) {
      const from = start;
      const end = ints[at + 2] as number;
      start = ints[at + 3] as number;
      try {
        const record = new Uint8Array(buffer, from, end - from);
        // The head's row, not unpackPrepared's object: the message is made from its parts.
        const head = unpackHead(buffer, record, end, start);
        messages.push({
          kind: 'ready',
          source,
          id: head[0],
          envelope: head[7],
          record,
          meta: headMeta(head),
          truncated: (flags & TRUNCATED) !== 0,
          corrected: correctedOf(flags),
          filled: (flags & FILLED) !== 0,
        });
      } catch (err) {
        if (!receiveError(err, source)) return null;
      }
      continue;
    }
    const item = batch.others[other++];
    if (item === undefined) {
      // Cannot happen: the thread adds one to `others` for each item without READY.
      if (!receiveError(new Error('a bus thread batch lists more unprepared items than it carries'), source))
        return null;
      continue;
    }
    if (item.k === 'clock') messages.push({ kind: 'clock', source, frames: item.f });
    else messages.push({ kind: 'rejected', source, reason: item.r, detail: item.d });
  }
  return messages;
}
