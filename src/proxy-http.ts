/**
 * `statscache proxy --http-port`: GET /healthz (proxy-health.ts) and GET /metrics
 * (metrics-proxy.ts) for systemd, Kubernetes probes and Prometheus, which otherwise could not
 * tell a proxy whose upstream has gone from a healthy one. Loaded only with --http-port.
 *
 * Served by uws-server.ts (listenPlain) rather than node:http: it is the HTTP server the project
 * already ships and tests, and it brings what an operator's port needs for free: an exclusive
 * listen (a second proxy on the same port fails to start, where SO_REUSEPORT would let the
 * kernel split probes between the two), the cause named with a coded error when the port cannot
 * be had, and answers held for slow readers bounded. node:http would be a second server whose
 * timeouts and limits would all have to be set and tested again, for two routes.
 */
import { error, type HttpRequest, type HttpResponse, json } from './http/responses.js';
import { listenPlain } from './http/uws-server.js';
import { createProxyMetrics, type ProxyMetrics } from './metrics.js';
import { ProxyHealth, type RelayView } from './proxy-health.js';

/**
 * Neither answer may be reused: each says how things are now. A connection per answer: uWS
 * keeps an idle kept-alive connection up to 10 s and has no way to close it, and one (fetch's
 * after a GET /healthz) held a stopping proxy's exit 4.1 s after SIGTERM, against 0.15 s.
 */
const NO_STORE = { 'Cache-Control': 'no-store', Connection: 'close' };
const ROUTES: ReadonlySet<string> = new Set(['/healthz', '/metrics']);

/** The routes, as a plain function of a request (tests call it directly). */
export function proxyRoutes(
  health: ProxyHealth,
  metrics: ProxyMetrics,
): (req: HttpRequest) => HttpResponse | Promise<HttpResponse> {
  return (req) => {
    if (!ROUTES.has(req.path))
      return error(404, 'not_found', 'the proxy answers GET /healthz and GET /metrics only', NO_STORE);
    // HEAD as GET without the body (the writer drops it): some probers and load balancers send it.
    if (req.method !== 'GET' && req.method !== 'HEAD')
      return error(405, 'method_not_allowed', `${req.path} answers GET and HEAD only`, {
        ...NO_STORE,
        Allow: 'GET, HEAD',
      });
    if (req.path === '/healthz') {
      const { status, body } = health.healthz();
      return json(status, body, NO_STORE);
    }
    return metrics
      .scrape()
      .then((text) => ({ status: 200, headers: { 'Content-Type': metrics.contentType, ...NO_STORE }, body: text }));
  };
}

export interface ProxyHttp {
  /** The port bound (the one picked with --http-port 0). */
  readonly port: number;
  readonly health: ProxyHealth;
  close(): void;
}

/** Listens on host:port for `relay`; rejects with SC_PORT_IN_USE or SC_LISTEN_FAILED naming the flags. */
export async function serveProxyHttp(
  host: string,
  port: number,
  relay: RelayView,
  onError: (err: unknown) => void,
  now?: () => number,
): Promise<ProxyHttp> {
  const health = new ProxyHealth(relay, now);
  const metrics = createProxyMetrics(() => health.view());
  try {
    const server = await listenPlain(host, port, proxyRoutes(health, metrics), onError, {
      host: '--http-host',
      port: '--http-port',
    });
    return {
      port: server.port,
      health,
      close: () => {
        server.close();
        health.close();
      },
    };
  } catch (err) {
    health.close();
    throw err;
  }
}
