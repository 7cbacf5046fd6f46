import { callbackParam } from './callback-param.js';
import type * as z from 'zod';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { ViewHungBefore } from '../../actors/view-cache.js';
import { PageOutOfRange } from '../../actors/view-query.js';
import { conditional } from './conditional.js';
import { encode } from './encoded-cache.js';
import { CONTENT_TYPES, negotiate, type Format } from './negotiate.js';
import { BadParameter, firstValues, parseViewQuery } from './query-params.js';
import { csvLines, render } from './render.js';
import { defaultStop as defaultStopOf, viewSpecOf } from './ws-view-spec.js';
import { SSE_HEADERS } from './sse-session.js';
import { badParameter, CORS_HEADERS, error, type HttpRequest, type HttpResponse, quoted } from './responses.js';
import type { RouteContext } from './route-context.js';
import { thrownMessage } from './thrown-message.js';

export { answerMemo, MEMO_MAX_BYTES, type RouteContext } from './route-context.js';

type Paging = { readonly page: number; readonly pages: number };

/** `/api/`: every ident (a bare array, as old clients expect). */
export function identList(req: HttpRequest, ctx: RouteContext): HttpResponse {
  const picked = pick(req, true);
  if ('status' in picked) return picked;
  const { format, callback } = picked;
  const entry = ctx.cache.getOrMake(JSON.stringify(['idents', format, callback]), () => {
    if (format === 'csv') return encode(csvLines(ctx.host.idents), null);
    return encode(render(format, ctx.host.idents, { callback }).body, null);
  });
  return conditional(req, entry, { ...CORS_HEADERS, 'Content-Type': contentType(format) }, ctx.cache);
}

/** `/api/<ident>/layout`: the plugin's layout object; 404 when it declares none. */
export function layout(req: HttpRequest, runtime: PluginRuntime, ctx: RouteContext): HttpResponse {
  const value = runtime.plugin.definition.layout;
  if (value === undefined) return error(404, 'no_layout', `plugin "${runtime.ident}" has no layout`, CORS_HEADERS);
  const picked = pick(req, false);
  if ('status' in picked) return picked;
  const { format, callback } = picked;
  const entry = ctx.cache.getOrMake(JSON.stringify(['layout', runtime.ident, format, callback]), () =>
    encode(render(format, value, { callback }).body, null),
  );
  return conditional(req, entry, { ...CORS_HEADERS, 'Content-Type': contentType(format) }, ctx.cache);
}

/**
 * `HEAD /api/<ident>/stream`: what the stream's GET answers before its first event: a 400
 * naming a bad parameter (validated as the stream validates them), else the event-stream head.
 * No stream is opened, so no connection or subscription bound applies.
 */
export function streamHead(req: HttpRequest, runtime: PluginRuntime, ctx: RouteContext): HttpResponse {
  const values = firstValues(new URLSearchParams(req.query));
  try {
    viewSpecOf(runtime, ctx.schemas.get(runtime.ident) as z.ZodObject, values, ctx.maxPageDepth);
  } catch (err) {
    if (err instanceof BadParameter) return badParameter(err.parameter, err.message, CORS_HEADERS);
    throw err;
  }
  return { status: 200, headers: SSE_HEADERS, body: '' };
}

/**
 * Longest request (path, query and the negotiation headers, in UTF-16 units) whose answer is
 * memoised. The memo is bounded by entries, and an answer keeps its key and headers (its Link
 * header repeats the query twice): 2,048 requests of 100 KB, each made new by a parameter no
 * route reads (`_=…`), held over a gigabyte. Real dashboard queries are under 300.
 */
export const MEMO_REQUEST_MAX = 2048;

/** `/api/<ident>`: one page of rows, with GitHub-style paging headers. */
export function rows(req: HttpRequest, runtime: PluginRuntime, ctx: RouteContext): HttpResponse {
  const defaultStop = defaultStopOf(runtime, ctx.nowSeconds());
  if (ctx.answers === undefined) return renderRows(req, runtime, ctx, defaultStop);
  // Everything the answer depends on: the plugin's state version, "now", the request as sent.
  const parts = [
    runtime.position,
    defaultStop,
    req.path,
    req.query,
    req.header('accept'),
    req.header('accept-encoding'),
    req.header('if-none-match'),
  ];
  // A request this long is not a dashboard polling a view: answered, never kept (see MEMO_REQUEST_MAX).
  let size = 0;
  for (let i = 2; i < parts.length; i++) size += (parts[i] as string).length;
  if (size > MEMO_REQUEST_MAX) return renderRows(req, runtime, ctx, defaultStop);
  const answers = ctx.answers;
  ctx.memoised = { runtime, position: runtime.position, stop: defaultStop };
  const recent = answers.recent(runtime, parts);
  if (recent !== undefined) {
    ctx.cache.stats.hits++;
    return recent;
  }
  const key = parts.join('\u0000');
  const known = answers.get(key);
  if (known !== undefined) {
    ctx.cache.stats.hits++;
    return answers.remember(runtime, parts, known);
  }
  const made = renderRows(req, runtime, ctx, defaultStop);
  // A 500 is not kept, nor offered as a hot answer: each view_failed is a failure met, counted
  // toward the plugin's log line (view-failure-log.ts), and a kept one was served again uncounted
  // (the view cache remembers the failure, so making it again does not call the view).
  if (made.status === 500) {
    ctx.memoised = null;
    return made;
  }
  return answers.remember(runtime, parts, answers.set(key, made));
}

function renderRows(req: HttpRequest, runtime: PluginRuntime, ctx: RouteContext, defaultStop: number): HttpResponse {
  const values = firstValues(new URLSearchParams(req.query));
  let query: ReturnType<typeof parseViewQuery>;
  try {
    query = parseViewQuery(values, ctx.schemas.get(runtime.ident) as z.ZodObject, defaultStop, ctx.maxPageDepth);
  } catch (err) {
    if (err instanceof BadParameter) return badParameter(err.parameter, err.message, CORS_HEADERS);
    throw err;
  }
  const format = negotiate(req.header('accept'), query.callback !== undefined);
  if (format === null) return notAcceptable(req, ['application/csv', 'text/csv']);

  // With the default stop and no row past it, the answer is the same whatever "now" is: one key serves it.
  const newest = runtime.newestRow;
  let custom: boolean;
  try {
    custom = runtime.customView(query.params);
  } catch (err) {
    // Its viewIsRows hung on these parameters in an earlier run (or the whole view is refused).
    if (err instanceof ViewHungBefore) return error(500, 'view_hung', err.message, CORS_HEADERS);
    return viewFailed(runtime, ctx, err);
  }
  const stopKey =
    values['stop'] === undefined && !custom && (newest === undefined || newest <= defaultStop) ? 'now' : query.stop;
  const params = Object.entries(query.params).sort(([a], [b]) => (a < b ? -1 : 1));
  const key = JSON.stringify([
    'rows',
    runtime.ident,
    runtime.position,
    format,
    query.callback,
    query.order,
    query.limit,
    query.start,
    stopKey,
    query.page,
    query.rowsPerPage,
    params,
  ]);

  let entry: ReturnType<typeof ctx.cache.getOrMake<Paging>>;
  try {
    entry = ctx.cache.getOrMake<Paging>(key, () => {
      const page = runtime.query(query);
      const { body } = render(format, page.rows, {
        callback: query.callback,
        columns: runtime.plugin.definition.columns,
      });
      return encode(body, { page: page.page, pages: page.pages });
    });
  } catch (err) {
    if (err instanceof PageOutOfRange)
      return badParameter(
        'page',
        `parameter "page" ${quoted(String(err.page))}: past the last page (${err.pages})`,
        CORS_HEADERS,
      );
    // The view hung on these parameters in an earlier run: not called again, and nothing to retry.
    if (err instanceof ViewHungBefore) return error(500, 'view_hung', err.message, CORS_HEADERS);
    // Only the plugin's view (or its rows) can fail the custom path; the stored rows' path failing is ours.
    if (custom) return viewFailed(runtime, ctx, err);
    throw err;
  }
  const { page, pages } = entry.meta;
  const headers: Record<string, string> = {
    ...CORS_HEADERS,
    'Content-Type': contentType(format),
    'X-Link-Number': String(page),
    'X-Link-Count': String(pages),
  };
  const link = linkHeader(req, page, pages);
  if (link !== '') headers['Link'] = link;
  return conditional(req, entry, headers, ctx.cache);
}

/**
 * The plugin's view (or viewIsRows) failed for these parameters: what a live view's subscriber
 * is told (`view_failed`), not a bare `internal` with the plugin's stack logged as the server's
 * own error on every request (statscache_plugin_view_failures_total counts it, once per state).
 */
function viewFailed(runtime: PluginRuntime, ctx: RouteContext, err: unknown): HttpResponse {
  ctx.onViewFailed?.(runtime.ident, err, 'http');
  return error(500, 'view_failed', `the view of ${runtime.ident} failed: ${thrownMessage(err)}`, CORS_HEADERS);
}

/** GitHub-style paging links that keep every query parameter but `page` (the original dropped them). */
export function linkHeader(req: HttpRequest, page: number, pages: number): string {
  const url = (p: number) => {
    const q = new URLSearchParams(req.query);
    q.set('page', String(p));
    return `<${req.path}?${q.toString()}>`;
  };
  const links: string[] = [];
  if (page > 1) links.push(`${url(page - 1)}; rel="previous"`);
  if (page < pages) links.push(`${url(page + 1)}; rel="next"`);
  return links.join(', ');
}

/** The negotiated format and validated callback, or the 400/406 to answer instead. */
function pick(req: HttpRequest, csv: boolean): { format: Format; callback: string | undefined } | HttpResponse {
  const callback = callbackParam(req);
  if (typeof callback === 'object') return callback;
  const format = negotiate(req.header('accept'), callback !== undefined);
  if (format === null || (format === 'csv' && !csv))
    return notAcceptable(req, csv ? ['application/csv', 'text/csv'] : []);
  return { format, callback };
}

function contentType(format: Format): string {
  return CONTENT_TYPES[format];
}

function notAcceptable(req: HttpRequest, extra: readonly string[]): HttpResponse {
  const offered = [
    'application/json',
    'text/json',
    'application/javascript',
    'text/javascript (with callback)',
    ...extra,
  ].join(', ');
  return error(
    406,
    'not_acceptable',
    `cannot answer in ${quoted(req.header('accept'))}; offered: ${offered}`,
    CORS_HEADERS,
  );
}
