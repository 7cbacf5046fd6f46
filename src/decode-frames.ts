import type { Envelope } from './envelope.js';

export const DECODE_ERROR_REASONS = ['frame_count', 'oversized', 'invalid_json', 'not_object', 'bad_topic', 'bad_timestamp'] as const;
export type DecodeErrorReason = (typeof DECODE_ERROR_REASONS)[number];

export type DecodeResult =
  | { readonly ok: true; readonly envelope: Envelope; readonly filledTimestamp: boolean }
  | { readonly ok: false; readonly reason: DecodeErrorReason; readonly detail: string };

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * Turns one ZeroMQ multipart message into an envelope, or says why not. Everything here is
 * untrusted input, so nothing in it may throw.
 */
export function decodeFrames(frames: readonly Uint8Array[], maxBytes: number, nowSeconds: () => number): DecodeResult {
  if (frames.length !== 2) return fail('frame_count', `expected 2 frames [topic, json], got ${frames.length}`);
  const [topicFrame, body] = frames as [Uint8Array, Uint8Array];
  const size = topicFrame.byteLength + body.byteLength;
  if (size > maxBytes) return fail('oversized', `${size} bytes exceeds the ${maxBytes}-byte limit`);

  let parsed: unknown;
  try {
    parsed = JSON.parse(decoder.decode(body));
  } catch (err) {
    return fail('invalid_json', (err as Error).message.slice(0, 200));
  }
  return decodeEnvelope(parsed, decoder.decode(topicFrame), nowSeconds);
}

/**
 * The object-level checks, shared by the bus and by backfill (datagrepper's `raw_messages`):
 * a topic from the envelope or the given fallback, and a usable timestamp.
 */
export function decodeEnvelope(parsed: unknown, fallbackTopic: string, nowSeconds: () => number): DecodeResult {
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    return fail('not_object', `the envelope is ${Array.isArray(parsed) ? 'an array' : parsed === null ? 'null' : typeof parsed}`);
  }
  const raw = parsed as Record<string, unknown>;
  const topic = typeof raw['topic'] === 'string' && raw['topic'] !== '' ? raw['topic'] : fallbackTopic;
  if (topic === '') return fail('bad_topic', 'neither the envelope nor the first frame names a topic');

  let timestamp = raw['timestamp'];
  let filledTimestamp = false;
  if (typeof timestamp === 'string' && timestamp.trim() !== '') timestamp = Number(timestamp);
  if (timestamp === undefined || timestamp === null) {
    // Some real messages lack a timestamp; the receive time is the best we know.
    timestamp = nowSeconds();
    filledTimestamp = true;
  }
  if (typeof timestamp !== 'number' || !Number.isFinite(timestamp) || timestamp < 0) {
    return fail('bad_timestamp', `timestamp ${JSON.stringify(raw['timestamp'])} is not epoch seconds`);
  }

  const envelope: Envelope = { ...raw, topic, timestamp } as Envelope;
  if (typeof raw['msg_id'] !== 'string') delete (envelope as { msg_id?: unknown }).msg_id;
  return { ok: true, envelope, filledTimestamp };
}

function fail(reason: DecodeErrorReason, detail: string): DecodeResult {
  return { ok: false, reason, detail };
}
