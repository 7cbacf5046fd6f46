/**
 * The proxy's queue for each replica, in bytes. libzmq bounds an XPUB's queue per subscriber in
 * messages only (ZMQ_SNDHWM), and the proxy queued 100,000 of them whatever their size: a
 * replica that stopped reading let the proxy grow by 100,000 × --max-frame-bytes (measured: a
 * 293 MiB flood of 200 KB messages grew it by 291 MiB, all of it kept for the stalled replica).
 * The proxy forwards no message over --max-frame-bytes (all frames together), so a queue of
 * ⌊bytes ÷ --max-frame-bytes⌋ messages holds at most `bytes`, whatever the messages are.
 * Kept apart from bus.ts so the command can validate without loading libzmq.
 */

/** The queue in messages with no byte bound in the way (and the upstream socket's receive queue). */
export const PROXY_HIGH_WATER_MARK = 100_000;

/**
 * 1 GiB per replica: 1,024 messages at the default 1 MiB frame cap. A replica that merely applies
 * slowly is not behind at the proxy (its own libzmq reads on into its --bus-queue-max), so this
 * fills for one that stopped reading, or in a burst faster than the proxy's and the replica's
 * libzmq threads pass messages on: 300,000 small messages flooded at ~17 k/s on the loaded 2-core
 * test machine lost 0.1% at this default and ~5% at 256 MiB (none at 100,000 messages); a lower
 * --max-frame-bytes gives a longer queue for the same bytes.
 */
export const DEFAULT_REPLICA_QUEUE_MAX_BYTES = 1024 * 1024 * 1024;

/** Largest accepted value (as --bus-queue-max-bytes). */
export const MAX_REPLICA_QUEUE_MAX_BYTES = 2 ** 50;

/**
 * Messages queued per replica: as many at --max-frame-bytes as fit `bytes`, never more than
 * PROXY_HIGH_WATER_MARK. Callers ensure bytes ≥ maxFrameBytes (a queue of at least one).
 */
export function replicaQueue(bytes: number, maxFrameBytes: number): number {
  return Math.max(1, Math.min(PROXY_HIGH_WATER_MARK, Math.floor(bytes / maxFrameBytes)));
}

/** Why `value` is not a usable --replica-queue-max-bytes with this frame cap, or null. */
export function replicaQueueProblem(value: number, maxFrameBytes: number): string | null {
  if (!Number.isSafeInteger(value) || value > MAX_REPLICA_QUEUE_MAX_BYTES)
    return `must be a whole number of bytes up to 2^50`;
  if (value < maxFrameBytes) return `must be at least --max-frame-bytes (${maxFrameBytes}): a queue of one message`;
  return null;
}
