/** One page of a history's answer read into envelopes, checked against the bus's bounds. */
import { isSerializedMessage, serializedToEnvelope } from './amqp-message.js';
import { decodeEnvelope } from './decode-frames.js';
import type { Envelope } from './envelope.js';
import type { EnvelopeLimits } from './envelope-limits.js';

export interface ParsedPage {
  readonly pages: number;
  readonly total: number;
  /** `total` as the answer gave it; null when it gave none. */
  readonly announcedTotal: number | null;
  readonly envelopes: Envelope[];
  readonly invalid: number;
  /** Rows in the answer, valid or not. */
  readonly rows: number;
  /** Rows a full page holds: rows_per_page, or the smaller one the answer's `arguments` says it used. */
  readonly pageSize: number;
  /** Equal on consecutive pages: the page was repeated (pageIdentity). */
  readonly identity: string;
}

/**
 * Whether one archived message is over `max` bytes as JSON (a row too deep to measure is):
 * measured on a message whose envelope passed the depth and size checks. Only the page was
 * bounded: a message the bus refuses for --max-frame-bytes (a 900 KB msg_id, a 50 MB body) was
 * taken in from the history.
 */
function overBytes(raw: unknown, max: number): boolean {
  let text: string;
  try {
    text = JSON.stringify(raw);
  } catch {
    // A /v2/search row's fields past body and headers are not depth-checked: one nested past
    // what stringify can walk failed the whole page, and a failed page is retried for ever.
    return true;
  }
  // UTF-8 is at most 3 bytes per UTF-16 unit: only a long text needs counting exactly.
  return text.length > max || (text.length * 3 > max && Buffer.byteLength(text) > max);
}

export function parsePage(
  body: unknown,
  rowsPerPage: number,
  limits: EnvelopeLimits,
  maxMessageBytes: number,
): ParsedPage {
  const b = body as { raw_messages?: unknown; pages?: unknown; total?: unknown; arguments?: unknown } | null;
  if (!b || !Array.isArray(b.raw_messages) || typeof b.pages !== 'number')
    throw new Error('answer lacks raw_messages/pages');
  const rows: unknown[] = b.raw_messages;
  // More rows than asked for is not a page of this window's paging (nor bounded by it).
  if (rows.length > rowsPerPage)
    throw new Error(`answer holds ${rows.length} messages, more than the rows_per_page=${rowsPerPage} asked for`);
  const envelopes: Envelope[] = [];
  let invalid = 0;
  const ends: (Envelope | null)[] = [];
  for (let i = 0; i < rows.length; i++) {
    const raw = rows[i];
    // Today's `/v2/search` answers fedora-messaging's `{topic, body, headers, id}`; legacy `/raw` fedmsg envelopes.
    const r = decodeEnvelope(isSerializedMessage(raw) ? serializedToEnvelope(raw) : raw, '', limits);
    // An archived message without its time would be dated now, each time it is read: counted in
    // the wrong bucket, and without a msg_id too its id (which digests the time) differed on
    // every backfill, so each one counted it again.
    const usable = r.ok && !r.filledTimestamp && !overBytes(raw, maxMessageBytes);
    if (usable) envelopes.push(r.envelope);
    else invalid++;
    if (i === 0 || i === rows.length - 1) ends.push(usable ? r.envelope : null);
  }
  return {
    pages: b.pages,
    total: typeof b.total === 'number' ? b.total : envelopes.length,
    announcedTotal: typeof b.total === 'number' && Number.isFinite(b.total) ? b.total : null,
    envelopes,
    invalid,
    rows: rows.length,
    pageSize: usedPageSize(b.arguments, rowsPerPage),
    identity: pageIdentity(rows.length, ends),
  };
}

/**
 * The row count and the first and last messages: the same on two consecutive pages, the history
 * sent one page twice. Empty ('': never compared) when an end is not a valid envelope, which
 * may be unbounded in depth and size; MAX_BACKFILL_PAGES still bounds such paging.
 */
function pageIdentity(rows: number, ends: readonly (Envelope | null)[]): string {
  if (rows === 0 || ends.some((e) => e === null)) return '';
  return `${rows}:${ends.map((e) => JSON.stringify(e)).join(':')}`;
}

/** A history that caps rows_per_page lower (and says so in `arguments`) pages by its own size. */
function usedPageSize(args: unknown, asked: number): number {
  const used = (args as { rows_per_page?: unknown } | null | undefined)?.rows_per_page;
  return typeof used === 'number' && Number.isInteger(used) && used >= 1 && used < asked ? used : asked;
}
