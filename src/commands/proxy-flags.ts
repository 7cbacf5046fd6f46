/**
 * `statscache proxy`'s flags, each checked before anything starts: a bad value is refused with
 * SC_CONFIG_INVALID naming the flag and the value (exit 2: the operator fixes it).
 */
import { StatscacheError } from '../../actors/errors.js';
import { replicaConnectionsProblem } from '../proxy-admission.js';
import {
  DEFAULT_REPLICA_QUEUE_MAX_BYTES,
  DEFAULT_UPSTREAM_QUEUE_MAX_BYTES,
  replicaQueueProblem,
  upstreamQueueProblem,
} from '../proxy-queue.js';
import { schemaOf } from '../setting-derive.js';
import { type EndpointRole, endpointProblem } from '../zmq-endpoint.js';

/** A ZeroMQ tcp/ipc/inproc endpoint (zmq-endpoint.ts); anything else is refused before libzmq sees it. */
export function endpoint(value: unknown, flag: string, role: EndpointRole): string {
  const problem = typeof value === 'string' ? endpointProblem(value, role) : 'must be a ZeroMQ endpoint';
  if (problem !== null)
    throw new StatscacheError('SC_CONFIG_INVALID', `${flag} ${problem}, got ${JSON.stringify(value) ?? typeof value}`);
  return value as string;
}

/** --max-frame-bytes, with serve's bounds and default. */
export function maxFrameBytes(value: unknown): number {
  const parsed = schemaOf('maxFrameBytes').safeParse(value);
  if (!parsed.success)
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `--max-frame-bytes ${parsed.error.issues[0]?.message ?? 'is invalid'}, got ${JSON.stringify(value)}`,
    );
  return parsed.data as number;
}

/**
 * A queue bound in bytes (--replica-queue-max-bytes, --upstream-queue-max-bytes): a whole number,
 * judged against the frame cap by `problemOf` (proxy-queue.ts); `fallback` when not given.
 */
function queueBytes(
  value: unknown,
  flag: string,
  fallback: number,
  frameCap: number,
  problemOf: (bytes: number, frameCap: number) => string | null,
): number {
  if (value === undefined) return fallback;
  const bytes = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  const problem = problemOf(bytes, frameCap);
  if (problem !== null)
    throw new StatscacheError('SC_CONFIG_INVALID', `${flag} ${problem}, got ${JSON.stringify(value)}`);
  return bytes;
}

/** --replica-queue-max-bytes: at least one message at the frame cap; the default is over the largest cap (64 MiB). */
export const replicaQueueMaxBytes = (value: unknown, frameCap: number): number =>
  queueBytes(value, '--replica-queue-max-bytes', DEFAULT_REPLICA_QUEUE_MAX_BYTES, frameCap, replicaQueueProblem);

/** --upstream-queue-max-bytes: at least one message (and the one being read) at the hard cap. */
export const upstreamQueueMaxBytes = (value: unknown, frameCap: number): number =>
  queueBytes(value, '--upstream-queue-max-bytes', DEFAULT_UPSTREAM_QUEUE_MAX_BYTES, frameCap, upstreamQueueProblem);

/** --replica-max-connections or --replica-max-per-address: a whole number of connections. */
export function connectionBound(value: unknown, flag: string, fallback: number): number {
  if (value === undefined) return fallback;
  const n = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : Number.NaN;
  const problem = replicaConnectionsProblem(n);
  if (problem !== null)
    throw new StatscacheError('SC_CONFIG_INVALID', `${flag} ${problem}, got ${JSON.stringify(value)}`);
  return n;
}

/** --http-port: off unless given; 0 picks a free port (the start-up log says which). */
export function httpPort(value: unknown): number | null {
  if (value === undefined) return null;
  const n = typeof value === 'string' && /^\d{1,5}$/.test(value) ? Number(value) : Number.NaN;
  if (!(n >= 0 && n <= 65_535))
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `--http-port must be a whole number from 0 to 65535 (0 picks a free port), got ${JSON.stringify(value)}`,
    );
  return n;
}

/** --http-host: where /healthz and /metrics listen; only with --http-port, which turns them on. */
export function httpHost(value: unknown, port: number | null): string {
  if (value === undefined) return '127.0.0.1';
  if (typeof value !== 'string' || !/^\S+$/.test(value))
    throw new StatscacheError('SC_CONFIG_INVALID', `--http-host must be an address, got ${JSON.stringify(value)}`);
  if (port === null)
    throw new StatscacheError(
      'SC_CONFIG_INVALID',
      `--http-host ${JSON.stringify(value)} needs --http-port: the proxy serves no HTTP without it`,
    );
  return value;
}
