/**
 * `statscache proxy`'s metrics (served on its --http-port, proxy-http.ts): the relay's totals and
 * connections as /healthz gives them (proxy-health.ts), read at scrape time.
 */
import type { MetricMaker } from './metrics-sources.js';
import type { ProxyHealthView } from './proxy-health.js';

export function proxyMetrics({ fromCounters, gauge }: MetricMaker, read: () => ProxyHealthView): void {
  gauge(
    'statscache_proxy_relay_running',
    '1 while the relay runs, 0 once it is stopping, has ended or failed (/healthz then answers 503)',
    [],
    (set) => set({}, read().failing === null ? 1 : 0),
  );
  gauge(
    'statscache_proxy_upstream_connected',
    '1 while the upstream publisher is connected (ZeroMQ handshake done), else 0',
    ['endpoint'],
    (set) => {
      const v = read();
      set({ endpoint: v.upstream.endpoint }, v.upstreamConnected ? 1 : 0);
    },
  );
  gauge(
    'statscache_proxy_seconds_since_last_message',
    'Seconds since a message last came from upstream (forwarded or dropped), or since the proxy started if none has; to the second',
    [],
    (set) => {
      const v = read();
      set({}, v.secondsSinceLastMessage ?? v.uptimeSeconds);
    },
  );
  gauge(
    'statscache_proxy_replicas_connected',
    'Connections open to the backend: replicas, and peers still in their handshake',
    [],
    (set) => set({}, read().counters.replicaConnections),
  );
  gauge(
    'statscache_proxy_subscriptions',
    'Distinct subscription prefixes forwarded upstream now (at most 4096: proxy-subscriptions.ts)',
    [],
    (set) => set({}, read().counters.subscriptions),
  );
  const total = (name: string, help: string, pick: (c: ProxyHealthView['counters']) => number) =>
    fromCounters(name, help, [], (set) => set({}, pick(read().counters)));
  total('statscache_proxy_forwarded_total', 'Messages passed to the backend for the replicas', (c) => c.forwarded);
  total(
    'statscache_proxy_oversized_total',
    'Messages over --max-frame-bytes dropped unforwarded (replicas see a seq_id gap)',
    (c) => c.oversized,
  );
  total(
    'statscache_proxy_refused_total',
    'Upstream connections libzmq dropped for a frame over 4× --max-frame-bytes (connected again)',
    (c) => c.refused,
  );
  total(
    'statscache_proxy_replica_full_total',
    "Times a replica's queue filled (--replica-queue-max-bytes): its messages dropped until it read again",
    (c) => c.replicaFull,
  );
  total(
    'statscache_proxy_replicas_refused_total',
    'Connections refused on the backend (--replica-max-connections, --replica-max-per-address)',
    (c) => c.replicasRefused,
  );
  total(
    'statscache_proxy_not_subscriptions_total',
    'Messages from replicas that were not a subscription or its cancel, dropped rather than forwarded upstream',
    (c) => c.notSubscriptions,
  );
  total(
    'statscache_proxy_subscriptions_refused_total',
    'Subscriptions from replicas not forwarded upstream: 4096 distinct prefixes were up already',
    (c) => c.subscriptionsRefused,
  );
}
