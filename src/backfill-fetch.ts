/**
 * One request to the history (datagrepper, or a peer's /raw): the body read within its bound,
 * failures named with their cause, and the wait a Retry-After asks for.
 */

/** Longest string V8 can make: a body past it could not be decoded at all. */
const MAX_STRING_LENGTH = 0x1fffffe8;
/** What a failed answer's body is read for: the start of its error text. */
export const ERROR_TEXT_BYTES = 4096;

/**
 * Most bytes one page's body may take: `rows_per_page` messages of up to `--max-frame-bytes`
 * each, twice over for JSON escaping (`\u00e9` for `é`), plus 1 MiB for the page's own fields.
 * A history that sends more (a body that never ends, a lying Content-Length) is cut off there
 * and the page retried: read whole, it grew the heap by 5 GB in 30 s.
 */
export function pageByteBound(rowsPerPage: number, maxFrameBytes: number): number {
  return Math.min(rowsPerPage * 2 * maxFrameBytes + 1024 * 1024, MAX_STRING_LENGTH);
}

export async function fetchJson(
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
export class HistoryAnswerError extends Error {
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
export async function readUpTo(res: Response, maxBytes: number): Promise<{ text: () => string; over: boolean }> {
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
