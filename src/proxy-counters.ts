/**
 * What `statscache proxy` counts while it relays: read by its log lines, /healthz and /metrics
 * (proxy-health.ts), written by the relay (proxy-relay.ts). One object of plain fields, each
 * incremented in place: the per-message path pays one increment of an object field (a small
 * integer in V8 until 2^30, then a double box updated in place), no clock read and no allocation.
 */
export interface ProxyCounters {
  /** Messages passed to the backend (each at most --max-frame-bytes), since start. */
  forwarded: number;
  /** Messages over --max-frame-bytes dropped unforwarded. */
  oversized: number;
  /** Upstream connections libzmq dropped for a frame over 4× --max-frame-bytes (connected again). */
  refused: number;
  /** Times a replica's queue filled (--replica-queue-max-bytes): messages for it dropped until it reads. */
  replicaFull: number;
  /** Connections refused on the backend (--replica-max-connections, --replica-max-per-address). */
  replicasRefused: number;
  /**
   * Messages from replicas that were not a subscription or its cancel (one frame, first byte 1
   * or 0): dropped, not forwarded upstream.
   */
  notSubscriptions: number;
  /**
   * Subscriptions not forwarded upstream because PROXY_SUBSCRIPTIONS_MAX distinct prefixes were
   * up (proxy-subscriptions.ts): the replica gets nothing for that prefix unless it subscribes
   * to it again once a cancel made room.
   */
  subscriptionsRefused: number;
  /** Distinct prefixes forwarded upstream now, at most PROXY_SUBSCRIPTIONS_MAX. */
  subscriptions: number;
  /**
   * Connections open to the backend now: replicas, and peers still in their handshake (accepted
   * less disconnected, from the socket's monitor: libzmq names no peer on a disconnect, and every
   * accepted connection ends in exactly one disconnect, so the count cannot drift).
   */
  replicaConnections: number;
}

export function newProxyCounters(): ProxyCounters {
  return {
    forwarded: 0,
    oversized: 0,
    refused: 0,
    replicaFull: 0,
    replicasRefused: 0,
    notSubscriptions: 0,
    subscriptionsRefused: 0,
    subscriptions: 0,
    replicaConnections: 0,
  };
}
