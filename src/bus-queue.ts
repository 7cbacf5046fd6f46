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

/**
 * libzmq applies the bound to each connection: on a `--bind` socket every publisher that
 * connects gets its own queue, so the socket's total would grow with the number of publishers.
 * The bind socket's bound is shared instead: each of `peers` connections gets an equal part
 * (at least one message), recomputed when one connects or goes (libzmq applies a changed
 * ZMQ_RCVHWM to the connections it already has).
 */
export function queueShare(queueMax: number, peers: number): number {
  return Math.max(1, Math.floor(queueMax / Math.max(1, peers)));
}

/**
 * A new connection to a --bind socket starts with the bound the socket was bound with, until the
 * socket takes it in and the share is applied: that start is the share of this many publishers,
 * so connections made while the receive loop is paused (and takes nothing in) stay small.
 */
export const BIND_START_PEERS = 16;

/** The share is applied again this long after a handshake, once the socket has taken the connection in. */
export const RESHARE_MS = 200;
