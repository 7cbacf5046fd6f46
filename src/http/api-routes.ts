import type * as z from 'zod';
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { PageOutOfRange, queryView } from '../../actors/view-query.js';
import { negotiate } from './negotiate.js';
import { BadParameter, CALLBACK_PATTERN, CALLBACK_RULE, firstValues, parseViewQuery, pluginParamsSchema } from './query-params.js';
import { csvLines, render } from './render.js';
import { CORS_HEADERS, error, json, type HttpRequest, type HttpResponse } from './responses.js';

export interface ApiDeps {
  readonly host: PluginHost;
  readonly nowSeconds: () => number;
  /** Why the service is not ready yet, or null once restored and consuming. */
  readonly notReadyReason: () => string | null;
  readonly health: () => Readonly<Record<string, unknown>>;
}

export type HttpHandler = (req: HttpRequest) => HttpResponse;

const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';

/** Builds the request handler once; per-plugin schemas are compiled here, not per request. */
export function createHttpHandler(deps: ApiDeps): HttpHandler {
  const schemas = new Map<string, z.ZodObject>(deps.host.runtimes.map((r) => [r.ident, pluginParamsSchema(r.plugin)]));

  return (req) => {
    const apiRoute = req.path === '/api' || req.path.startsWith('/api/');
    if (req.method === 'OPTIONS') {
      return {
        status: 204,
        headers: { ...CORS_HEADERS, 'Access-Control-Allow-Methods': ALLOWED_METHODS, 'Access-Control-Allow-Headers': 'Accept, If-None-Match, Content-Type', 'Access-Control-Max-Age': '86400' },
        body: '',
      };
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return error(405, 'method_not_allowed', `method ${req.method} is not allowed; use GET`, { Allow: ALLOWED_METHODS, ...(apiRoute ? CORS_HEADERS : {}) });
    }
    if (req.path === '/healthz') return json(200, { status: 'ok', ...deps.health() });
    if (req.path === '/readyz') {
      const reason = deps.notReadyReason();
      return reason === null ? json(200, { status: 'ready' }) : json(503, { status: 'not_ready', reason });
    }
    if (!apiRoute) return error(404, 'not_found', `no route ${req.path}`);
    const parts = req.path.split('/').filter((p) => p !== '');
    if (parts.length === 1) return identList(req, deps.host);
    const runtime = deps.host.get(decodeURIComponent(parts[1] ?? ''));
    if (!runtime) return error(404, 'unknown_ident', `no plugin with ident ${JSON.stringify(parts[1])}; GET /api/ lists them`, CORS_HEADERS);
    if (parts.length === 2) return rows(req, runtime, schemas.get(runtime.ident) as z.ZodObject, deps.nowSeconds());
    if (parts.length === 3 && parts[2] === 'layout') return layout(req, runtime);
    return error(404, 'not_found', `no route ${req.path}`, CORS_HEADERS);
  };
}

function identList(req: HttpRequest, host: PluginHost): HttpResponse {
  const callback = callbackOf(req);
  if (callback instanceof BadParameter) return error(400, 'bad_parameter', callback.message, CORS_HEADERS);
  const format = negotiate(req.header('accept'), callback !== undefined);
  if (format === null) return notAcceptable(req);
  if (format === 'csv') return { status: 200, headers: { ...CORS_HEADERS, 'Content-Type': 'text/csv; charset=utf-8' }, body: csvLines(host.idents) };
  const { body, type } = render(format, host.idents, { callback });
  return { status: 200, headers: { ...CORS_HEADERS, 'Content-Type': type }, body };
}

function layout(req: HttpRequest, runtime: PluginRuntime): HttpResponse {
  const value = runtime.plugin.definition.layout;
  if (value === undefined) return error(404, 'no_layout', `plugin "${runtime.ident}" has no layout`, CORS_HEADERS);
  const callback = callbackOf(req);
  if (callback instanceof BadParameter) return error(400, 'bad_parameter', callback.message, CORS_HEADERS);
  const format = negotiate(req.header('accept'), callback !== undefined);
  if (format === null || format === 'csv') return notAcceptable(req);
  const { body, type } = render(format, value, { callback });
  return { status: 200, headers: { ...CORS_HEADERS, 'Content-Type': type }, body };
}

function rows(req: HttpRequest, runtime: PluginRuntime, schema: z.ZodObject, now: number): HttpResponse {
  const values = firstValues(new URLSearchParams(req.query));
  let query;
  try {
    query = parseViewQuery(values, schema, now + (runtime.plugin.intervalSeconds ?? 0));
  } catch (err) {
    if (err instanceof BadParameter) return error(400, 'bad_parameter', err.message, CORS_HEADERS);
    throw err;
  }
  const format = negotiate(req.header('accept'), query.callback !== undefined);
  if (format === null) return notAcceptable(req);
  let page;
  try {
    page = queryView(runtime, query);
  } catch (err) {
    if (err instanceof PageOutOfRange) return error(400, 'bad_parameter', `parameter "page" ${err.page}: past the last page (${err.pages})`, CORS_HEADERS);
    throw err;
  }
  const { body, type } = render(format, page.rows, { callback: query.callback, columns: runtime.plugin.definition.columns });
  const headers: Record<string, string> = { ...CORS_HEADERS, 'Content-Type': type, 'X-Link-Number': String(page.page), 'X-Link-Count': String(page.pages) };
  const link = linkHeader(req, page.page, page.pages);
  if (link) headers['Link'] = link;
  return { status: 200, headers, body };
}

/** GitHub-style paging links that keep every query parameter but `page` (the original dropped them). */
function linkHeader(req: HttpRequest, page: number, pages: number): string {
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

function callbackOf(req: HttpRequest): string | undefined | BadParameter {
  const cb = new URLSearchParams(req.query).get('callback');
  if (cb === null) return undefined;
  if (!CALLBACK_PATTERN.test(cb)) {
    return new BadParameter('callback', `parameter "callback" ${JSON.stringify(cb.slice(0, 100))}: ${CALLBACK_RULE}`);
  }
  return cb;
}

function notAcceptable(req: HttpRequest): HttpResponse {
  return error(406, 'not_acceptable', `cannot answer in ${JSON.stringify(req.header('accept'))}; offered: application/json, text/json, application/javascript, text/javascript (with callback), application/csv, text/csv`, CORS_HEADERS);
}
