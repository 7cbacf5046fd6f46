/**
 * The proxy's queue for each replica, in bytes. libzmq bounds an XPUB's queue per subscriber in
 * messages only (ZMQ_SNDHWM), and the proxy queued 100,000 of them whatever their size: a
 * replica that stopped reading let the proxy grow by 100,000 × --max-frame-bytes (measured: a
 * 293 MiB flood of 200 KB messages grew it by 291 MiB, all of it kept for the stalled replica).
 * The proxy forwards no message over --max-frame-bytes (all frames together), so a queue of
 * ⌊bytes ÷ --max-frame-bytes⌋ messages holds at most `bytes`, whatever the messages are.
 * Kept apart from bus.ts so the command can validate without loading libzmq.
 */

import { largestMessage } from './bus-budget.js';

/** The queue in messages with no byte bound in the way. */
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

/**
 * The upstream socket's receive queue, in bytes (--upstream-queue-max-bytes). It was 100,000
 * messages of any size: while the proxy's main thread is busy, libzmq's I/O thread reads on
 * into it, and each message may be up to 4× --max-frame-bytes per frame before libzmq refuses
 * it (measured: with the main thread blocked 400 ms in every 450, a flood of 900 KB messages grew
 * the proxy by 600+ MiB, and 100,000 such messages could hold ~88 GB). At the bound libzmq stops
 * reading, TCP pushes back and the upstream publisher holds (or, past its send high-water mark,
 * drops) the rest: replicas see a seq_id gap.
 */
export const DEFAULT_UPSTREAM_QUEUE_MAX_BYTES = 1024 * 1024 * 1024;

/**
 * Messages queued upstream: libzmq holds its queue plus the message it is reading, each at most
 * largestMessage() (fedmsg's two frames at the hard cap; as bus-budget.ts, more frames per
 * message escape any bound libzmq offers), so (queue + 1) × largestMessage ≤ bytes.
 */
export function upstreamQueue(bytes: number, maxFrameBytes: number): number {
  return Math.max(1, Math.min(PROXY_HIGH_WATER_MARK, Math.floor(bytes / largestMessage(maxFrameBytes)) - 1));
}

/** Why `value` is not a usable --upstream-queue-max-bytes with this frame cap, or null. */
export function upstreamQueueProblem(value: number, maxFrameBytes: number): string | null {
  if (!Number.isSafeInteger(value) || value > MAX_REPLICA_QUEUE_MAX_BYTES)
    return `must be a whole number of bytes up to 2^50`;
  const least = 2 * largestMessage(maxFrameBytes);
  if (value < least)
    return `must be at least ${least} (a queue of one message and the one being read, each of two frames at 4× --max-frame-bytes)`;
  return null;
}
