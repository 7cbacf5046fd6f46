/**
 * fedora-messaging's `sent-at` header, the message's creation time: read from ISO-8601 text (or
 * a number of epoch seconds) as decodeDelivery and a datagrepper v2 row take it, and on a
 * delivery also from an AMQP timestamp field, which another publisher may send.
 *
 * The AMQP `timestamp` property is never read, with or without `sent-at`: fedora-messaging does
 * not set it and its consumers (the library's Message, datanommer) do not read it: a message
 * without `sent-at` is dated by its arrival here, as datanommer dates it by its own.
 */
import { noSuchDay } from './http/calendar-day.js';

/**
 * `2024-12-15T17:09:56+00:00`, optionally with a fraction; no zone is read as UTC (fedora-messaging
 * writes UTC). `t` and `z` are read as `T` and `Z` (RFC 3339 5.6 allows either case), as the HTTP
 * time parameters read them (src/http/iso-time.ts).
 */
const ISO = /^(\d{4}-\d{2}-\d{2})[Tt ](\d{2}:\d{2}:\d{2})(?:\.(\d{1,9}))?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** Epoch seconds from a `sent-at` value, `undefined` when absent, `null` when unreadable. */
export function parseSentAt(value: unknown): number | null | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value === 'number') return Number.isFinite(value) ? value : null;
  if (typeof value !== 'string') return null;
  const m = ISO.exec(value.trim());
  // Date.parse rolls 2024-02-30 over into March: a day the calendar lacks is no time at all.
  if (!m || noSuchDay(m[1] as string) !== null) return null;
  const zone =
    m[4] === undefined || m[4] === 'z' ? 'Z' : m[4].length === 5 ? `${m[4].slice(0, 3)}:${m[4].slice(3)}` : m[4];
  const ms = Date.parse(`${m[1]}T${m[2]}${zone}`);
  if (!Number.isFinite(ms)) return null;
  return ms / 1000 + (m[3] ? Number(`0.${m[3]}`) : 0);
}

/**
 * Whether a `sent-at` read from ISO text lies past the year 5138 (1e11 s), where checkTimestamp
 * reads a number as epoch milliseconds. ISO text is in seconds by its form: `9999-12-31` (a
 * "never" sentinel) was dated 1978 and counted there. No clock is that far behind, so such a
 * time is refused as ahead of it, on a thread without the service's clock too.
 */
export function isoPastUnits(value: unknown, seconds: number | null | undefined): boolean {
  return typeof value === 'string' && typeof seconds === 'number' && seconds >= 1e11;
}

/**
 * The epoch seconds of an AMQP 0-9-1 timestamp field (type 'T': unsigned 64-bit POSIX seconds),
 * which amqplib reads as `{ '!': 'timestamp', value }`; undefined for any other value. Another
 * client may send a field table of that shape: one whose value no 'T' field can hold (negative,
 * fractional, not a number) or with other members is null, unreadable.
 */
function amqpTimestamp(value: unknown): number | null | undefined {
  if (typeof value !== 'object' || value === null || (value as { '!'?: unknown })['!'] !== 'timestamp')
    return undefined;
  const seconds = (value as { value?: unknown }).value;
  return Object.keys(value).length === 2 && typeof seconds === 'number' && Number.isInteger(seconds) && seconds >= 0
    ? seconds
    : null;
}

/**
 * Why a `sent-at` that is a number but no finite one (an AMQP float or double may hold Infinity
 * or NaN) names no time, or null. jsonSafe writes such a number as null, the form of a header
 * that is absent: the message took its arrival time instead of being refused as any other bad
 * time is. Read from the table as it arrived, before jsonSafe. (RabbitMQ itself closes the
 * connection of a publisher that sends one; another broker may pass it on.)
 */
function nonFiniteSentAt(rawHeaders: Record<string, unknown>): string | null {
  const value = Object.hasOwn(rawHeaders, 'sent-at') ? rawHeaders['sent-at'] : undefined;
  return typeof value === 'number' && !Number.isFinite(value)
    ? `sent-at is not a finite number (read as ${value})`
    : null;
}

/**
 * A delivery's `sent-at` from its headers table as it arrived (`rawHeaders`) and made JSON-safe
 * (`headers`): epoch seconds, undefined when absent or void (the arrival time is then used), or
 * why the delivery is refused.
 */
export function deliverySentAt(
  rawHeaders: Record<string, unknown>,
  headers: Record<string, unknown>,
): number | undefined | { readonly reason: 'bad_timestamp' | 'future_timestamp'; readonly detail: string } {
  const nonFinite = nonFiniteSentAt(rawHeaders);
  if (nonFinite !== null) return { reason: 'bad_timestamp', detail: nonFinite };
  const value = headers['sent-at'];
  const typed = amqpTimestamp(value);
  const seconds = typed === undefined ? parseSentAt(value) : typed;
  if (seconds === null)
    return {
      reason: 'bad_timestamp',
      detail: `sent-at ${JSON.stringify(value)?.slice(0, 80)} is not an ISO-8601 time${typed === null ? ' nor an AMQP timestamp' : ''}`,
    };
  // A timestamp field is in seconds by its type, as ISO text by its form: epoch milliseconds
  // written into one are not guessed back to seconds (checkTimestamp's unit rule), but refused.
  if (typed !== undefined && typed !== null && typed >= 1e11)
    return {
      reason: 'future_timestamp',
      detail: `sent-at timestamp ${typed} is past the year 5138, ahead of any clock`,
    };
  if (isoPastUnits(value, seconds))
    return {
      reason: 'future_timestamp',
      detail: `sent-at ${JSON.stringify(value).slice(0, 80)} is past the year 5138, ahead of any clock`,
    };
  return seconds;
}
