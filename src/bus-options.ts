/**
 * What a bus subscription is asked for (endpoints, topics, the bounds on what it takes in) and
 * the hooks it answers through: the contract between bus.ts, which alone talks to ZeroMQ, and
 * the bus thread and the service, which read it without loading libzmq.
 */
import type { EndpointState, EndpointStatus, MonitorEvent } from './bus-endpoints.js';

export interface BusOptions {
  readonly connect: readonly string[];
  readonly bind: readonly string[];
  /** Topic prefixes to subscribe to; `""` is everything. */
  readonly topics: readonly string[];
  /**
   * Largest frame a bus socket takes in at all (ZMQ_MAXMSGSIZE): a frame over it is refused
   * before it is buffered. Frames under it but over --max-frame-bytes are received, counted
   * (oversized) and skipped; without it a 1 GiB frame took 1 GiB to be refused. A publisher
   * connected to the bound socket is disconnected and reconnects; on a --connect socket libzmq
   * treats the refusal as a protocol error and never reconnects on its own, so the socket is
   * connected again (reconnectAfterRefusal, bus-refusal.ts) and the refusal reported as a receive error.
   */
  readonly maxMessageBytes?: number;
  /**
   * Messages libzmq queues per connection before it stops reading it (ZMQ_RCVHWM, see
   * bus-queue.ts); the publisher then drops past its send high-water mark and the gap detector
   * counts the hole. Unset: unbounded, fedmsg's default.
   */
  readonly queueMax?: number;
  /**
   * The --bind socket's queue per publisher, when --bus-queue-max-bytes sets it (bus-budget.ts);
   * else a sixteenth of queueMax (bus-queue.ts).
   */
  readonly bindQueueMax?: number;
  /**
   * Seconds of silence after which TCP keepalive probes a connection (--bus-keepalive), every
   * min(5, this) s, 3 unanswered ending it. Unset: Linux's 2 hours, during which a connection
   * whose peer vanished without a FIN (power loss, a partition, NAT state dropped) looks connected.
   */
  readonly keepaliveSeconds?: number;
}

/** The source of messages received on the bound socket(s). */
export const BIND_SOURCE = 'bind';

/**
 * `source` is the `--connect` endpoint the message came through, or BIND_SOURCE.
 * Returning a promise pauses that socket's receive loop until it settles (libzmq queues meanwhile).
 */
export type FramesHandler = (frames: Buffer[], source: string) => void | Promise<void>;

/**
 * Called when a connected endpoint comes back after it dropped: messages published in between
 * were lost (PUB/SUB does not queue for absent subscribers) and should be backfilled.
 */
export type ReconnectHandler = (info: { address: string; downSince: number }) => void;

export interface BusHooks {
  readonly onFrames: FramesHandler;
  /** The handler threw or rejected: that message is skipped, the loop goes on. */
  readonly onReceiveError: (err: unknown, source: string) => void;
  /** A receive loop ended although close() was not called (err null: it just stopped). */
  readonly onLoopEnd: (err: unknown, source: string) => void;
  readonly onReconnect?: ReconnectHandler;
  /** A `--connect` endpoint changed state (connected, retrying, unresolved…). */
  readonly onEndpoint?: (status: EndpointStatus, previous: EndpointState) => void;
  readonly now?: () => number;
}

export interface BusSubscription {
  /** Endpoints actually bound (wildcard ports resolved), then those connected to. */
  readonly bound: readonly string[];
  readonly connected: readonly string[];
  /**
   * Resolves when every receive loop has ended (after close(), or on failure) and libzmq has
   * let go of each socket closed by then: its bound ports can be bound again (bus-release.ts).
   */
  readonly done: Promise<void>;
  /** The state of each `--connect` endpoint, in configuration order. */
  endpoints(): EndpointStatus[];
  close(): void;
}

/** The socket side of a subscription: raw frames and monitor events, nothing interpreted. */
export interface SocketHooks {
  readonly onFrames: FramesHandler;
  readonly onMonitor: (source: string, type: MonitorEvent) => void;
  readonly onReceiveError: (err: unknown, source: string) => void;
  readonly onLoopEnd: (err: unknown, source: string) => void;
  /**
   * Called after each message; when it returns a promise and the socket has nothing queued,
   * the next receive waits for it. The bus thread waits out its linger here after the first
   * message of a batch: a trickle then wakes it once per batch, and the messages that came
   * meanwhile are read back to back. Asking the socket whether it holds more costs a call into
   * libzmq, so it is asked only when the hook wants to wait (at saturation, once per batch).
   */
  readonly idleWait?: () => Promise<void> | undefined;
  /**
   * Opened on a thread that ends once `done` settles (the bus thread): the monitors libzmq has
   * not released by then are closed (bus-release.ts letGo), as a read still pending when the
   * thread is ended aborts the whole process.
   */
  readonly endsThread?: boolean;
}

export interface OpenSockets {
  readonly bound: readonly string[];
  /** As BusSubscription's: the loops ended and the closed sockets released. */
  readonly done: Promise<void>;
  close(): void;
}
