import { noSuchDay } from './calendar-day.js';

/**
 * The ISO-8601 forms every time parameter reads (`start`/`stop` of `/api`, `start`/`end` of
 * `/raw`, the same on WebSocket and SSE): a date, or a date and time with `T` or a space, with
 * or without seconds and fractions, and an optional zone. Without a zone it is UTC, never the
 * server's local time.
 */
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d+)?)?)?(Z|[+-]\d{2}:?\d{2})?$/;

/**
 * A zone written `+01:00` in a URL arrives as ` 01:00`: in a query string `+` is a space, and a
 * client that did not write `%2B` meant the plus (no other reading of the space exists).
 */
const SPACED_ZONE = /^(\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}(?::\d{2}(?:\.\d+)?)?) (\d{2}:?\d{2})$/;

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
  const zoned = /(Z|[+-]\d{2}:?\d{2})$/.test(s.slice(10));
  const ms = Date.parse(hasTime ? `${s.slice(0, 10)}T${s.slice(11)}${zoned ? '' : 'Z'}` : `${s}T00:00:00Z`);
  return Number.isFinite(ms) ? ms / 1000 : null;
}
