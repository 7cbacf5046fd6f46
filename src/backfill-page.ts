/** One page of a history's answer read into envelopes, checked against the bus's bounds. */
import { createHash } from 'node:crypto';
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
  /** Equal on consecutive pages: the page was repeated (PageIdentity). */
  readonly identity: string;
}

/**
 * One row as JSON; null when it nests past what stringify can walk (a /v2/search row's fields
 * past body and headers are not depth-checked: one such row failed the whole page, and a
 * failed page is retried for ever).
 */
function rowText(raw: unknown): string | null {
  try {
    return JSON.stringify(raw) ?? '';
  } catch {
    return null;
  }
}

/**
 * Whether one archived message is over `max` bytes as JSON (a row too deep to measure is):
 * measured on a message whose envelope passed the depth and size checks. Only the page was
 * bounded: a message the bus refuses for --max-frame-bytes (a 900 KB msg_id, a 50 MB body) was
 * taken in from the history.
 */
function overBytes(text: string | null, max: number): boolean {
  if (text === null) return true;
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
  const identity = new PageIdentity();
  for (let i = 0; i < rows.length; i++) {
    const raw = rows[i];
    const text = rowText(raw);
    identity.add(text);
    // Today's `/v2/search` answers fedora-messaging's `{topic, body, headers, id}`; legacy `/raw` fedmsg envelopes.
    const r = decodeEnvelope(isSerializedMessage(raw) ? serializedToEnvelope(raw) : raw, '', limits);
    // An archived message without its time would be dated now, each time it is read: counted in
    // the wrong bucket, and without a msg_id too its id (which digests the time) differed on
    // every backfill, so each one counted it again.
    if (r.ok && !r.filledTimestamp && !overBytes(text, maxMessageBytes)) envelopes.push(r.envelope);
    else invalid++;
  }
  return {
    pages: b.pages,
    total: typeof b.total === 'number' ? b.total : envelopes.length,
    announcedTotal: typeof b.total === 'number' && Number.isFinite(b.total) ? b.total : null,
    envelopes,
    invalid,
    rows: rows.length,
    pageSize: usedPageSize(b.arguments, rowsPerPage),
    identity: identity.digest(),
  };
}

/**
 * A digest of every row's JSON, valid or not: the same on two consecutive pages, the history
 * sent one page twice (it ignores `page=`). It was the first and last messages, and nothing
 * when either was invalid: such a page, sent for every page asked, was read 100,000 times.
 * Not the whole answer: its `arguments` may echo the page asked. A row too deep to write out
 * is known only by its place; a page of nothing else gives '' (never compared), as an empty one.
 */
class PageIdentity {
  private readonly hash = createHash('sha256');
  private known = false;

  add(text: string | null): void {
    // Each row's length first, so that no two splits of the same text digest alike.
    if (text === null) this.hash.update('-;');
    else {
      this.hash.update(`${text.length};`).update(text);
      this.known = true;
    }
  }

  digest(): string {
    return this.known ? this.hash.digest('base64') : '';
  }
}

/** A history that caps rows_per_page lower (and says so in `arguments`) pages by its own size. */
function usedPageSize(args: unknown, asked: number): number {
  const used = (args as { rows_per_page?: unknown } | null | undefined)?.rows_per_page;
  return typeof used === 'number' && Number.isInteger(used) && used >= 1 && used < asked ? used : asked;
}
