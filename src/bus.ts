/**
 * The one module that talks to ZeroMQ. A Subscriber connects and/or binds to every
 * configured endpoint (libzmq reconnects on its own) and hands raw frames upward; decoding
 * and counting live elsewhere so this stays a thin edge.
 */
import { Publisher, Subscriber } from 'zeromq';

export interface BusOptions {
  readonly connect: readonly string[];
  readonly bind: readonly string[];
  /** Topic prefixes to subscribe to; `""` is everything. */
  readonly topics: readonly string[];
}

/** Returning a promise pauses the receive loop until it settles (libzmq queues meanwhile). */
export type FramesHandler = (frames: Buffer[]) => void | Promise<void>;

export interface BusSubscription {
  /** Endpoints actually bound (wildcard ports resolved), then those connected to. */
  readonly bound: readonly string[];
  readonly connected: readonly string[];
  /** Resolves when the receive loop has ended (after close()). */
  readonly done: Promise<void>;
  close(): void;
}

/**
 * Called when a connected endpoint comes back after it dropped: messages published in between
 * were lost (PUB/SUB does not queue for absent subscribers) and should be backfilled.
 */
export type ReconnectHandler = (info: { address: string; downSince: number }) => void;

export async function subscribe(options: BusOptions, onFrames: FramesHandler, onFatal: (err: unknown) => void, onReconnect?: ReconnectHandler): Promise<BusSubscription> {
  // fedmsg's own defaults: unbounded queue, reconnect 100 ms backing off to 1 s, keepalive.
  const sock = new Subscriber({
    receiveHighWaterMark: 0,
    reconnectInterval: 100,
    reconnectMaxInterval: 1000,
    tcpKeepalive: 1,
    linger: 0,
  });
  const bound: string[] = [];
  try {
    for (const endpoint of options.bind) {
      await sock.bind(endpoint);
      bound.push(sock.lastEndpoint ?? endpoint);
    }
    if (onReconnect && options.connect.length > 0) {
      const down = new Map<string, number>();
      sock.events.on('disconnect', (e) => void down.set(e.address, Date.now()));
      sock.events.on('handshake', (e) => {
        const since = down.get(e.address);
        if (since === undefined) return;
        down.delete(e.address);
        onReconnect({ address: e.address, downSince: since });
      });
    }
    for (const endpoint of options.connect) sock.connect(endpoint);
    for (const prefix of options.topics) sock.subscribe(prefix);
  } catch (err) {
    sock.close();
    throw err;
  }

  const done = (async () => {
    try {
      for await (const frames of sock) {
        const pending = onFrames(frames);
        if (pending) await pending;
      }
    } catch (err) {
      if (!sock.closed) onFatal(err);
    }
  })();

  return {
    bound,
    connected: [...options.connect],
    done,
    close: () => {
      if (!sock.closed) sock.close();
    },
  };
}

export interface BusPublisher {
  send(topic: string, body: string): Promise<void>;
  close(): void;
}

/** A fedmsg-style publisher (used by the demo's traffic simulator). */
export async function publisher(endpoint: { connect?: string; bind?: string }): Promise<BusPublisher> {
  const sock = new Publisher({ linger: 1000, sendHighWaterMark: 100_000 });
  if (endpoint.bind) await sock.bind(endpoint.bind);
  if (endpoint.connect) sock.connect(endpoint.connect);
  return {
    send: (topic, body) => sock.send([topic, body]),
    close: () => sock.close(),
  };
}
