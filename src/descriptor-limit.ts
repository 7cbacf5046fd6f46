import { readFileSync } from 'node:fs';

/**
 * Descriptors the service holds for itself besides client connections: measured 44 at idle
 * with the 27 built-in plugins (LMDB, journal, threads, ZeroMQ, the listen socket), and an
 * export child, the hang records and AMQP reconnects open more while they run. Connections
 * past `--ws-max-connections` still take one each until they are answered `503`, and plain HTTP
 * connections are not counted at all, so this is a floor, not a budget.
 */
export const OWN_DESCRIPTORS = 128;

/**
 * The soft RLIMIT_NOFILE from /proc/self/limits (Node raises the soft limit to the hard one at
 * start, so this is what accept() will run into), or null where it cannot be read (not Linux)
 * or is unlimited.
 */
export function openFilesLimit(
  readLimits: () => string = () => readFileSync('/proc/self/limits', 'utf8'),
): number | null {
  let text: string;
  try {
    text = readLimits();
  } catch {
    return null;
  }
  const match = /^Max open files\s+(\d+|unlimited)\s/m.exec(text);
  if (!match || match[1] === 'unlimited') return null;
  return Number(match[1]);
}

/**
 * Why the descriptor limit cannot hold `--ws-max-connections` open connections and the service's
 * own files, or null when it can. Past the limit accept() fails with EMFILE: the kernel queues
 * every new connection, /healthz included, unanswered, and an export fails, until clients leave.
 */
export function descriptorShortfall(limit: number | null, wsMaxConnections: number): string | null {
  if (limit === null) return null;
  const needed = wsMaxConnections + OWN_DESCRIPTORS;
  if (limit >= needed) return null;
  return `the open-file limit (RLIMIT_NOFILE ${String(limit)}) is below --ws-max-connections (${String(wsMaxConnections)}) plus ${String(OWN_DESCRIPTORS)} for the service's own files: WebSocket and SSE clients can take every descriptor before the cap refuses them, and then /healthz, HTTP reads and exports fail until they leave. Raise the limit (LimitNOFILE= under systemd, ulimit -n) to at least ${String(needed)}, or lower --ws-max-connections to ${String(Math.max(1, limit - OWN_DESCRIPTORS))}`;
}
