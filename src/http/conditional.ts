import { GZIP_MIN_BYTES, type EncodedCache, type Encoded } from './encoded-cache.js';
import type { HttpRequest, HttpResponse } from './responses.js';

/** Answers vary by format and by compression; caches in between must key on both. */
export const VARY = 'Accept, Accept-Encoding';

/**
 * The final answer for an encoded body: `304` when the client's `If-None-Match` already names
 * it, gzip bytes when the client accepts them, otherwise the identity bytes. HEAD gets the same
 * headers (the adapter drops the body).
 */
export function conditional(
  req: HttpRequest,
  entry: Encoded,
  headers: Record<string, string>,
  cache: EncodedCache,
): HttpResponse {
  const gzip = entry.body.length >= GZIP_MIN_BYTES && acceptsGzip(req.header('accept-encoding'));
  // The gzip bytes are another representation, so they get their own strong validator.
  const etag = gzip ? `${entry.etag.slice(0, -1)}-gz"` : entry.etag;
  const out: Record<string, string> = { ...headers, ETag: etag, Vary: VARY };
  if (out['Cache-Control'] === undefined) out['Cache-Control'] = 'no-cache';
  if (ifNoneMatchHits(req.header('if-none-match'), entry.etag)) {
    delete out['Content-Type'];
    return { status: 304, headers: out, body: '' };
  }
  if (!gzip) return { status: 200, headers: out, body: entry.body };
  return { status: 200, headers: { ...out, 'Content-Encoding': 'gzip' }, body: cache.gzipOf(entry) };
}

/**
 * RFC 9110 weak comparison, as If-None-Match requires: `W/` is ignored, `*` matches any
 * current answer, and either encoding's tag of the same bytes matches (a proxy may have
 * decompressed or compressed what it cached).
 */
export function ifNoneMatchHits(header: string, etag: string): boolean {
  const value = header.trim();
  if (value === '') return false;
  if (value === '*') return true;
  const base = etag.slice(1, -1);
  for (const raw of value.split(',')) {
    let tag = raw.trim();
    if (tag.startsWith('W/')) tag = tag.slice(2);
    if (tag.length < 2 || !tag.startsWith('"') || !tag.endsWith('"')) continue;
    const opaque = tag.slice(1, -1);
    if (opaque === base || opaque === `${base}-gz`) return true;
  }
  return false;
}

/** Whether an Accept-Encoding header allows gzip (explicitly or through `*`), honouring `q=0`. */
export function acceptsGzip(header: string): boolean {
  let gzip: number | undefined;
  let star: number | undefined;
  for (const part of header.split(',')) {
    const [coding = '', ...params] = part.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    const weight = q === undefined ? 1 : Number(q.slice(2));
    const w = Number.isFinite(weight) ? weight : 0;
    if (coding === 'gzip' || coding === 'x-gzip') gzip = w;
    else if (coding === '*') star = w;
  }
  return (gzip ?? star ?? 0) > 0;
}
