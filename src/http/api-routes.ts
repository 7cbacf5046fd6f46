import type * as z from 'zod';
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { type AnswerMemo, derivedOnce } from './answer-memo.js';
import type { HotAnswer } from './hot-answer.js';
import { EncodedCache } from './encoded-cache.js';
import { DEFAULT_MAX_PAGE_DEPTH, pluginParamsSchema } from './query-params.js';
import { CORS_HEADERS, error, type HttpRequest, type HttpResponse, quoted } from './responses.js';
import { matchRoute, type RoutePattern } from './route-pattern.js';
import { serviceRoutes } from './service-routes.js';
import type { ViewFailureLog } from './view-failure-log.js';
import { answerMemo, identList, layout, rows, streamHead, type RouteContext } from './view-routes.js';
import { defaultStop } from './ws-view-spec.js';

/** What the HTTP layer reports to the metrics module (src/metrics.ts implements it). */
export interface HttpMetricsSink {
  countRequest(route: string, method: string, status: number): void;
  /** The same count as a function bound to one label set, for an answer served again and again. */
  counter?(route: string, method: string, status: number): () => void;
  /** Prometheus exposition text, rendered at most a moment ago. */
  text(): string;
  readonly contentType: string;
}

export interface ApiDeps {
  readonly host: PluginHost;
  readonly nowSeconds: () => number;
  /** Why the service is not ready yet, or null once restored and consuming. */
  readonly notReadyReason: () => string | null;
  /** Extra /readyz fields (a `degraded` reason when ready, per-endpoint bus state). */
  readonly readyDetails?: (ready: boolean) => Readonly<Record<string, unknown>>;
  /** Why the process is alive but can no longer do its job (intake ended), or null: /healthz answers 503 then. */
  readonly failingReason?: () => string | null;
  readonly health: () => Readonly<Record<string, unknown>>;
  readonly metrics?: HttpMetricsSink;
  /** Encoded-body cache; pass one to read its stats elsewhere (metrics). */
  readonly cache?: EncodedCache;
  /** Memo of finished `/api/<ident>` answers (view-routes.ts answerMemo); pass one to read its size elsewhere (metrics). */
  readonly answers?: AnswerMemo<HttpResponse>;
  /** Deepest row a page may reach (config maxPageDepth); default DEFAULT_MAX_PAGE_DEPTH. */
  readonly maxPageDepth?: number;
  /** Whether this process's HTTP adapter answers `GET /api/<ident>/stream` (then its HEAD is answered here). */
  readonly streams?: boolean;
  /** Told of each answer a plugin's view failed: the service logs them (view-failure-log.ts). */
  readonly onViewFailed?: ViewFailureLog;
}

export type HttpHandler = (req: HttpRequest) => HttpResponse;

const ALLOWED_METHODS = 'GET, HEAD, OPTIONS';
const NOSNIFF = { 'X-Content-Type-Options': 'nosniff' };

/** Builds the request handler once; per-plugin schemas are compiled here, not per request. */
export function createHttpHandler(deps: ApiDeps): HttpHandler {
  const ctx: RouteContext = {
    host: deps.host,
    cache: deps.cache ?? new EncodedCache(),
    nowSeconds: deps.nowSeconds,
    schemas: new Map<string, z.ZodObject>(deps.host.runtimes.map((r) => [r.ident, pluginParamsSchema(r.plugin)])),
    answers: deps.answers ?? answerMemo(),
    maxPageDepth: deps.maxPageDepth ?? DEFAULT_MAX_PAGE_DEPTH,
    ...(deps.onViewFailed ? { onViewFailed: deps.onViewFailed } : {}),
  };
  const service = serviceRoutes(deps, ctx);
  // A memoised answer is the same object each time, so its final form (and the request counter
  // of its labels) is built once too.
  type Final = {
    readonly res: HttpResponse;
    readonly pattern: RoutePattern;
    readonly count: (() => void) | undefined;
    /** Made when first offered to an adapter (hot-answer.ts). */
    hot?: HotAnswer;
  };
  const finalGet = new WeakMap<HttpResponse, Final>();
  const finalHead = new WeakMap<HttpResponse, Final>();

  // The last ident looked up: pollers read one view again and again, and comparing the URL's new
  // string with the last one costs less than hashing it for the map.
  let lastIdent = '';
  let lastRuntime: PluginRuntime | undefined;
  const runtimeOf = (ident: string): PluginRuntime | undefined => {
    if (lastRuntime === undefined || ident !== lastIdent) {
      lastRuntime = deps.host.get(ident);
      lastIdent = ident;
    }
    return lastRuntime;
  };

  const route = (req: HttpRequest, pattern: RoutePattern, ident: string | undefined): HttpResponse => {
    if (pattern === 'unmatched')
      return error(404, 'not_found', `no route ${quoted(req.path)}; GET / documents the routes`);
    if (req.method === 'OPTIONS') {
      return {
        status: 204,
        headers: {
          ...CORS_HEADERS,
          Allow: ALLOWED_METHODS,
          'Access-Control-Allow-Methods': ALLOWED_METHODS,
          // Last-Event-ID: a stream's resume point (not CORS-safelisted), which fetch-based
          // EventSource clients on other origins send only once this preflight allows it.
          'Access-Control-Allow-Headers': 'Accept, Accept-Encoding, If-None-Match, Content-Type, Last-Event-ID',
          'Access-Control-Max-Age': '86400',
        },
        body: '',
      };
    }
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      return error(405, 'method_not_allowed', `method ${quoted(req.method)} is not allowed on ${pattern}; use GET`, {
        Allow: ALLOWED_METHODS,
        ...CORS_HEADERS,
      });
    }
    switch (pattern) {
      case '/healthz':
        return service.healthz();
      case '/readyz':
        return service.readyz();
      case '/metrics':
        return service.metrics(req);
      case '/plugins':
        return service.plugins(req);
      case '/openapi.json':
        return service.openapi(req);
      case '/':
        return service.docs(req);
      case '/dashboard':
        return service.dashboard(req);
      case '/api/':
        return identList(req, ctx);
      case '/ws':
        return service.websocketOnly(req);
      default:
        break;
    }
    const runtime = runtimeOf(ident ?? '');
    if (!runtime)
      return error(
        404,
        'unknown_ident',
        `no plugin with ident ${quoted(ident ?? '')}; GET /api/ lists them`,
        CORS_HEADERS,
      );
    if (pattern === '/api/:ident') return rows(req, runtime, ctx);
    if (pattern === '/api/:ident/layout') return layout(req, runtime, ctx);
    // A GET of a stream is answered by the HTTP adapter itself, which routes no HEAD: answered
    // here as the GET would begin (it was a 404 "no event stream", and a bad parameter was no 400).
    if (deps.streams === true && req.method === 'HEAD') return streamHead(req, runtime, ctx);
    // Otherwise reaching here means this process has no streams.
    return error(
      404,
      'not_found',
      `no event stream for ${JSON.stringify(runtime.ident)} in this process`,
      CORS_HEADERS,
    );
  };

  /** A memoised `/api/<ident>` answer as a hot answer: the same request again gets it while its plugin and second stay. */
  const hotAnswer = (req: HttpRequest, final: Final, made: NonNullable<RouteContext['memoised']>): HotAnswer => {
    const { runtime, position, stop } = made;
    const { count, res } = final;
    const { method } = req;
    const stats = ctx.cache.stats;
    return {
      method,
      path: req.path,
      query: req.query,
      accept: req.header('accept'),
      acceptEncoding: req.header('accept-encoding'),
      ifNoneMatch: req.header('if-none-match'),
      response: res,
      // What rows() keys its memo on besides the request: the plugin's state version and "now".
      fresh: () => runtime.position === position && defaultStop(runtime, deps.nowSeconds()) === stop,
      served: () => {
        stats.hits++;
        if (count !== undefined) count();
        else deps.metrics?.countRequest('/api/:ident', method, res.status);
      },
    };
  };

  return (req) => {
    const { pattern, ident } = matchRoute(req.path);
    let res: HttpResponse;
    ctx.memoised = null;
    try {
      res = route(req, pattern, ident);
    } catch (err) {
      deps.metrics?.countRequest(pattern, req.method, 500);
      throw err;
    }
    // HEAD gets no body here: uWS 20.30's endWithoutBody(length > 0) aborts the whole process, so
    // the adapter must only ever be asked for a zero length (Content-Length on HEAD is optional).
    const head = req.method === 'HEAD';
    const final = derivedOnce(head ? finalHead : finalGet, res, (r) => ({
      res: { ...r, headers: { ...NOSNIFF, ...r.headers }, body: head ? '' : r.body },
      pattern,
      count: deps.metrics?.counter?.(pattern, req.method, r.status),
    }));
    // Only GET and HEAD share answer objects, each in its own map; the pattern is checked all the same.
    if (final.count !== undefined && final.pattern === pattern) final.count();
    else deps.metrics?.countRequest(pattern, req.method, res.status);
    const made = ctx.memoised;
    if (req.offer !== undefined && made != null && pattern === '/api/:ident' && final.pattern === pattern)
      req.offer((final.hot ??= hotAnswer(req, final, made)));
    return final.res;
  };
}
