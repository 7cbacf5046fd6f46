import { noSuchDay } from './calendar-day.js';

/**
 * The ISO-8601 forms every time parameter reads (`start`/`stop` of `/api`, `start`/`end` of
 * `/raw`, the same on WebSocket and SSE): a date, or a date and time with `T` or a space, with
 * or without seconds and fractions, and an optional zone. Without a zone it is UTC, never the
 * server's local time. `t` and `z` are read as `T` and `Z` (RFC 3339 5.6 allows either case);
 * an hour-only zone (`+01`) is refused: RFC 3339 has none, and ISO_FORM says what is read.
 */
const ISO = /^\d{4}-\d{2}-\d{2}([Tt ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?([Zz]|[+-]\d{2}:?\d{2})?$/;

/** What a time parameter's refusal says it takes (after "must be"). */
export const ISO_FORM =
  'epoch seconds or an ISO-8601 date like 2015-11-04 or 2015-11-04T10:01:00Z, a zone written Z, +hh:mm or -hh:mm';

/**
 * A zone written `+01:00` in a URL arrives as ` 01:00`: in a query string `+` is a space, and a
 * client that did not write `%2B` meant the plus (no other reading of the space exists).
 */
const SPACED_ZONE = /^(\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$/;

/**
 * Epoch seconds of `text` (already trimmed, at most MAX_NUMBER_CHARS long), why it names no
 * instant (a day the calendar lacks: noSuchDay's reason), or null when it is not one of the forms above.
 * Date.parse alone read `2026-01-01 10:00` in the server's time zone, and rolled 02-30 over
 * into March.
 */
export function isoSeconds(text: string): number | { readonly noSuchDay: string } | null {
  const spaced = SPACED_ZONE.exec(text);
  const s = spaced === null ? text : `${spaced[1]}+${spaced[2]}`;
  if (!ISO.test(s)) return null;
  const noDay = noSuchDay(s);
  if (noDay !== null) return { noSuchDay: noDay };
  const hasTime = s.length > 10;
  const zoned = /([Zz]|[+-]\d{2}:?\d{2})$/.test(s.slice(10));
  const time = s.slice(11).replace(/z$/, 'Z');
  const ms = Date.parse(hasTime ? `${s.slice(0, 10)}T${time}${zoned ? '' : 'Z'}` : `${s}T00:00:00Z`);
  return Number.isFinite(ms) ? ms / 1000 : null;
}
