import { isSerializedMessage, serializedToEnvelope } from './amqp-message.js';
import { decodeEnvelope } from './decode-frames.js';
import type { Envelope } from './envelope.js';
import { DEFAULT_MAX_CLOCK_SKEW, DEFAULT_MAX_DEPTH, DEFAULT_MAX_KEYS, type EnvelopeLimits } from './envelope-limits.js';

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
}

export interface BackfillPage {
  readonly page: number;
  readonly pages: number;
  readonly total: number;
  readonly envelopes: readonly Envelope[];
  /** Messages in the page that were not valid envelopes (counted, not fed). */
  readonly invalid: number;
}

/**
 * Reads every page of a time window from datagrepper, oldest first. A page that fails
 * (network, 5xx, malformed JSON) is retried with back-off until it succeeds or the signal
 * aborts: the original skipped failed pages and silently lost their messages.
 */
export async function* backfillPages(window: BackfillWindow, options: BackfillOptions): AsyncGenerator<BackfillPage> {
  const rowsPerPage = options.rowsPerPage ?? 100;
  const sleep = options.sleep ?? ((ms: number) => new Promise<void>((r) => setTimeout(r, ms)));
  let pages = 1;
  for (let page = 1; page <= pages; page++) {
    const url = new URL(options.url);
    url.searchParams.set('start', String(window.start));
    url.searchParams.set('end', String(window.end));
    url.searchParams.set('order', 'asc');
    url.searchParams.set('rows_per_page', String(rowsPerPage));
    url.searchParams.set('page', String(page));
    let delay = options.initialDelayMs ?? 500;
    for (let attempt = 1; ; attempt++) {
      options.signal?.throwIfAborted();
      try {
        options.onRequest?.();
        const maxBytes = pageByteBound(rowsPerPage, options.limits?.maxFrameBytes ?? DEFAULT_MAX_FRAME_BYTES);
        const body = await fetchJson(url, options.signal, options.requestTimeoutMs ?? 30_000, maxBytes);
        const parsed = parsePage(body, rowsPerPage, {
          maxDepth: DEFAULT_MAX_DEPTH,
          maxKeys: DEFAULT_MAX_KEYS,
          maxClockSkew: DEFAULT_MAX_CLOCK_SKEW,
          ...options.limits,
          nowSeconds: options.nowSeconds,
        });
        pages = Math.max(parsed.pages, 1);
        yield { page, pages, total: parsed.total, envelopes: parsed.envelopes, invalid: parsed.invalid };
        break;
      } catch (err) {
        if (options.signal?.aborted) throw err;
        options.onRetry?.({ page, attempt, delayMs: delay, error: (err as Error).message });
        await sleep(delay);
        delay = Math.min(delay * 2, options.maxDelayMs ?? 30_000);
      }
    }
  }
}

/** The bus's default --max-frame-bytes (settings.ts), for callers that pass no limits. */
const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;
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
): Promise<unknown> {
  const timeout = AbortSignal.timeout(timeoutMs);
  const res = await fetch(url, {
    headers: { accept: 'application/json' },
    signal: signal ? AbortSignal.any([signal, timeout]) : timeout,
  });
  if (!res.ok) {
    const { text } = await readUpTo(res, ERROR_TEXT_BYTES);
    throw new Error(`GET ${url} answered ${res.status}: ${text.slice(0, 200)}`);
  }
  const announced = Number(res.headers.get('content-length') ?? Number.NaN);
  if (announced > maxBytes) {
    await res.body?.cancel().catch(() => undefined);
    throw new Error(`GET ${url} announced a ${announced}-byte page, more than the ${maxBytes} bytes a page may take`);
  }
  const { text, over } = await readUpTo(res, maxBytes);
  if (over) throw new Error(`GET ${url} sent a page of more than the ${maxBytes} bytes a page may take`);
  try {
    return JSON.parse(text);
  } catch {
    throw new Error(`GET ${url} answered non-JSON: ${text.slice(0, 200)}`);
  }
}

/** The body as text, read no further than `maxBytes` (then the transfer is cancelled and `over` set). */
async function readUpTo(res: Response, maxBytes: number): Promise<{ text: string; over: boolean }> {
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
  return { text: Buffer.concat(chunks).toString('utf8'), over };
}

function parsePage(
  body: unknown,
  rowsPerPage: number,
  limits: EnvelopeLimits,
): { pages: number; total: number; envelopes: Envelope[]; invalid: number } {
  const b = body as { raw_messages?: unknown; pages?: unknown; total?: unknown } | null;
  if (!b || !Array.isArray(b.raw_messages) || typeof b.pages !== 'number')
    throw new Error('answer lacks raw_messages/pages');
  // More rows than asked for is not a page of this window's paging (nor bounded by it).
  if (b.raw_messages.length > rowsPerPage)
    throw new Error(
      `answer holds ${b.raw_messages.length} messages, more than the rows_per_page=${rowsPerPage} asked for`,
    );
  const envelopes: Envelope[] = [];
  let invalid = 0;
  for (const raw of b.raw_messages) {
    // Today's `/v2/search` answers fedora-messaging's `{topic, body, headers, id}`; legacy `/raw` fedmsg envelopes.
    const r = decodeEnvelope(isSerializedMessage(raw) ? serializedToEnvelope(raw) : raw, '', limits);
    if (r.ok) envelopes.push(r.envelope);
    else invalid++;
  }
  return { pages: b.pages, total: typeof b.total === 'number' ? b.total : envelopes.length, envelopes, invalid };
}
