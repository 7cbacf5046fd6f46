import { StatscacheError } from '../../actors/errors.js';
import { type Logger, throttled } from '../logger.js';
import { DEFAULT_REPLICA_MAX_CONNECTIONS, DEFAULT_REPLICA_MAX_PER_ADDRESS } from '../proxy-admission.js';
import { newProxyCounters } from '../proxy-counters.js';
import type { ProxyHttp } from '../proxy-http.js';
import {
  connectionBound,
  endpoint,
  httpHost,
  httpPort,
  maxFrameBytes,
  replicaQueueMaxBytes,
  upstreamQueueMaxBytes,
} from './proxy-flags.js';

export interface ProxyOptions {
  readonly frontend?: unknown;
  readonly backend?: unknown;
  readonly maxFrameBytes?: unknown;
  readonly replicaQueueMaxBytes?: unknown;
  readonly replicaMaxConnections?: unknown;
  readonly replicaMaxPerAddress?: unknown;
  readonly upstreamQueueMaxBytes?: unknown;
  readonly httpPort?: unknown;
  readonly httpHost?: unknown;
}

/**
 * `statscache proxy`: one upstream fedmsg connection fanned out to any number of replicas
 * (see runProxy() in src/proxy-relay.ts). Runs until SIGTERM/SIGINT.
 */
export async function runProxyCommand(opts: ProxyOptions, log: Logger): Promise<void> {
  const frontend = endpoint(opts.frontend, '--frontend', 'connect');
  const backend = endpoint(opts.backend, '--backend', 'bind');
  const limit = maxFrameBytes(opts.maxFrameBytes);
  const queueBytes = replicaQueueMaxBytes(opts.replicaQueueMaxBytes, limit);
  const maxConnections = connectionBound(
    opts.replicaMaxConnections,
    '--replica-max-connections',
    DEFAULT_REPLICA_MAX_CONNECTIONS,
  );
  const maxPerAddress = connectionBound(
    opts.replicaMaxPerAddress,
    '--replica-max-per-address',
    DEFAULT_REPLICA_MAX_PER_ADDRESS,
  );
  const upstreamBytes = upstreamQueueMaxBytes(opts.upstreamQueueMaxBytes, limit);
  const http = httpPort(opts.httpPort);
  const host = httpHost(opts.httpHost, http);
  // Loaded here so the other operator commands do not load ZeroMQ.
  const { startProxy, HARD_FRAME_FACTOR } = await import('../bus.js');
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  // Totals since start, in every log line and on stop (a rate-limited log still tells how many),
  // /healthz and /metrics: the relay counts them in place.
  const counters = newProxyCounters();
  const logLimited = throttled(() => Date.now());
  const now = () => performance.now();
  try {
    proxy = await startProxy({
      frontend,
      backend,
      maxFrameBytes: limit,
      replicaQueueMaxBytes: queueBytes,
      replicaMaxConnections: maxConnections,
      upstreamQueueMaxBytes: upstreamBytes,
      replicaMaxPerAddress: maxPerAddress,
      counters,
      now,
      onUpstream: (status, previous) => {
        if (status.state === previous) return;
        logLimited('upstream', (suppressed) =>
          (status.state === 'connected' ? log.info : log.warn).call(
            log,
            { frontend, state: status.state, previous, lastError: status.lastError, suppressed },
            status.state === 'connected'
              ? 'upstream connected'
              : 'upstream not connected: replicas receive nothing until it is again',
          ),
        );
      },
      onReplicaRefused: (refusal, address) => {
        logLimited('replica-refused', (suppressed) =>
          log.warn(
            {
              address,
              ...refusal,
              replicaMaxConnections: maxConnections,
              replicaMaxPerAddress: maxPerAddress,
              replicasRefused: counters.replicasRefused,
              suppressed,
            },
            `refused a connection to the proxy backend: ${refusal.bound === 'total' ? '--replica-max-connections' : '--replica-max-per-address'} are open (the replicas connected are not affected)`,
          ),
        );
      },
      onReplicaFull: () => {
        logLimited('replica-full', (suppressed) =>
          log.warn(
            { replicaQueueMaxBytes: queueBytes, replicaFull: counters.replicaFull, suppressed },
            "a replica's queue at the proxy is full (--replica-queue-max-bytes): messages for it are dropped until it reads again, and it sees a seq_id gap",
          ),
        );
      },
      onOversized: (bytes) => {
        logLimited('oversized', (suppressed) =>
          log.warn(
            { bytes, maxFrameBytes: limit, oversized: counters.oversized, suppressed },
            'proxy dropped a message over --max-frame-bytes (replicas see a seq_id gap)',
          ),
        );
      },
      onRefused: () => {
        logLimited('refused', (suppressed) =>
          log.warn(
            { hardLimit: limit * HARD_FRAME_FACTOR, refused: counters.refused, suppressed },
            `upstream sent a frame over ${HARD_FRAME_FACTOR}× --max-frame-bytes: libzmq refused it unread and dropped the connection; connecting again`,
          ),
        );
      },
    });
  } catch (err) {
    throw new StatscacheError(
      'SC_LISTEN_FAILED',
      `cannot bind the proxy backend ${backend} or connect ${frontend}: ${(err as Error).message}`,
      { cause: err },
    );
  }
  let served: ProxyHttp | null = null;
  if (http !== null) {
    try {
      const { serveProxyHttp } = await import('../proxy-http.js');
      served = await serveProxyHttp(host, http, proxy, (err) => log.error({ err }, 'proxy HTTP handler failed'), now);
    } catch (err) {
      proxy.close();
      await proxy.done.catch(() => {});
      throw err;
    }
  }
  log.info(
    {
      frontend,
      backend: proxy.backend,
      maxFrameBytes: limit,
      replicaQueueMaxBytes: queueBytes,
      replicaMaxConnections: maxConnections,
      replicaMaxPerAddress: maxPerAddress,
      upstreamQueueMaxBytes: upstreamBytes,
      ...(served === null ? {} : { httpHost: host, httpPort: served.port }),
    },
    'statscache proxy running',
  );
  const stop = (signal: string) => {
    const { oversized, refused, replicaFull, replicasRefused, notSubscriptions, subscriptionsRefused, forwarded } =
      counters;
    log.info(
      { signal, forwarded, oversized, refused, replicaFull, replicasRefused, notSubscriptions, subscriptionsRefused },
      'stopping proxy',
    );
    // /healthz fails from here: a probe must not see a stopping proxy as healthy.
    served?.health.stopping(signal);
    proxy.close();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  try {
    await proxy.done;
  } finally {
    served?.close();
  }
}
