/** What `statscache proxy`'s relay (proxy-relay.ts) is given: its endpoints, its bounds, and what it tells. */
import type { EndpointState, EndpointStatus } from './bus-endpoints.js';
import type { Refusal } from './proxy-admission.js';
import type { ProxyCounters } from './proxy-counters.js';

export interface ProxyOptions {
  readonly frontend: string;
  readonly backend: string;
  /** Messages larger than this (all frames together) are not forwarded: counted and dropped. */
  readonly maxFrameBytes: number;
  /** A message over maxFrameBytes was dropped (`bytes`: its size). */
  readonly onOversized?: (bytes: number) => void;
  /**
   * Bytes queued per replica at most (proxy-queue.ts): the queue is cut to the messages at
   * maxFrameBytes that fit. Unset: PROXY_HIGH_WATER_MARK messages.
   */
  readonly replicaQueueMaxBytes?: number;
  /**
   * A replica's queue filled: libzmq drops its messages until it has read a share of them (it
   * sees a seq_id gap). Called once each time, not per message dropped (libzmq does not tell).
   */
  readonly onReplicaFull?: () => void;
  /**
   * libzmq refused a frame over HARD_FRAME_FACTOR × maxFrameBytes unread and dropped the upstream
   * connection without reconnecting; the proxy connects again itself.
   */
  readonly onRefused?: () => void;
  /**
   * Connections open to the backend at most (proxy-admission.ts); one more is refused in its
   * handshake through ZAP. Unset: no bound.
   */
  readonly replicaMaxConnections?: number;
  /**
   * Bytes the upstream socket queues at most (proxy-queue.ts): its receive queue is cut to the
   * largest messages that fit. Unset: PROXY_HIGH_WATER_MARK messages.
   */
  readonly upstreamQueueMaxBytes?: number;
  /**
   * Connections open from one peer address at most, as the kernel lists them (peer-connections.ts;
   * TCP on Linux only). Unset: no bound per address.
   */
  readonly replicaMaxPerAddress?: number;
  /** A connection from `address` was refused, and why. */
  readonly onReplicaRefused?: (refusal: Refusal, address: string) => void;
  /** Incremented in place as the relay goes (each before its callback above is called). */
  readonly counters?: ProxyCounters;
  /** The upstream connection changed state (connected, disconnected, retrying…). */
  readonly onUpstream?: (status: EndpointStatus, previous: EndpointState) => void;
  /** Milliseconds of a monotonic clock, for the upstream state's `since` (default performance.now). */
  readonly now?: () => number;
}
