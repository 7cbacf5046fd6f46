/**
 * fedora-messaging's wire form (AMQP 0-9-1) turned into the envelope every plugin already
 * knows from fedmsg: topic = routing key, msg = body, msg_id = message_id, timestamp = the
 * `sent-at` header, headers kept. Pure and total: every field here is untrusted input.
 */
import { createHash } from 'node:crypto';
import { stableJson } from '../snapshots/stable-json.js';
import { mayNeedWellFormed } from './well-formed.js';
import { decodeEnvelope, type DecodeResult, type FrameLimits } from './decode-frames.js';
import { usableMsgId } from './envelope.js';
import { deliverySentAt, isoPastUnits, parseSentAt } from './amqp-sent-at.js';

/**
 * Set on a delivery's headers table by amqp-codec-guard.ts, in place of its content, when its
 * tables nest too deep to decode safely: the depth found.
 */
export const TOO_DEEP: unique symbol = Symbol('statscache.amqp.tooDeep');

/**
 * Set on a delivery's headers table by amqp-codec-guard.ts, in place of its content, when the
 * table is larger than the cap (capTables): its size in bytes.
 */
export const TOO_LARGE: unique symbol = Symbol('statscache.amqp.tooLarge');

/**
 * Set on a delivery's properties by amqp-body-guard.ts when its content header declared a body
 * over the cap: the declared size. The body was dropped unread (the content is then empty).
 */
export const DECLARED_BYTES: unique symbol = Symbol('statscache.amqp.declaredBytes');

/**
 * Set on a delivery's properties by amqp-frame-guard.ts, in place of every property, when its
 * content header frame was larger than the table cap allows: the frame's size. The frame was
 * dropped unread.
 */
export const FRAME_TOO_LARGE: unique symbol = Symbol('statscache.amqp.frameTooLarge');

/** What the AMQP edge hands upward for one delivery (no amqplib types past the edge). */
export interface Delivery {
  readonly routingKey: string;
  readonly content: Uint8Array;
  /** The body's declared size when it was over the cap and dropped unread (content is then empty). */
  readonly declaredBytes?: number | undefined;
  /** The content header frame's size when it was over the cap and dropped unread (headers and message id are then absent). */
  readonly headerFrameBytes?: number | undefined;
  readonly messageId: unknown;
  readonly headers: unknown;
  readonly redelivered: boolean;
}

const decoder = new TextDecoder('utf-8', { fatal: false });

/**
 * AMQP table values as JSON-safe values (byte arrays as UTF-8 text, non-finite numbers as
 * null). Returns undefined past `maxDepth`, so a hostile table cannot recurse without bound.
 */
export function jsonSafe(value: unknown, maxDepth: number, depth = 1): unknown {
  if (depth > maxDepth) return undefined;
  if (value === null || typeof value === 'string' || typeof value === 'boolean') return value;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value === 'bigint') return Number(value);
  if (value instanceof Uint8Array) return decoder.decode(value);
  if (value instanceof Date) return value.toISOString();
  if (Array.isArray(value)) {
    const out: unknown[] = [];
    for (const v of value) {
      const s = jsonSafe(v, maxDepth, depth + 1);
      if (s === undefined && v !== undefined) return undefined;
      out.push(s ?? null);
    }
    return out;
  }
  if (typeof value === 'object') {
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(value)) {
      if (v === undefined) continue;
      const s = jsonSafe(v, maxDepth, depth + 1);
      if (s === undefined) return undefined;
      out[k] = s;
    }
    return out;
  }
  return null;
}

/**
 * The size bound alone: cheap, so it runs before a delivery is held back during start-up, and a
 * held prefetch window costs at most prefetch × `--max-frame-bytes`, not × the broker's 128 MiB.
 * A body declared over the cap was never read (amqp-body-guard.ts): refused by its declared size.
 */
export function oversizedDelivery(delivery: Delivery, limits: FrameLimits): DecodeResult | null {
  // The headers are bounded on their own (--max-frame-bytes counts the body and routing key).
  if (delivery.headerFrameBytes !== undefined)
    return {
      ok: false,
      reason: 'oversized',
      detail: `a header frame of ${delivery.headerFrameBytes} bytes exceeds the ${limits.maxFrameBytes}-byte limit (left unread)`,
    };
  const headerBytes =
    typeof delivery.headers === 'object' && delivery.headers !== null
      ? (delivery.headers as { [TOO_LARGE]?: number })[TOO_LARGE]
      : undefined;
  if (headerBytes !== undefined)
    return {
      ok: false,
      reason: 'oversized',
      detail: `a headers table of ${headerBytes} bytes exceeds the ${limits.maxFrameBytes}-byte limit (left undecoded)`,
    };
  const unread = delivery.declaredBytes !== undefined;
  const size = (unread ? (delivery.declaredBytes as number) : delivery.content.byteLength) + delivery.routingKey.length;
  return size > limits.maxFrameBytes || unread
    ? {
        ok: false,
        reason: 'oversized',
        detail: `${size} bytes exceeds the ${limits.maxFrameBytes}-byte limit${unread ? ' (declared; the body was not read)' : ''}`,
      }
    : null;
}

/**
 * The id of a delivery that has neither a usable message_id nor a `sent-at`: its timestamp is
 * then the time we received it, which the journal's digest of an id-less message includes, so
 * every redelivery (a lost ack, a cut connection) was counted again. A digest of what the
 * broker redelivers unchanged (routing key, body, headers, the unusable id) is the same each time.
 */
function contentId(delivery: Delivery, body: string, headers: Record<string, unknown>): string {
  const sum = createHash('sha1').update(delivery.routingKey).update('\n').update(body).update('\n');
  // Brokers add headers of their own to a redelivery (a quorum queue's x-delivery-count, x-death
  // after dead-lettering): the publisher's headers alone are what repeats.
  const own = Object.fromEntries(Object.entries(headers).filter(([k]) => !k.startsWith('x-')));
  sum.update(stableJson(own) ?? '').update('\n');
  sum.update(typeof delivery.messageId === 'string' ? delivery.messageId : '');
  return `amqp-content:${sum.digest('hex')}`;
}

/** One delivery as an envelope, through the same bounds as a ZeroMQ frame, or the reason it is refused. */
export function decodeDelivery(delivery: Delivery, limits: FrameLimits): DecodeResult {
  const oversized = oversizedDelivery(delivery, limits);
  if (oversized) return oversized;
  let body: unknown;
  let text: string;
  try {
    text = decoder.decode(delivery.content);
    body = JSON.parse(text);
  } catch (err) {
    return { ok: false, reason: 'invalid_json', detail: (err as Error).message.slice(0, 200) };
  }
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    // fedora-messaging bodies are JSON objects; anything else is not a message we understand.
    return {
      ok: false,
      reason: 'not_object',
      detail: `the body is ${Array.isArray(body) ? 'an array' : body === null ? 'null' : typeof body}`,
    };
  }
  const rawHeaders = delivery.headers ?? {};
  const tooDeep = (rawHeaders as { [TOO_DEEP]?: number })[TOO_DEEP];
  if (tooDeep !== undefined)
    return tooDeep < 0
      ? { ok: false, reason: 'not_object', detail: 'the headers table is not well formed (left undecoded)' }
      : { ok: false, reason: 'too_deep', detail: `headers nest ${tooDeep}+ tables deep (left undecoded)` };
  // Depth 2: the table sits one level below the envelope.
  const headers = jsonSafe(rawHeaders, limits.maxDepth - 1);
  if (headers === undefined)
    return { ok: false, reason: 'too_deep', detail: `headers nest deeper than ${limits.maxDepth} levels` };
  if (typeof headers !== 'object' || headers === null || Array.isArray(headers))
    return { ok: false, reason: 'not_object', detail: 'the headers are not a table' };
  const sentAt = deliverySentAt(rawHeaders as Record<string, unknown>, headers as Record<string, unknown>);
  if (typeof sentAt === 'object') return { ok: false, ...sentAt };
  const envelope: Record<string, unknown> = { topic: delivery.routingKey, msg: body, headers };
  if (typeof delivery.messageId === 'string' && delivery.messageId !== '') envelope['msg_id'] = delivery.messageId;
  if (sentAt !== undefined) envelope['timestamp'] = sentAt;
  else if (!usableMsgId(delivery.messageId))
    envelope['msg_id'] = contentId(delivery, text, headers as Record<string, unknown>);
  // The headers come from AMQP's UTF-8 tables, never a \u escape: only the body's text can hold one.
  return decodeEnvelope(envelope, delivery.routingKey, limits, mayNeedWellFormed(text));
}

/**
 * datagrepper's `/v2/search` rows are fedora-messaging's serialized form
 * `{topic, body, headers, id}`: the same envelope as a live delivery. A row's `sent-at` is JSON,
 * never an AMQP timestamp field (datanommer writes ISO text from its own timestamp when a message
 * had none), so only the text and number forms are read here.
 */
export function serializedToEnvelope(raw: Record<string, unknown>): Record<string, unknown> {
  const headers =
    typeof raw['headers'] === 'object' && raw['headers'] !== null && !Array.isArray(raw['headers'])
      ? (raw['headers'] as Record<string, unknown>)
      : {};
  const envelope: Record<string, unknown> = { topic: raw['topic'], msg: raw['body'], headers };
  if (typeof raw['id'] === 'string') envelope['msg_id'] = raw['id'];
  const sentAt = parseSentAt(headers['sent-at']);
  envelope['timestamp'] =
    sentAt === null
      ? 'unreadable sent-at'
      : isoPastUnits(headers['sent-at'], sentAt)
        ? 'sent-at past the year 5138'
        : sentAt;
  return envelope;
}

/** A v2 row has `body` and no `msg`; a legacy `/raw` envelope has `msg`. */
export function isSerializedMessage(raw: unknown): raw is Record<string, unknown> {
  return typeof raw === 'object' && raw !== null && !Array.isArray(raw) && 'body' in raw && !('msg' in raw);
}
