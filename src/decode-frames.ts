import type { Envelope } from './envelope.js';
import { type Corrected, checkTimestamp, type EnvelopeLimits, walkShape } from './envelope-limits.js';
import { mayNeedWellFormed, wellFormed } from './well-formed.js';

export const DECODE_ERROR_REASONS = [
  'frame_count',
  'oversized',
  'invalid_json',
  'not_object',
  'bad_topic',
  'bad_timestamp',
  'too_deep',
  'too_many_keys',
  'future_timestamp',
] as const;
export type DecodeErrorReason = (typeof DECODE_ERROR_REASONS)[number];

export type DecodeResult =
  | {
      readonly ok: true;
      readonly envelope: Envelope;
      readonly filledTimestamp: boolean;
      /** Set when the timestamp was converted to seconds by the documented rule. */
      readonly correctedTimestamp: Corrected;
      /**
       * True when every object in the envelope has its keys in sorted order (as fedmsg sends
       * them): messageId() may then skip proving it (walkShape, envelope-limits.ts).
       */
      readonly keysSorted: boolean;
    }
  | { readonly ok: false; readonly reason: DecodeErrorReason; readonly detail: string };

export interface FrameLimits extends EnvelopeLimits {
  readonly maxFrameBytes: number;
}

/** The configured bounds (README, "The bus" and "Time"), with the clock that judges timestamps. */
export function frameLimits(
  config: {
    readonly maxFrameBytes: number;
    readonly maxMessageDepth: number;
    readonly maxMessageKeys: number;
    readonly maxClockSkew: number;
  },
  nowSeconds: () => number,
): FrameLimits {
  return {
    maxFrameBytes: config.maxFrameBytes,
    maxDepth: config.maxMessageDepth,
    maxKeys: config.maxMessageKeys,
    maxClockSkew: config.maxClockSkew,
    nowSeconds,
  };
}

/** Longest topic accepted (fedora-messaging's routing-key limit). */
export const MAX_TOPIC_LENGTH = 255;

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Turns one ZeroMQ multipart message into an envelope, or says why not. Everything here is
 * untrusted input, so nothing in it may throw.
 */
export function decodeFrames(frames: readonly Uint8Array[], limits: FrameLimits): DecodeResult {
  const parsed = parseFrames(frames, limits);
  return parsed.ok ? decodeEnvelope(parsed.value, parsed.topic, limits, parsed.needsWellFormed) : parsed;
}

/** The frame-level checks and the JSON parse, without the envelope checks (the bus thread needs them apart). */
export function parseFrames(
  frames: readonly Uint8Array[],
  limits: Pick<FrameLimits, 'maxFrameBytes'>,
):
  | {
      readonly ok: true;
      readonly value: unknown;
      readonly topic: string;
      /** False when the JSON text proves no string in it holds an unpaired surrogate (well-formed.ts). */
      readonly needsWellFormed: boolean;
    }
  | { readonly ok: false; readonly reason: DecodeErrorReason; readonly detail: string } {
  if (frames.length !== 2) return fail('frame_count', `expected 2 frames [topic, json], got ${frames.length}`);
  const [topicFrame, body] = frames as [Uint8Array, Uint8Array];
  const size = topicFrame.byteLength + body.byteLength;
  if (size > limits.maxFrameBytes)
    return fail('oversized', `${size} bytes exceeds the ${limits.maxFrameBytes}-byte limit`);
  try {
    const text = decoder.decode(body);
    const value: unknown = JSON.parse(text);
    return { ok: true, value, topic: decoder.decode(topicFrame), needsWellFormed: mayNeedWellFormed(text) };
  } catch (err) {
    return fail('invalid_json', (err as Error).message.slice(0, 200));
  }
}

/**
 * The object-level checks, shared by the bus and by backfill (datagrepper's `raw_messages`):
 * bounded shape, a topic from the envelope or the given fallback, and a sane timestamp. Every
 * string comes out well-formed (well-formed.ts); `needsWellFormed` false (the JSON text proved
 * there are none) skips that walk. `owned`: nothing else refers to `parsed` (a parse of the
 * caller's own), so it may be the envelope returned, unchanged, where no member needs a change.
 */
export function decodeEnvelope(
  parsed: unknown,
  fallbackTopic: string,
  limits: EnvelopeLimits,
  needsWellFormed = true,
  owned = false,
): DecodeResult {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail(
      'not_object',
      `the envelope is ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`,
    );
  }
  const shape = walkShape(parsed, limits.maxDepth, limits.maxKeys);
  if (typeof shape !== 'boolean') return fail(shape.reason, shape.detail);
  // After the shape check: wellFormed() recurses, and the depth is bounded now.
  const raw = (needsWellFormed ? wellFormed(parsed) : parsed) as Record<string, unknown>;
  // The order was proven on what JSON.parse made; wellFormed() hands back copies when it renames anything.
  const keysSorted = shape && raw === parsed;
  const topic = typeof raw['topic'] === 'string' && raw['topic'] !== '' ? raw['topic'] : fallbackTopic;
  if (topic === '') return fail('bad_topic', 'neither the envelope nor the first frame names a topic');
  // AMQP caps routing keys at 255 bytes and real fedmsg topics are far shorter; a topic becomes
  // plugin keys and metric labels, so a megabyte of it must not get that far.
  if (topic.length > MAX_TOPIC_LENGTH)
    return fail('bad_topic', `topic of ${topic.length} characters exceeds ${MAX_TOPIC_LENGTH}`);

  let timestamp = raw['timestamp'];
  let filledTimestamp = false;
  // A decimal string is a number some publishers quote. Number() alone would also read "0x10",
  // "0b1" and "0o7" (16, 1, 7 s: 1970, in every all-time count) and " 1e3 "; those are refused.
  if (typeof timestamp === 'string' && DECIMAL.test(timestamp)) timestamp = Number(timestamp);
  const now = limits.nowSeconds();
  if (timestamp === undefined || timestamp === null) {
    // Some real messages lack a timestamp; the receive time is the best we know.
    timestamp = now;
    filledTimestamp = true;
  }
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0)
    return fail('bad_timestamp', badTimestamp(raw['timestamp'], timestamp));
  const verdict = checkTimestamp(timestamp, now, limits.maxClockSkew);
  if (!verdict.ok) return fail('future_timestamp', verdict.detail);

  // -0 passes as not negative; + 0 makes it 0, as the journal reads it back. LMDB's ordered key
  // encoding has no form for -0: the time index keyed it as garbage sorting after every time, so
  // the message was in no `/raw` window and trimming (which removes [0, seq]) never removed it.
  const seconds = verdict.seconds + 0;
  const envelope = (owned && unchanged(raw, topic, seconds) ? raw : { ...raw, topic, timestamp: seconds }) as Envelope;
  if (typeof raw['msg_id'] !== 'string') delete (envelope as { msg_id?: unknown }).msg_id;
  return { ok: true, envelope, filledTimestamp, correctedTimestamp: verdict.corrected, keysSorted };
}

/**
 * Why a timestamp is not epoch seconds, the value as sent (`sent`) and as read (`read`). A JSON
 * number past the largest double (1e400) parses to Infinity, which JSON.stringify writes as
 * null: the refusal said "timestamp null", a value the publisher never sent.
 */
function badTimestamp(sent: unknown, read: unknown): string {
  if (typeof read === 'number' && !Number.isFinite(read)) {
    const shown = typeof sent === 'string' ? ` ${JSON.stringify(sent.slice(0, 80))}` : '';
    const why = Number.isNaN(read) ? 'NaN' : `${read}: beyond the range of a double, ±1.8e308`;
    return `timestamp${shown} is not a finite number (read as ${why})`;
  }
  return `timestamp ${JSON.stringify(sent)?.slice(0, 80)} is not epoch seconds`;
}

/**
 * Whether the envelope is `raw` as it is: the topic and the timestamp it already holds, each in
 * its place, and no msg_id to drop. A parse the caller hands over (`owned`) then becomes the
 * envelope itself; its copy (a spread, through V8's slow clone path for the many shapes
 * envelopes have) was ~1.5% of the bus thread's instructions per message.
 */
function unchanged(raw: Record<string, unknown>, topic: string, seconds: number): boolean {
  // Object.is: a -0 timestamp is written as 0 (seconds + 0 above).
  return raw['topic'] === topic && Object.is(raw['timestamp'], seconds) && typeof raw['msg_id'] === 'string';
}

/** Epoch seconds as a string: digits, an optional fraction and exponent, nothing around them. */
const DECIMAL = /^\d+(?:\.\d+)?(?:[eE][+-]?\d+)?$/;

function fail(reason: DecodeErrorReason, detail: string): { ok: false; reason: DecodeErrorReason; detail: string } {
  return { ok: false, reason, detail };
}
