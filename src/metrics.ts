/**
 * The one module that talks to prom-client. Every Service gets its own Registry (never the
 * global one), so tests can run several services in one process. Per-message counters are
 * not touched per message: collect() callbacks read the runtime's own counters at scrape time.
 * Each area's metrics are declared in a module of its own (metrics-plugins.ts, -intake.ts,
 * -storage.ts, -http.ts) through a MetricMaker (metrics-sources.ts) made here; `statscache proxy`'s
 * own registry (metrics-proxy.ts) is made here too.
 */
// Each from its own file: prom-client's index loads its Pushgateway too, and with it node:http,
// node:https and tls (~10 ms of CPU at every start), which nothing here uses.
import Counter from 'prom-client/lib/counter.js';
import collectDefaultMetrics from 'prom-client/lib/defaultMetrics.js';
import Gauge from 'prom-client/lib/gauge.js';
import Registry from 'prom-client/lib/registry.js';
import { requestMetrics, httpMetrics, wsMetrics } from './metrics-http.js';
import { amqpMetrics, busMetrics, readinessMetrics } from './metrics-intake.js';
import { pluginMetrics } from './metrics-plugins.js';
import { proxyMetrics } from './metrics-proxy.js';
import type { Fill, MetricMaker, MetricsSources } from './metrics-sources.js';
import { exportMetrics, journalMetrics, storageMetrics } from './metrics-storage.js';
import type { ProxyHealthView } from './proxy-health.js';

export type { MetricsSources } from './metrics-sources.js';

export interface ServiceMetrics {
  readonly registry: Registry;
  readonly contentType: string;
  /** Counts one HTTP answer; `route` is a pattern like `/api/:ident`, never a raw path. */
  countRequest(route: string, method: string, status: number): void;
  /** countRequest bound to one label set: an answer served many times counts with one increment. */
  counter(route: string, method: string, status: number): () => void;
  /** The exposition text as of the last refresh (the service refreshes before answering /metrics; the HTTP adapter answers synchronously). */
  text(): string;
  /** Renders the registry now and keeps the result for text(). */
  refresh(): Promise<string>;
  /**
   * refresh() for an HTTP scrape, at most one render per SCRAPE_INTERVAL_MS: a scrape sooner
   * waits for the next render, shared by every scrape waiting for it.
   */
  scrape(): Promise<string>;
  /** Starts the process-level collectors (a running service only). */
  start(): void;
  stop(): void;
}

/**
 * Metrics read from the runtime's own counters at scrape time (never a prom call per message):
 * reset, then set every series. A Counter takes the absolute value through inc() from zero.
 */
function makerFor(registry: Registry): MetricMaker {
  const scraped = <L extends string>(
    kind: 'counter' | 'gauge',
    name: string,
    help: string,
    labelNames: readonly L[],
    fill: Fill<L>,
  ) =>
    kind === 'counter'
      ? new Counter({
          name,
          help,
          labelNames,
          registers: [registry],
          collect() {
            this.reset();
            fill((labels, value) => this.inc(labels as never, value));
          },
        })
      : new Gauge({
          name,
          help,
          labelNames,
          registers: [registry],
          collect() {
            this.reset();
            fill((labels, value) => this.set(labels as never, value));
          },
        });
  return {
    fromCounters: (name, help, labelNames, fill) => void scraped('counter', name, help, labelNames, fill),
    gauge: (name, help, labelNames, fill) => void scraped('gauge', name, help, labelNames, fill),
  };
}

/**
 * Scrapes over HTTP render at most once per SCRAPE_INTERVAL_MS: a render costs 5-11 ms of the
 * event loop, and 64 clients scraping in a loop held /healthz at ~0.5 s (helper-29). A scrape
 * soon after a render waits for the next one, which every scrape waiting meanwhile shares:
 * each answer is rendered after its request arrived, never an older one.
 */
function scrapeLimited(
  refresh: () => Promise<string>,
  now: () => number,
  sleep: (ms: number) => Promise<void>,
): () => Promise<string> {
  let renderedAt = Number.NEGATIVE_INFINITY;
  let next: Promise<string> | null = null;
  return (): Promise<string> => {
    if (next !== null) return next;
    const wait = renderedAt + SCRAPE_INTERVAL_MS - now();
    const render = () => {
      next = null;
      renderedAt = now();
      return refresh();
    };
    next = wait > 0 && wait <= SCRAPE_INTERVAL_MS ? sleep(wait).then(render) : Promise.resolve().then(render);
    return next;
  };
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function createMetrics(sources: MetricsSources): ServiceMetrics {
  const registry = new Registry();
  const maker = makerFor(registry);

  // Registered in this order, the order /metrics lists them in.
  pluginMetrics(maker, sources);
  busMetrics(maker, sources);
  journalMetrics(maker, sources);
  wsMetrics(maker, sources);
  readinessMetrics(maker, sources);
  storageMetrics(maker, sources);
  exportMetrics(maker, sources);
  httpMetrics(maker, sources);
  amqpMetrics(maker, sources);
  const { countRequest, counter } = requestMetrics(maker);

  let latest = '';
  const refresh = async () => {
    latest = await registry.metrics();
    return latest;
  };
  const scrape = scrapeLimited(refresh, sources.now ?? (() => performance.now()), sources.sleep ?? defaultSleep);
  let started = false;
  return {
    registry,
    contentType: registry.contentType,
    countRequest,
    counter,
    text: () => latest,
    refresh,
    scrape,
    start: () => {
      if (started) return;
      started = true;
      // Event-loop lag and process metrics watch the whole process: only a started service owns them.
      collectDefaultMetrics({ register: registry, eventLoopMonitoringPrecision: 10 });
      // Rendered when scraped (the service refreshes before answering GET and HEAD /metrics), not
      // on a timer: a render of every series takes 12-26 ms on this 2-core box, and once a second
      // that stalled every read behind it (the reads bench's p99). Nor at start: the first
      // render, in code not yet compiled, cost every start 50-200 ms of CPU for no reader.
    },
    stop: () => {},
  };
}

export interface ProxyMetrics {
  readonly contentType: string;
  /** Rendered for an HTTP scrape, at most once per SCRAPE_INTERVAL_MS (as the service's). */
  scrape(): Promise<string>;
}

/**
 * `statscache proxy`'s registry (metrics-proxy.ts), with the process's own metrics: its memory
 * is what its queue bounds are about. Nothing here runs per message: `read` is called at scrape time.
 */
export function createProxyMetrics(read: () => ProxyHealthView): ProxyMetrics {
  const registry = new Registry();
  proxyMetrics(makerFor(registry), read);
  collectDefaultMetrics({ register: registry });
  return {
    contentType: registry.contentType,
    scrape: scrapeLimited(
      () => registry.metrics(),
      () => performance.now(),
      defaultSleep,
    ),
  };
}

/**
 * Least time between two renders for `/metrics` scrapes: at most ten renders a second, ~10% of
 * a core, however many clients scrape. Prometheus scrapes every 15-60 s and never waits.
 */
export const SCRAPE_INTERVAL_MS = 100;
