/**
 * The one module that talks to ZeroMQ. One Subscriber per `--connect` endpoint (so every
 * message's source is known: fedmsg relays number their stream with `seq_id`, which is only
 * meaningful per relay, and each endpoint's connection state can be reported), plus one
 * Subscriber for all `--bind` endpoints (publishers connecting in are not told apart: libzmq
 * does not say which peer sent a message). libzmq reconnects on its own; raw frames go
 * upward, decoding and counting live elsewhere so this stays a thin edge.
 */
import { Publisher, Router, Subscriber, XPublisher, XSubscriber } from 'zeromq';
import { bindAll } from './bus-bind.js';
import { watchEndpoint } from './bus-connect.js';
import { EndpointSet } from './bus-endpoints.js';
import {
  BIND_SOURCE,
  type BusHooks,
  type BusOptions,
  type BusSubscription,
  type OpenSockets,
  type SocketHooks,
} from './bus-options.js';
import { bindQueue, HARD_FRAME_FACTOR } from './bus-queue.js';
import { receiveLoop, subscriberOptions } from './bus-receive.js';
import { allReleased, closeReleasing, letGo, type Monitor } from './bus-release.js';
import type { ProxyOptions } from './proxy-options.js';
import { type BusProxy, runProxy } from './proxy-relay.js';

export type { EndpointState, EndpointStatus, MonitorEvent } from './bus-endpoints.js';
export type {
  BusHooks,
  BusOptions,
  BusSubscription,
  FramesHandler,
  OpenSockets,
  ReconnectHandler,
  SocketHooks,
} from './bus-options.js';
export { BIND_SOURCE } from './bus-options.js';
export { REFUSED_GRACE_MS, reconnectAfterRefusal, refusedRetryDelay } from './bus-refusal.js';
export type { ProxyOptions } from './proxy-options.js';
export type { BusProxy } from './proxy-relay.js';

// Declared beside the queue bounds, which config validation reads without loading libzmq.
export { HARD_FRAME_FACTOR };

function newSocket(
  maxMessageBytes: number | undefined,
  queueMax: number | undefined,
  keepaliveSeconds: number | undefined,
): Subscriber {
  return new Subscriber(subscriberOptions(maxMessageBytes, queueMax, keepaliveSeconds));
}

/**
 * Opens the sockets and runs one receive loop per socket. Endpoint states are not kept here:
 * the bus decoder thread (bus-thread.ts) runs this off the main thread and forwards monitor
 * events, so states are kept where the service's clock is.
 */
export async function openSockets(options: BusOptions, hooks: SocketHooks): Promise<OpenSockets> {
  const sockets: { sock: Subscriber; source: string }[] = [];
  let closing = false;
  /** zmq_close() returns before libzmq has closed a listener's port (bus-release.ts). */
  const releases: Promise<void>[] = [];
  /** Every monitor made (a --connect socket's from its start, the others' as they close), once each. */
  const monitors = new Set<Monitor>();
  const closeAll = () => {
    closing = true;
    for (const { sock } of sockets) {
      if (!sock.closed) monitors.add(sock.events);
      closeReleasing(sock, releases);
    }
  };
  // On a thread that is ending, what libzmq has not said by the wait's bound is not waited for.
  const closedReleased = () =>
    allReleased(releases).then(() => {
      if (hooks.endsThread) letGo(monitors);
    });
  const bound: string[] = [];
  try {
    if (options.bind.length > 0) {
      const perPublisher =
        options.bindQueueMax ?? (options.queueMax === undefined ? undefined : bindQueue(options.queueMax));
      const sock = newSocket(options.maxMessageBytes, perPublisher, options.keepaliveSeconds);
      sockets.push({ sock, source: BIND_SOURCE });
      await bindAll(sock, options.bind, bound);
    }
    for (const endpoint of options.connect) {
      const sock = newSocket(options.maxMessageBytes, options.queueMax, options.keepaliveSeconds);
      sockets.push({ sock, source: endpoint });
      watchEndpoint(sock, endpoint, options.maxMessageBytes, hooks, () => closing);
      monitors.add(sock.events);
      sock.connect(endpoint);
    }
    for (const { sock } of sockets) for (const prefix of options.topics) sock.subscribe(prefix);
  } catch (err) {
    closeAll();
    // An endpoint bound before the one refused is free again when the start fails.
    await closedReleased();
    throw err;
  }

  // A socket still open (its loop failed, close() not called) is not waited for: it never would be.
  const done = Promise.all(sockets.map(({ sock, source }) => receiveLoop(sock, source, hooks, () => closing))).then(
    closedReleased,
  );
  return { bound, done, close: closeAll };
}

/** Receives on this thread: sockets plus endpoint tracking (the service runs it when the decoder thread is off). */
export async function subscribe(options: BusOptions, hooks: BusHooks): Promise<BusSubscription> {
  const endpoints = new EndpointSet(options.connect, hooks);
  const sockets = await openSockets(options, {
    onFrames: hooks.onFrames,
    onMonitor: (source, type) => endpoints.event(source, type),
    onReceiveError: hooks.onReceiveError,
    onLoopEnd: hooks.onLoopEnd,
  });
  return {
    bound: sockets.bound,
    connected: [...options.connect],
    done: sockets.done,
    endpoints: () => endpoints.statuses(),
    close: sockets.close,
  };
}

export interface BusPublisher {
  /** The endpoint bound (a wildcard port resolved), none when it only connects. */
  readonly bound: readonly string[];
  send(topic: string, body: string): Promise<void>;
  /**
   * Settles once libzmq has let go of the bound endpoint (bus-release.ts), so it can be bound
   * again at once; at once when it only connects.
   */
  close(): Promise<void>;
}

/** A fedmsg-style publisher (used by the demo's traffic simulator). */
export async function publisher(endpoint: { connect?: string; bind?: string }): Promise<BusPublisher> {
  const sock = new Publisher({ linger: 1000, sendHighWaterMark: 100_000 });
  if (endpoint.bind) await sock.bind(endpoint.bind);
  if (endpoint.connect) sock.connect(endpoint.connect);
  return {
    bound: endpoint.bind && sock.lastEndpoint ? [sock.lastEndpoint] : [],
    send: (topic, body) => sock.send([topic, body]),
    close: () => {
      const releases: Promise<void>[] = [];
      if (endpoint.bind) closeReleasing(sock, releases);
      else sock.close();
      return allReleased(releases);
    },
  };
}

/** `statscache proxy`'s relay (proxy-relay.ts) over sockets made here. */
export function startProxy(options: ProxyOptions): Promise<BusProxy> {
  return runProxy(options, {
    upstream: (socketOptions) => new XSubscriber(socketOptions),
    replicas: (socketOptions) => new XPublisher(socketOptions),
    zap: () => new Router({ linger: 0 }),
  });
}
