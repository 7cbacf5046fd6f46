/**
 * HTTP and WebSocket metrics: connections, subscriptions and live views, the uWebSockets.js
 * binary in use, the answer cache, fairness limits, held answers, and requests by route.
 */
import type { MetricMaker, MetricsSources } from './metrics-sources.js';

/** Registers the WebSocket and live view metrics, and statscache_uws_native. */
export function wsMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  const plugins = () => sources.host.runtimes;
  gauge('statscache_ws_clients', 'Open WebSocket connections', [], (set) => set({}, sources.wsClients()));
  gauge('statscache_ws_subscriptions', 'WebSocket subscribers per plugin', ['plugin'], (set) => {
    for (const r of plugins()) set({ plugin: r.ident }, sources.wsSubscribers(r.ident));
  });
  if (sources.liveViews) {
    const views = sources.liveViews;
    gauge(
      'statscache_ws_views',
      'Live views someone watches, and views lingering unwatched (not refreshed)',
      ['state'],
      (set) => {
        const v = views();
        set({ state: 'watched' }, v.watched);
        set({ state: 'idle' }, v.idle);
      },
    );
    gauge(
      'statscache_ws_views_failing',
      "Live views whose plugin's view failed on their latest recompute: their subscribers hold the last good rows and were told (view_failed)",
      [],
      (set) => set({}, views().failing ?? 0),
    );
    fromCounters(
      'statscache_ws_view_work_total',
      'Live view work: views created, refreshed by a tick (watched ones only), recomputed in full (deep pages, fallbacks), woken from lingering, deferred to the next tick (its time budget spent)',
      ['kind'],
      (set) => {
        const v = views();
        for (const kind of ['created', 'refreshed', 'recomputed', 'woken', 'deferred'] as const) set({ kind }, v[kind]);
      },
    );
    gauge(
      'statscache_ws_history_bytes',
      'Bytes of update frames the live views keep so reconnecting clients can resume (at most --ws-resume-bytes)',
      [],
      (set) => set({}, views().historyBytes ?? 0),
    );
  }
  gauge(
    'statscache_uws_native',
    '1 when uWebSockets.js runs its native binary, 0 on the slow JS fallback',
    [],
    (set) => {
      const native = sources.uwsNative();
      if (native !== null) set({}, native ? 1 : 0);
    },
  );
}

/** Registers the answer cache, fairness limit and held answer metrics (each with its source). */
export function httpMetrics({ fromCounters, gauge }: MetricMaker, sources: MetricsSources): void {
  if (sources.httpCache) {
    const cache = sources.httpCache;
    fromCounters('statscache_http_cache_hits_total', 'API answers served from the encoded-body cache', [], (set) =>
      set({}, cache().hits),
    );
    fromCounters('statscache_http_cache_misses_total', 'API answers rendered', [], (set) => set({}, cache().misses));
    fromCounters('statscache_http_gzip_total', 'Bodies compressed (once per cached answer)', [], (set) =>
      set({}, cache().gzipped),
    );
    gauge('statscache_http_cache_bytes', 'Bytes held by the encoded-body cache', [], (set) => set({}, cache().bytes));
    gauge(
      'statscache_http_memo_bytes',
      'Body bytes of the finished /api answers kept for repeated reads (most shared with the encoded-body cache)',
      [],
      (set) => set({}, cache().memoBytes),
    );
  }

  if (sources.limits) {
    const limits = sources.limits;
    fromCounters(
      'statscache_limit_refusals_total',
      'Requests refused or cut short by a fairness limit, by limit',
      ['limit'],
      (set) => {
        for (const [limit, n] of Object.entries(limits())) set({ limit }, n);
      },
    );
  }
  if (sources.heldAnswers) {
    const held = sources.heldAnswers;
    fromCounters(
      'statscache_http_held_answers_total',
      'HTTP answers larger than their connection could take at once, sent as the client read them',
      [],
      (set) => set({}, held().held),
    );
    fromCounters(
      'statscache_http_unread_closes_total',
      'HTTP connections closed with an answer unread: another request sent before reading it (or, after an answer without a body, in the same event-loop turn), nothing read for 10 s, the client went away, or --http-max-held-bytes of answers already held for clients that do not read (or --http-max-held-bytes-per-client for this one)',
      [],
      (set) => set({}, held().closedUnread),
    );
    gauge(
      'statscache_http_held_bytes',
      'Bytes of HTTP answers held for clients reading them slower than they are sent (at most --http-max-held-bytes, besides one answer of any size)',
      [],
      (set) => set({}, held().heldBytes ?? 0),
    );
  }
}

/** Registers statscache_http_requests_total; returns ServiceMetrics' countRequest and counter. */
export function requestMetrics({ fromCounters }: MetricMaker): {
  countRequest(route: string, method: string, status: number): void;
  counter(route: string, method: string, status: number): () => void;
} {
  // Counted in a plain map per request and handed to prom-client at scrape time: its inc() with
  // labels hashes and validates the label object on every call, a measurable share of a cached read.
  const requestCounts = new Map<string, { route: string; method: string; status: string; n: number }>();
  fromCounters(
    'statscache_http_requests_total',
    'HTTP requests by route pattern, method and status',
    ['route', 'method', 'status'],
    (set) => {
      for (const c of requestCounts.values()) set({ route: c.route, method: c.method, status: c.status }, c.n);
    },
  );
  const cellOf = (route: string, rawMethod: string, status: number) => {
    // Invented methods share `other`, so the map is bounded by routes × methods × statuses.
    const method = METHODS.has(rawMethod) ? rawMethod : 'other';
    const key = `${route} ${method} ${status}`;
    let cell = requestCounts.get(key);
    if (cell === undefined) {
      cell = { route, method, status: String(status), n: 0 };
      requestCounts.set(key, cell);
    }
    return cell;
  };
  const countRequest = (route: string, method: string, status: number) => {
    cellOf(route, method, status).n++;
  };
  const counter = (route: string, method: string, status: number) => {
    const cell = cellOf(route, method, status);
    return () => {
      cell.n++;
    };
  };
  return { countRequest, counter };
}

/** Methods kept as label values; anything else a client invents is `other` (bounded label sets). */
const METHODS: ReadonlySet<string> = new Set(['GET', 'HEAD', 'OPTIONS', 'POST', 'PUT', 'PATCH', 'DELETE']);
