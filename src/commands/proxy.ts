import { StatscacheError } from '../../actors/errors.js';
import { type Logger, throttled } from '../logger.js';
import {
  DEFAULT_REPLICA_MAX_CONNECTIONS,
  DEFAULT_REPLICA_MAX_PER_ADDRESS,
  replicaConnectionsProblem,
} from '../proxy-admission.js';
import {
  DEFAULT_REPLICA_QUEUE_MAX_BYTES,
  DEFAULT_UPSTREAM_QUEUE_MAX_BYTES,
  replicaQueueProblem,
  upstreamQueueProblem,
} from '../proxy-queue.js';
import { SETTINGS } from '../settings.js';
import { type EndpointRole, endpointProblem } from '../zmq-endpoint.js';

export interface ProxyOptions {
  readonly frontend?: unknown;
  readonly backend?: unknown;
  readonly maxFrameBytes?: unknown;
  readonly replicaQueueMaxBytes?: unknown;
  readonly replicaMaxConnections?: unknown;
  readonly replicaMaxPerAddress?: unknown;
  readonly upstreamQueueMaxBytes?: unknown;
}

/** A ZeroMQ tcp/ipc/inproc endpoint (zmq-endpoint.ts); anything else is refused before libzmq sees it. */
function endpoint(value: unknown, flag: string, role: EndpointRole): string {
  const problem = typeof value === 'string' ? endpointProblem(value, role) : 'must be a ZeroMQ endpoint';
  if (problem !== null)
    throw new StatscacheError('SC_CONFIG_INVALID', `${flag} ${problem}, got ${JSON.stringify(value) ?? typeof value}`);
  return value as string;
}

/** --max-frame-bytes, with serve's bounds and default. */
function maxFrameBytes(value: unknown): number {
  const parsed = SETTINGS.maxFrameBytes.type.safeParse(value);
  if (!parsed.success)
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `--max-frame-bytes ${parsed.error.issues[0]?.message ?? 'is invalid'}, got ${JSON.stringify(value)}`,
    );
  return parsed.data as number;
}

/** --replica-queue-max-bytes: a whole number of bytes, at least one message at the frame cap. */
function replicaQueueMaxBytes(value: unknown, frameCap: number): number {
  if (value === undefined) return DEFAULT_REPLICA_QUEUE_MAX_BYTES; // over the largest frame cap (64 MiB)
  const bytes = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  const problem = replicaQueueProblem(bytes, frameCap);
  if (problem !== null)
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `--replica-queue-max-bytes ${problem}, got ${JSON.stringify(value)}`,
    );
  return bytes;
}

/** --upstream-queue-max-bytes: a whole number of bytes, at least one message (and the one being read) at the hard cap. */
function upstreamQueueMaxBytes(value: unknown, frameCap: number): number {
  if (value === undefined) return DEFAULT_UPSTREAM_QUEUE_MAX_BYTES;
  const bytes = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  const problem = upstreamQueueProblem(bytes, frameCap);
  if (problem !== null)
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `--upstream-queue-max-bytes ${problem}, got ${JSON.stringify(value)}`,
    );
  return bytes;
}

/** --replica-max-connections or --replica-max-per-address: a whole number of connections. */
function connectionBound(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  const problem = replicaConnectionsProblem(n);
  if (problem !== null)
    throw new StatscacheError('SC_CONFIG_INVALID', `${flag} ${problem}, got ${JSON.stringify(value)}`);
  return n;
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
  // Loaded here so the other operator commands do not load ZeroMQ.
  const { startProxy, HARD_FRAME_FACTOR } = await import('../bus.js');
  let proxy: Awaited<ReturnType<typeof startProxy>>;
  // Totals since start, in every log line and on stop: a rate-limited log still tells how many.
  let oversized = 0;
  let refused = 0;
  let replicaFull = 0;
  let replicasRefused = 0;
  const logLimited = throttled(() => Date.now());
  try {
    proxy = await startProxy({
      frontend,
      backend,
      maxFrameBytes: limit,
      replicaQueueMaxBytes: queueBytes,
      replicaMaxConnections: maxConnections,
      upstreamQueueMaxBytes: upstreamBytes,
      replicaMaxPerAddress: maxPerAddress,
      onReplicaRefused: (refusal, address) => {
        replicasRefused++;
        logLimited('replica-refused', (suppressed) =>
          log.warn(
            {
              address,
              ...refusal,
              replicaMaxConnections: maxConnections,
              replicaMaxPerAddress: maxPerAddress,
              replicasRefused,
              suppressed,
            },
            `refused a connection to the proxy backend: ${refusal.bound === 'total' ? '--replica-max-connections' : '--replica-max-per-address'} are open (the replicas connected are not affected)`,
          ),
        );
      },
      onReplicaFull: () => {
        replicaFull++;
        logLimited('replica-full', (suppressed) =>
          log.warn(
            { replicaQueueMaxBytes: queueBytes, replicaFull, suppressed },
            "a replica's queue at the proxy is full (--replica-queue-max-bytes): messages for it are dropped until it reads again, and it sees a seq_id gap",
          ),
        );
      },
      onOversized: (bytes) => {
        oversized++;
        logLimited('oversized', (suppressed) =>
          log.warn(
            { bytes, maxFrameBytes: limit, oversized, suppressed },
            'proxy dropped a message over --max-frame-bytes (replicas see a seq_id gap)',
          ),
        );
      },
      onRefused: () => {
        refused++;
        logLimited('refused', (suppressed) =>
          log.warn(
            { hardLimit: limit * HARD_FRAME_FACTOR, refused, suppressed },
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
  log.info(
    {
      frontend,
      backend: proxy.backend,
      maxFrameBytes: limit,
      replicaQueueMaxBytes: queueBytes,
      replicaMaxConnections: maxConnections,
      replicaMaxPerAddress: maxPerAddress,
      upstreamQueueMaxBytes: upstreamBytes,
    },
    'statscache proxy running',
  );
  const stop = (signal: string) => {
    log.info({ signal, oversized, refused, replicaFull, replicasRefused }, 'stopping proxy');
    proxy.close();
  };
  process.once('SIGTERM', () => stop('SIGTERM'));
  process.once('SIGINT', () => stop('SIGINT'));
  await proxy.done;
}
