/**
 * The bound on messages libzmq queues for the service between the network and the receive
 * loop (ZMQ_RCVHWM). fedmsg leaves it unbounded; so did this service, and a publisher flooding
 * 30 k msg/s against ~5 k applied grew the process from 334 MB to 1.17 GB in 30 s, on to the
 * OOM killer. At the bound libzmq stops reading the connection, TCP pushes back, and the
 * publisher's PUB socket drops past its own send high-water mark: the loss lands where the
 * gap detector sees it (seq_id), not in this process's memory.
 */

/** Messages queued per connection by default: ~1.1 KB each in libzmq for typical fedmsg messages, so ~55 MB. */
export const DEFAULT_BUS_QUEUE_MAX = 50_000;

/** Publishers connected to a --bind socket that share --bus-queue-max: each gets this fraction of it. */
export const BIND_PUBLISHERS = 16;

/**
 * libzmq applies the bound to each connection: on a --bind socket every publisher that connects
 * gets its own queue, so the socket's total grows with the number of publishers. Each gets a
 * sixteenth of the bound instead, so up to 16 flooding publishers together stay within it (and
 * the socket's total grows past it only with more). The share is fixed when the socket is
 * bound, never changed after: raising ZMQ_RCVHWM on a connection whose queue is full wedges it
 * for good (its low-water mark moves past what is queued, so libzmq never resumes reading it:
 * measured, 0 of 40 later messages came through), and sharing by the number of publishers
 * connected would raise it whenever one goes.
 */
export function bindQueue(queueMax: number): number {
  return Math.max(1, Math.floor(queueMax / BIND_PUBLISHERS));
}

/** The hard cap libzmq enforces, as a multiple of --max-frame-bytes (see BusOptions.maxMessageBytes in bus-options.ts). */
export const HARD_FRAME_FACTOR = 4;
