import type { Corrected } from './envelope-limits.js';
import { encodeJournalRecord, messageId, messageIdOfSorted } from '../snapshots/journal-record.js';
import { deriveMeta } from './meta/index.js';
import type { Envelope } from './envelope.js';
import { encodeHead, headOf, type PreparedHead } from './prepared-head.js';
import {
  type DecodeErrorReason,
  type DecodeResult,
  decodeEnvelope,
  type FrameLimits,
  frameLimits,
  parseFrames,
} from './decode-frames.js';

/** The bounds the bus thread applies: every FrameLimits bound but the clock, which stays with the service. */
export type ThreadLimits = Omit<FrameLimits, 'nowSeconds'> & { readonly maxFanout: number };

/**
 * One bus message as the bus thread hands it over. `ready`: decoded, bounded, timestamp in
 * seconds, with its journal record (id and envelope, encoded) already made, so the main
 * thread only unpacks it. `clock`: it has no timestamp and the thread has no reading of the
 * service's clock to fill it with (an injected clock: bus-thread-options.ts `fillTimestamps`),
 * so the main thread decodes these frames itself. `rejected`: counted and skipped.
 */
export type Prepared =
  | {
      readonly kind: 'ready';
      readonly record: Uint8Array;
      /**
       * What the main thread reads of every message, encoded (a PreparedHead: prepared-head.ts): the id, the meta
       * (deriveMeta with the configured fan-out cap) and the envelope without its `msg`, which is
       * most of a record's bytes and read from the record only when a plugin asks for it.
       */
      readonly head: Uint8Array;
      readonly truncated: boolean;
      readonly corrected: Corrected;
      /** It had no timestamp: `fill`'s reading is its timestamp (never ahead of the clock: not judged again). */
      readonly filled: boolean;
    }
  | { readonly kind: 'clock'; readonly frames: readonly Uint8Array[] }
  | { readonly kind: 'rejected'; readonly reason: DecodeErrorReason; readonly detail: string };

/**
 * Prepared before its bytes are made: what the bus thread writes straight into its batch
 * (PairBatch.addMessage, transfer-buffer.ts) as the journal record of (id, envelope) and the
 * encoded head. preparedOf makes the same bytes of it.
 */
export type PreparedParts =
  | {
      readonly kind: 'ready';
      readonly id: string;
      readonly envelope: Envelope;
      readonly head: PreparedHead;
      readonly truncated: boolean;
      readonly corrected: Corrected;
      readonly filled: boolean;
    }
  | Exclude<Prepared, { kind: 'ready' }>;

export function threadLimits(config: {
  readonly maxFrameBytes: number;
  readonly maxMessageDepth: number;
  readonly maxMessageKeys: number;
  readonly maxClockSkew: number;
  readonly maxFanout: number;
}): ThreadLimits {
  const { nowSeconds: _, ...limits } = frameLimits(config, () => 0);
  return { ...limits, maxFanout: config.maxFanout };
}

/** The limits with no clock: the future-timestamp bound is judged on the main thread (bus-thread.ts). */
export function unclocked(limits: ThreadLimits): FrameLimits & { readonly maxFanout: number } {
  return { ...limits, nowSeconds: () => Number.POSITIVE_INFINITY };
}

/**
 * Everything the main thread used to do per message before journaling it, except judging a
 * timestamp against its clock. `fill`: the service's clock in epoch seconds, read for a message
 * without a timestamp exactly as decodeFrames reads `nowSeconds` on the main thread, so the
 * envelope, id and record are the ones the main thread would make at that reading; null: such
 * a message goes back as `clock`, its frames for the main thread to decode.
 */
export function prepareFrames(
  frames: readonly Uint8Array[],
  limits: FrameLimits & { readonly maxFanout: number },
  fill: (() => number) | null = null,
): Prepared {
  return bytesOf(prepareFrameParts(frames, limits, fill));
}

/** prepareFrames without making the record's and head's bytes (PreparedParts). */
export function prepareFrameParts(
  frames: readonly Uint8Array[],
  limits: FrameLimits & { readonly maxFanout: number },
  fill: (() => number) | null = null,
): PreparedParts {
  const parsed = parseFrames(frames, limits);
  if (!parsed.ok) return { kind: 'rejected', reason: parsed.reason, detail: parsed.detail };
  const value = parsed.value as { timestamp?: unknown } | null;
  let clocked: FrameLimits = limits;
  if (
    typeof value === 'object' &&
    value !== null &&
    !Array.isArray(value) &&
    (value.timestamp === undefined || value.timestamp === null)
  ) {
    // Copies: the frames' memory belongs to libzmq's receive buffer, reused after this call.
    if (fill === null) return { kind: 'clock', frames: frames.map((f) => f.slice()) };
    // One reading, as decodeEnvelope takes one: it is both the timestamp and the bound it passes.
    const now = fill();
    clocked = { ...limits, nowSeconds: () => now };
  }
  // The parse is this call's own: the envelope may be it (decodeEnvelope's `owned`).
  return partsOf(decodeEnvelope(parsed.value, parsed.topic, clocked, parsed.needsWellFormed, true), limits.maxFanout);
}

/**
 * Set by deriveMeta through onTruncated during one preparedOf call. A module function, not a
 * closure per message: the serve bundle keeps function names (scripts/bundle-serve.mjs
 * keepNames), so each closure made was also named with an Object.defineProperty call.
 */
let truncatedNow = false;
const onTruncated = (): void => {
  truncatedNow = true;
};

/**
 * A decoded message as a thread hands it over (the bus thread here, the AMQP prepare thread:
 * amqp-prepare.ts): the id and journal record Journal.accept would make of its envelope, and its head.
 */
export function preparedOf(result: DecodeResult, maxFanout: number): Exclude<Prepared, { kind: 'clock' }> {
  return bytesOf(partsOf(result, maxFanout));
}

/** preparedOf without making the record's and head's bytes (PreparedParts). */
export function partsOf(result: DecodeResult, maxFanout: number): Exclude<PreparedParts, { kind: 'clock' }> {
  if (!result.ok) return { kind: 'rejected', reason: result.reason, detail: result.detail };
  const { envelope } = result;
  const id = result.keysSorted ? messageIdOfSorted(envelope) : messageId(envelope);
  truncatedNow = false;
  const meta = deriveMeta(envelope, { maxFanout, onTruncated });
  return {
    kind: 'ready',
    id,
    envelope,
    head: headOf(id, meta, envelope),
    truncated: truncatedNow,
    corrected: result.correctedTimestamp,
    filled: result.filledTimestamp,
  };
}

function bytesOf<P extends PreparedParts>(parts: P): Prepared & { kind: P['kind'] };
function bytesOf(parts: PreparedParts): Prepared {
  if (parts.kind !== 'ready') return parts;
  // A whole literal, not a rest and a spread: the AMQP input thread makes one per delivery, and a
  // spread gave nearly every one a hidden class of its own (amqp-thread-batch.ts).
  return {
    kind: 'ready',
    record: encodeJournalRecord(parts.id, parts.envelope),
    head: encodeHead(parts.head),
    truncated: parts.truncated,
    corrected: parts.corrected,
    filled: parts.filled,
  };
}
