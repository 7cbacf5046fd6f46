/**
 * The routes about the service rather than one plugin's rows: the probes, `/metrics`, the
 * discovery documents (`/plugins`, `/openapi.json`) and the HTML pages. api-routes.ts routes
 * to them after the method checks every route shares.
 */
import { callbackParam } from './callback-param.js';
import type { ApiDeps } from './api-routes.js';
import { conditional } from './conditional.js';
import { describePlugins, hostVersion } from './discovery.js';
import { encode } from './encoded-cache.js';
import { CONTENT_TYPES, negotiate } from './negotiate.js';
import { buildOpenApi } from './openapi.js';
import { DASHBOARD_CSP, dashboardPage } from './pages/dashboard-page.js';
import { dashboardRows } from './pages/dashboard-rows.js';
import { docsPage } from './pages/docs-page.js';
import { jsonpBody } from './render.js';
import { CORS_HEADERS, error, json, type HttpRequest, type HttpResponse, quoted } from './responses.js';
import type { RouteContext } from './view-routes.js';

export interface ServiceRoutes {
  healthz(): HttpResponse;
  readyz(): HttpResponse;
  metrics(req: HttpRequest): HttpResponse;
  plugins(req: HttpRequest): HttpResponse;
  openapi(req: HttpRequest): HttpResponse;
  docs(req: HttpRequest): HttpResponse;
  dashboard(req: HttpRequest): HttpResponse;
  websocketOnly(req: HttpRequest): HttpResponse;
}

export function serviceRoutes(deps: ApiDeps, ctx: RouteContext): ServiceRoutes {
  let metricsEntry: { readonly text: string; readonly entry: ReturnType<typeof encode> } | null = null;
  // Static documents: rendered on first use, then served from the cache by ETag.
  let openapi: string | undefined;
  const pages = new Map<string, { html: string; csp: string }>();
  const docsHtml = () => {
    let p = pages.get('docs');
    if (p === undefined) {
      p = docsPage(describePlugins(deps.host));
      pages.set('docs', p);
    }
    return p;
  };

  return {
    healthz: () => {
      const failing = deps.failingReason?.() ?? null;
      return failing === null
        ? json(200, { status: 'ok', ...deps.health() }, { ...CORS_HEADERS, 'Cache-Control': 'no-store' })
        : json(
            503,
            { status: 'failing', reason: failing, ...deps.health() },
            { ...CORS_HEADERS, 'Cache-Control': 'no-store' },
          );
    },
    readyz: () => {
      const reason = deps.notReadyReason();
      const details = deps.readyDetails?.(reason === null) ?? {};
      return reason === null
        ? json(200, { status: 'ready', ...details }, { 'Cache-Control': 'no-store' })
        : json(503, { status: 'not_ready', reason, ...details }, { 'Cache-Control': 'no-store' });
    },
    metrics: (req) => {
      if (!deps.metrics) return error(404, 'not_found', 'metrics are not enabled in this process');
      // One encoding (ETag, gzip) per render, shared by every scrape that render answers.
      const text = deps.metrics.text();
      if (metricsEntry?.text !== text) metricsEntry = { text, entry: encode(text, null) };
      const entry = metricsEntry.entry;
      return conditional(
        req,
        entry,
        { 'Content-Type': deps.metrics.contentType, 'Cache-Control': 'no-store' },
        ctx.cache,
      );
    },
    plugins: (req) => jsonDocument(req, ctx, `plugins:${hostVersion(deps.host)}`, () => describePlugins(deps.host)),
    openapi: (req) =>
      jsonDocument(req, ctx, 'openapi', () => (openapi ??= JSON.stringify(buildOpenApi(deps.host))), true),
    docs: (req) => {
      const { html, csp } = docsHtml();
      const entry = ctx.cache.getOrMake('page:/', () => encode(html, null));
      return conditional(
        req,
        entry,
        {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': csp,
          'Referrer-Policy': 'no-referrer',
        },
        ctx.cache,
      );
    },
    dashboard: (req) => {
      // The first rows are in the page (first paint shows data): one rendering per state of the plugins.
      const entry = ctx.cache.getOrMake(`page:/dashboard:${hostVersion(deps.host)}`, () =>
        encode(dashboardPage(describePlugins(deps.host), dashboardRows(deps.host, deps.nowSeconds())).html, null),
      );
      return conditional(
        req,
        entry,
        {
          'Content-Type': 'text/html; charset=utf-8',
          'Content-Security-Policy': DASHBOARD_CSP,
          'Referrer-Policy': 'no-referrer',
          'Cache-Control': 'no-cache',
        },
        ctx.cache,
      );
    },
    websocketOnly,
  };
}

/**
 * `/ws` reached without a WebSocket handshake: uWS upgrades every request there that carries a
 * Sec-WebSocket-Key of 24 characters, and passes the others to the routes, where it was a 404
 * "no route" of a route the docs list (a proxy dropping the Upgrade headers looked like a
 * service without WebSockets). A 426 naming the headers a handshake needs (RFC 9110 15.5.22),
 * or a 400 naming the key an attempted one lacks.
 */
function websocketOnly(req: HttpRequest): HttpResponse {
  const headers = { ...CORS_HEADERS, 'Cache-Control': 'no-store' };
  if (req.header('upgrade').toLowerCase().includes('websocket'))
    return json(
      400,
      {
        error: 'bad_handshake',
        detail: `header "Sec-WebSocket-Key" ${quoted(req.header('sec-websocket-key'))} must be 16 random bytes in base64 (24 characters; RFC 6455 4.1)`,
        header: 'Sec-WebSocket-Key',
      },
      headers,
    );
  return json(
    426,
    {
      error: 'upgrade_required',
      detail:
        '/ws is a WebSocket: send GET with Upgrade: websocket, Connection: Upgrade, Sec-WebSocket-Version: 13 and a Sec-WebSocket-Key (RFC 6455); a proxy in between must pass them on (deploy/nginx.conf does)',
      header: 'Upgrade',
    },
    { ...headers, Upgrade: 'websocket' },
  );
}

/** A JSON document route (`/plugins`, `/openapi.json`): JSON or JSON-P, cached and conditional. */
function jsonDocument(
  req: HttpRequest,
  ctx: RouteContext,
  key: string,
  make: () => unknown,
  preEncoded = false,
): HttpResponse {
  const callback = callbackParam(req);
  if (typeof callback === 'object') return callback;
  const format = negotiate(req.header('accept'), callback !== undefined);
  if (format === null || format === 'csv') {
    return error(
      406,
      'not_acceptable',
      `cannot answer in ${quoted(req.header('accept'))}; offered: application/json, text/json, application/javascript (with callback)`,
      CORS_HEADERS,
    );
  }
  const entry = ctx.cache.getOrMake(JSON.stringify([key, format, callback]), () => {
    const value = make();
    const text = preEncoded ? (value as string) : JSON.stringify(value);
    return encode(format === 'jsonp' ? jsonpBody(callback ?? 'callback', text) : text, null);
  });
  return conditional(req, entry, { ...CORS_HEADERS, 'Content-Type': CONTENT_TYPES[format] }, ctx.cache);
}
