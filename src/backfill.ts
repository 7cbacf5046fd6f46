/**
 * Backfill: every page of a time window read from the history, oldest first. Its parts:
 * backfill-fetch.ts (one request, bounded, with Retry-After), backfill-page.ts (an answer read
 * into envelopes).
 */
import { fetchJson, HistoryAnswerError, MAX_RETRY_AFTER_MS, pageByteBound } from './backfill-fetch.js';
import { type ParsedPage, parsePage } from './backfill-page.js';
import type { Envelope } from './envelope.js';
import {
  DEFAULT_MAX_CLOCK_SKEW,
  DEFAULT_MAX_DEPTH,
  DEFAULT_MAX_FRAME_BYTES,
  DEFAULT_MAX_KEYS,
  type EnvelopeLimits,
} from './envelope-limits.js';

export { causeChain, MAX_RETRY_AFTER_MS, pageByteBound, retryAfterMs } from './backfill-fetch.js';

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
  /** The back-off's wait (default: a timer); cut short when `signal` aborts. */
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
 * A page that repeats one read before (a history that ignores `page=`) and the
 * MAX_BACKFILL_PAGES-th page end it too; onCutShort names each such end.
 */
export async function* backfillPages(window: BackfillWindow, options: BackfillOptions): AsyncGenerator<BackfillPage> {
  const rowsPerPage = options.rowsPerPage ?? 100;
  const maxPages = options.maxPages ?? MAX_BACKFILL_PAGES;
  const sleep = backOff(options.sleep, options.signal);
  const maxBytes = pageByteBound(rowsPerPage, options.limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
  /**
   * Each page's identity since paging last stepped back, and the page it was: a page equal to
   * any of them was read before. Not only the one just before: a history that ignores page=
   * behind a load balancer answers each backend's first page in turn (A, B, A, B…), read until
   * the maxPages bound. A step back re-reads pages on purpose (what moved): it starts afresh.
   */
  const seen = new Map<string, number>();
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
    const before = parsed.identity === '' ? undefined : seen.get(parsed.identity);
    if (before !== undefined) {
      options.onCutShort?.({ page, reason: `page ${page} repeats page ${before}: the history ignores page=` });
      return;
    }
    if (parsed.identity !== '') seen.set(parsed.identity, page);
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
      seen.clear();
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

/**
 * The wait before a page is asked again, ended at once when `signal` aborts (the next attempt
 * then throws). It was not: a stop met a backfill backing off for up to 30 s (a Retry-After,
 * 300 s) and waited it out, past --stop-timeout (20 s): no final snapshot, exit 1.
 */
function backOff(sleep: ((ms: number) => Promise<void>) | undefined, signal: AbortSignal | undefined) {
  return (ms: number): Promise<void> => {
    if (signal?.aborted) return Promise.resolve();
    return new Promise<void>((resolve) => {
      // The default's timer is cleared on the abort: left, it kept a closed service's process alive.
      const timer = sleep ? undefined : setTimeout(done, ms);
      function done(): void {
        clearTimeout(timer);
        signal?.removeEventListener('abort', done);
        resolve();
      }
      signal?.addEventListener('abort', done, { once: true });
      sleep?.(ms).then(done, done);
    });
  };
}
