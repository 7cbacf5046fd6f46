import { isSerializedMessage, serializedToEnvelope } from './amqp-message.js';
import { decodeEnvelope } from './decode-frames.js';
import type { Envelope } from './envelope.js';
import {
  DEFAULT_MAX_CLOCK_SKEW,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_KEYS,
  type EnvelopeLimits,
} from './envelope-limits.js';

export interface BackfillWindow {
  /** Epoch seconds, inclusive. */
  readonly start: number;
  readonly end: number;
}

export interface BackfillOptions {
  /** datagrepper's `/raw` or `/v2/search` URL (each row's form is detected). */
  readonly url: string;
  readonly rowsPerPage?: number;
  /** Back-off between retries of one page: doubles from `initialDelayMs` up to `maxDelayMs`. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  readonly sleep?: (ms: number) => Promise<void>;
  readonly nowSeconds: () => number;
  /**
   * The bus's bounds, applied to archived messages alike; default: the built-in defaults.
   * `maxFrameBytes` also sizes the most one page's body may take (pageByteBound).
   */
  readonly limits?: (Omit<EnvelopeLimits, 'nowSeconds'> & { readonly maxFrameBytes?: number }) | undefined;
  /** Told about every failed attempt (the page is retried, never skipped). */
  readonly onRetry?: (info: { page: number; attempt: number; delayMs: number; error: string }) => void;
  /** Told before every HTTP request (so callers can count what a backfill costs the history). */
  readonly onRequest?: () => void;
  readonly signal?: AbortSignal;
  /** One request that takes longer is abandoned and retried (a hung history must not hang the backfill). */
  readonly requestTimeoutMs?: number;
  /** Default MAX_BACKFILL_PAGES. */
  readonly maxPages?: number;
  /** Told when the window's total shrank between two pages, and paging goes back to `page` to read what moved. */
  readonly onStepBack?: (info: { page: number; shrunk: number }) => void;
  /** Told when paging ends other than at a short last page as announced: messages may be missing. */
  readonly onCutShort?: (info: { page: number; reason: string }) => void;
}

export interface BackfillPage {
  readonly page: number;
  readonly pages: number;
  readonly total: number;
  readonly envelopes: readonly Envelope[];
  /** Messages in the page that were not valid envelopes (counted, not fed). */
  readonly invalid: number;
}

/** Most pages one window is read for (10^7 messages at 100 a page); a history whose paging never ends stops there. */
export const MAX_BACKFILL_PAGES = 100_000;

/**
 * Reads every page of a time window from datagrepper, oldest first. A page that fails
 * (network, 5xx, malformed JSON) is retried with back-off until it succeeds or the signal
 * aborts: the original skipped failed pages and silently lost their messages.
 *
 * Paging ends at the first page that is not full, as datagrepper pages: the `pages` an answer
 * announces is not trusted either way (too low, a full last page would end the window early;
 * too high or growing, an empty page was asked for again and again, 1,200 a second).
 * A page that repeats the one before (a history that ignores `page=`) and the
 * MAX_BACKFILL_PAGES-th page end it too; onCutShort names each such end.
 */
export async function* backfillPages(window: BackfillWindow, options: BackfillOptions): AsyncGenerator<BackfillPage> {
  const rowsPerPage = options.rowsPerPage ?? 100;
  const maxPages = options.maxPages ?? MAX_BACKFILL_PAGES;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  const maxBytes = pageByteBound(rowsPerPage, options.limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  let previous = '';
  /** The window's size as the previous answer counted it, when it said. */
  let previousTotal: number | null = null;
  let page = 1;
  for (let read = 1; ; read++, page++) {
    if (read > maxPages) {
      options.onCutShort?.({ page, reason: `stopped after ${maxPages} pages, the most one window is read for` });
      return;
    }
    const url = new URL(options.url);
    url.searchParams.set('start', String(window.start));
    url.searchParams.set('end', String(window.end));
    url.searchParams.set('order', 'asc');
    url.searchParams.set('rows_per_page', String(rowsPerPage));
    url.searchParams.set('page', String(page));
    let delay = options.initialDelayMs ?? 500;
    let parsed: ParsedPage;
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      try {
        options.onRequest?.();
        const body = await fetchJson(url, options.signal, options.requestTimeoutMs ?? 30_000, maxBytes, () =>
          options.nowSeconds(),
        );
        parsed = parsePage(
          body,
          rowsPerPage,
          {
            maxDepth: DEFAULT_MAX_DEPTH,
            maxKeys: DEFAULT_MAX_KEYS,
            maxClockSkew: DEFAULT_MAX_CLOCK_SKEW,
            ...options.limits,
            nowSeconds: options.nowSeconds,
          },
          options.limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES,
        );
        break;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        // A history that says when to come back (429, 503) is not asked sooner, nor waited for past the bound.
        const asked = err instanceof HistoryAnswerError ? err.retryAfterMs : null;
        const wait = asked === null ? delay : Math.max(delay, Math.min(asked, MAX_RETRY_AFTER_MS));
        options.onRetry?.({ page, attempt, delayMs: wait, error: (err as Error).message });
        await sleep(wait);
        delay = Math.min(delay * 2, options.maxDelayMs ?? 30_000);
      }
    }
    const announced = `${parsed.pages} page${parsed.pages === 1 ? '' : 's'} announced`;
    const shrunk = previousTotal !== null && parsed.announcedTotal !== null ? previousTotal - parsed.announcedTotal : 0;
    previousTotal = parsed.announcedTotal;
    if (parsed.rows === 0 && shrunk <= 0) {
      if (page <= parsed.pages) options.onCutShort?.({ page, reason: `page ${page} was empty (${announced})` });
      return;
    }
    if (page > 1 && parsed.identity !== '' && parsed.identity === previous) {
      options.onCutShort?.({ page, reason: `page ${page} repeats page ${page - 1}: the history ignores page=` });
      return;
    }
    previous = parsed.identity;
    const last = parsed.rows < parsed.pageSize;
    const pages = last ? page : Math.max(parsed.pages, page + 1);
    if (parsed.rows > 0)
      yield { page, pages, total: parsed.total, envelopes: parsed.envelopes, invalid: parsed.invalid };
    if (shrunk > 0) {
      // The window lost `shrunk` messages since the page before: a statscache peer trims its
      // journal's oldest, behind this read, so every later message moved that many places
      // forward and this page started past as many never read (502 of 3,134 skipped, without
      // a word, by a replica filling from a peer trimming meanwhile). Step back over them, from
      // a short or empty last page too: what is read twice is a duplicate the journal drops.
      page = Math.max(0, page - Math.ceil(shrunk / parsed.pageSize) - 1);
      options.onStepBack?.({ page: page + 1, shrunk });
      continue;
    }
    if (last) {
      if (page < parsed.pages)
        options.onCutShort?.({
          page,
          reason: `page ${page} held ${parsed.rows} of ${parsed.pageSize} rows, so it is the last (${announced})`,
        });
      return;
    }
  }
}

/** Longest string V8 can make: a body past it could not be decoded at all. */
const MAX_STRING_LENGTH = 0x1fffffe8;
/** What a failed answer's body is read for: the start of its error text. */
const ERROR_TEXT_BYTES = 4096;

/**
 * Most bytes one page's body may take: `rows_per_page` messages of up to `--max-frame-bytes`
 * each, twice over for JSON escaping (`\u00e9` for `é`), plus 1 MiB for the page's own fields.
 * A history that sends more (a body that never ends, a lying Content-Length) is cut off there
 * and the page retried: read whole, it grew the heap by 5 GB in 30 s.
 */
export function pageByteBound(rowsPerPage: number, maxFrameBytes: number): number {
  return Math.min(rowsPerPage * 2 * maxFrameBytes + 1024 * 1024, MAX_STRING_LENGTH);
}

async function fetchJson(
  url: URL,
  signal: AbortSignal | undefined,
  timeoutMs: number,
  maxBytes: number,
  nowSeconds: () => number,
): Promise<unknown> {
  const timeout = AbortSignal.timeout(timeoutMs);
  // Transport failures named with their cause: undici's own message is a bare 'fetch failed'
  // (refused, unknown host, a redirect loop or to file:), which told an operator nothing.
  const transport = <T>(step: Promise<T>): Promise<T> =>
    step.catch((err: unknown) => {
      throw timeout.aborted
        ? new Error(`GET ${url} gave no complete answer within ${timeoutMs} ms`)
        : new Error(`GET ${url} failed: ${causeChain(err)}`);
    });
  const res = await transport(
    fetch(url, {
      headers: { accept: 'application/json' },
      signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
    }),
  );
  if (!res.ok) {
    const text = (await transport(readUpTo(res, ERROR_TEXT_BYTES))).text();
    const retryAfter = res.headers.get('retry-after');
    throw new HistoryAnswerError(
      `GET ${url} answered ${res.status}${retryAfter === null ? '' : ` (Retry-After: ${retryAfter.slice(0, 40)})`}: ${text.slice(0, 200)}`,
      retryAfterMs(retryAfter, nowSeconds() * 1000),
    );
  }
  const announced = Number(res.headers.get('content-length') ?? Number.NaN);
  if (announced > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`GET ${url} announced a ${announced}-byte page, more than the ${maxBytes} bytes a page may take`);
  }
  const body = await transport(readUpTo(res, maxBytes));
  if (body.over) throw new Error(`GET ${url} sent a page of more than the ${maxBytes} bytes a page may take`);
  const text = body.text();
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`GET ${url} answered non-JSON: ${text.slice(0, 200)}`);
  }
}

/** Longest a history's Retry-After is waited for before the page is asked again. */
export const MAX_RETRY_AFTER_MS = 300_000;

/** An error answer, with the wait its Retry-After asked for (null: none, or unreadable). */
class HistoryAnswerError extends Error {
  constructor(
    message: string,
    readonly retryAfterMs: number | null,
  ) {
    super(message);
  }
}

/**
 * Retry-After as milliseconds from now: whole seconds, or an HTTP date (past: 0). Anything else
 * (negative, fractional, a date that does not parse) is no answer: the back-off applies.
 */
export function retryAfterMs(value: string | null, nowMs: number): number | null {
  if (value === null) return null;
  const v = value.trim();
  if (/^\d{1,12}$/.test(v)) return Number(v) * 1000;
  const date = /[a-z]/i.test(v) ? Date.parse(v) : Number.NaN;
  return Number.isFinite(date) ? Math.max(0, date - nowMs) : null;
}

/** An error's message with its causes ('fetch failed: connect ECONNREFUSED 127.0.0.1:1'), at most four deep. */
export function causeChain(err: unknown): string {
  const parts: string[] = [];
  for (let e: unknown = err; e instanceof Error && parts.length < 4; e = e.cause) parts.push(e.message);
  return parts.length > 0 ? parts.join(': ') : String(err);
}

/**
 * The body read no further than `maxBytes` (then the transfer is cancelled and `over` set); its
 * text is decoded only when asked for, not for a page refused as too large.
 */
async function readUpTo(res: Response, maxBytes: number): Promise<{ text: () => string; over: boolean }> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  let over = false;
  if (res.body !== null) {
    // Leaving the loop early cancels the stream: the rest is never read.
    for await (const chunk of res.body) {
      if (total + chunk.byteLength > maxBytes) {
        chunks.push(chunk.subarray(0, maxBytes - total));
        over = true;
        break;
      }
      chunks.push(chunk);
      total += chunk.byteLength;
    }
  }
  return { text: () => Buffer.concat(chunks).toString('utf8'), over };
}

interface ParsedPage {
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
 * Whether one archived message is over `max` bytes as JSON: measured on a message that
 * passed the depth and size checks. Only the page was bounded: a message the bus refuses for
 * --max-frame-bytes (a 900 KB msg_id, a 50 MB body) was taken in from the history.
 */
function overBytes(raw: unknown, max: number): boolean {
  const text = JSON.stringify(raw);
  // UTF-8 is at most 3 bytes per UTF-16 unit: only a long text needs counting exactly.
  return text.length > max || (text.length * 3 > max && Buffer.byteLength(text) > max);
}

function parsePage(body: unknown, rowsPerPage: number, limits: EnvelopeLimits, maxMessageBytes: number): ParsedPage {
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
