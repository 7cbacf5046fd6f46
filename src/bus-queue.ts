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
