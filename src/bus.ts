/**
 * The one module that talks to ZeroMQ. One Subscriber per `--connect` endpoint (so every
 * message's source is known: fedmsg relays number their stream with `seq_id`, which is only
 * meaningful per relay, and each endpoint's connection state can be reported), plus one
 * Subscriber for all `--bind` endpoints (publishers connecting in are not told apart: libzmq
 * does not say which peer sent a message). libzmq reconnects on its own; raw frames go
 * upward, decoding and counting live elsewhere so this stays a thin edge.
 */
import { Publisher, Router, Subscriber, XPublisher, XSubscriber } from 'zeromq';
import { StatscacheError } from '../actors/errors.js';
import { EndpointSet, type MonitorEvent } from './bus-endpoints.js';
import { bindQueue, HARD_FRAME_FACTOR } from './bus-queue.js';
import { openFrom } from './peer-connections.js';
import { type Refusal, ReplicaAdmission } from './proxy-admission.js';
import { PROXY_HIGH_WATER_MARK, replicaQueue, upstreamQueue } from './proxy-queue.js';

export type { EndpointState, EndpointStatus, MonitorEvent } from './bus-endpoints.js';
import type { EndpointState, EndpointStatus } from './bus-endpoints.js';

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
   * connected again here (reconnectAfterRefusal) and the refusal reported as a receive error.
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

// Declared beside the queue bounds, which config validation reads without loading libzmq.
export { HARD_FRAME_FACTOR };

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
  /** Resolves when every receive loop has ended (after close(), or on failure). */
  readonly done: Promise<void>;
  /** The state of each `--connect` endpoint, in configuration order. */
  endpoints(): EndpointStatus[];
  close(): void;
}

const MONITORED: readonly MonitorEvent[] = [
  'connect',
  'connect:delay',
  'connect:retry',
  'close',
  'disconnect',
  'handshake',
];

/** Keepalive probes unanswered before a connection is ended (fedmsg's zmq_tcp_keepalive_cnt). */
const KEEPALIVE_PROBES = 3;

function newSocket(
  maxMessageBytes: number | undefined,
  queueMax: number | undefined,
  keepaliveSeconds: number | undefined,
): Subscriber {
  // fedmsg's own defaults (reconnect 100 ms backing off to 1 s, keepalive), but a bounded queue when asked.
  return new Subscriber({
    receiveHighWaterMark: queueMax ?? 0,
    reconnectInterval: 100,
    reconnectMaxInterval: 1000,
    tcpKeepalive: 1,
    ...(keepaliveSeconds === undefined
      ? {}
      : {
          tcpKeepaliveIdle: keepaliveSeconds,
          tcpKeepaliveInterval: Math.min(5, keepaliveSeconds),
          tcpKeepaliveCount: KEEPALIVE_PROBES,
        }),
    linger: 0,
    ...(maxMessageBytes === undefined ? {} : { maxMessageSize: maxMessageBytes }),
  });
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
}

export interface OpenSockets {
  readonly bound: readonly string[];
  readonly done: Promise<void>;
  close(): void;
}

/**
 * Opens the sockets and runs one receive loop per socket. Endpoint states are not kept here:
 * the bus decoder thread (bus-thread.ts) runs this off the main thread and forwards monitor
 * events, so states are kept where the service's clock is.
 */
export async function openSockets(options: BusOptions, hooks: SocketHooks): Promise<OpenSockets> {
  const sockets: { sock: Subscriber; source: string }[] = [];
  let closing = false;
  const closeAll = () => {
    closing = true;
    for (const { sock } of sockets) if (!sock.closed) sock.close();
  };
  const bound: string[] = [];
  try {
    if (options.bind.length > 0) {
      const perPublisher =
        options.bindQueueMax ?? (options.queueMax === undefined ? undefined : bindQueue(options.queueMax));
      const sock = newSocket(options.maxMessageBytes, perPublisher, options.keepaliveSeconds);
      sockets.push({ sock, source: BIND_SOURCE });
      for (const endpoint of options.bind) {
        try {
          await sock.bind(endpoint);
        } catch (err) {
          // An operator's to fix (exit 2): a supervisor restarting us would meet the same refusal.
          throw new StatscacheError(
            'SC_BUS_BIND_FAILED',
            `cannot bind the bus socket to ${endpoint}: ${(err as Error)?.message ?? String(err)}; pass another --bind or stop what holds it`,
          );
        }
        bound.push(sock.lastEndpoint ?? endpoint);
      }
    }
    for (const endpoint of options.connect) {
      const sock = newSocket(options.maxMessageBytes, options.queueMax, options.keepaliveSeconds);
      sockets.push({ sock, source: endpoint });
      for (const type of MONITORED) sock.events.on(type, () => hooks.onMonitor(endpoint, type));
      // Installed whatever the options: a ZAP refusal ends the session for good too, with or
      // without a size limit (it was set up only with one, which serve always passes).
      const limit = options.maxMessageBytes;
      // The publisher's ZAP handler refusing us (a statscache proxy at --replica-max-connections)
      // is said apart so the log names the right cause.
      let authRefused = false;
      sock.events.on('handshake:error:auth', () => {
        authRefused = true;
      });
      sock.events.on('handshake', () => {
        authRefused = false;
      });
      reconnectAfterRefusal(
        sock,
        endpoint,
        () => closing,
        () =>
          hooks.onReceiveError(
            new Error(
              authRefused || limit === undefined
                ? 'the publisher refused this connection in its handshake (ZAP; a statscache proxy does so at --replica-max-connections); connecting again'
                : `a message over ${limit} bytes was refused unread and the connection dropped; connecting again`,
            ),
            endpoint,
          ),
      );
      sock.connect(endpoint);
    }
    for (const { sock } of sockets) for (const prefix of options.topics) sock.subscribe(prefix);
  } catch (err) {
    closeAll();
    throw err;
  }

  const loop = async ({ sock, source }: { sock: Subscriber; source: string }) => {
    const ended = (err: unknown) => {
      if (closing) return;
      try {
        hooks.onLoopEnd(err, source);
      } catch {
        // Nothing is left to tell; `done` must still settle.
      }
    };
    try {
      for await (const frames of sock) {
        try {
          const pending = hooks.onFrames(frames, source);
          if (pending) await pending;
        } catch (err) {
          hooks.onReceiveError(err, source);
        }
        const wait = hooks.idleWait?.();
        if (wait !== undefined && !closing && !sock.readable) await wait;
      }
      ended(null);
    } catch (err) {
      ended(err);
    }
  };
  const done = Promise.all(sockets.map(loop)).then(() => undefined);
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

export interface BusProxy {
  /** The backend endpoint actually bound (a wildcard port resolved). */
  readonly backend: string;
  /** Resolves when the proxy has stopped (after close()). */
  readonly done: Promise<void>;
  close(): void;
}

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
}

/** Where libzmq asks a ZAP handler in the same context (ZMQ RFC 27). */
const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
/** The proxy backend's ZAP domain: only it asks. */
const PROXY_ZAP_DOMAIN = 'statscache-proxy';

/**
 * A ZAP handler for the proxy backend: admits a connection while `admission` has room, else
 * answers 400, which libzmq passes to the peer as an ERROR in the handshake (a libzmq peer then
 * does not reconnect on its own; `statscache serve` does, after 1 to 2 s at random). A connection being
 * decided holds no queue: libzmq attaches the replica's pipe only after the handshake.
 */
async function startZapHandler(admission: ReplicaAdmission, onRefused: (refusal: Refusal, address: string) => void) {
  const zap = new Router({ linger: 0 });
  await zap.bind(ZAP_ENDPOINT);
  // zeromq.js allows one send in flight per socket.
  let sending: Promise<void> = Promise.resolve();
  const reply = (frames: (Buffer | string)[]) => {
    sending = sending.then(() => zap.send(frames)).catch(() => {});
  };
  const run = async () => {
    for await (const frames of zap) {
      // [routing id, empty, version, request id, domain, address, identity, mechanism, ...]
      const [id, empty, version, requestId, , address] = frames;
      if (id === undefined || empty === undefined || version === undefined || requestId === undefined) continue;
      const peer = address?.toString() ?? '';
      admission.request((refusal) => {
        if (refusal !== null) onRefused(refusal, peer);
        reply([
          id,
          empty,
          version,
          requestId,
          refusal === null ? '200' : '400',
          refusal === null ? 'OK' : 'too many replicas connected',
          '',
          '',
        ]);
      }, peer);
    }
  };
  const done = run().catch((err: unknown) => {
    if (!zap.closed) throw err;
  });
  return { zap, done };
}

/** How long after a disconnect libzmq has to schedule its own reconnect before the socket is connected again. */
export const REFUSED_GRACE_MS = 1000;

/**
 * The wait before connecting again after a refusal: REFUSED_GRACE_MS plus a random share of it
 * up to as much again (1 to 2 s), as libzmq adds up to one reconnect interval at random to its
 * own reconnects. Without the random share, sockets refused at the same moment (replicas a
 * statscache proxy refused together at --replica-max-connections) all came back at the same
 * moment a second later, were judged together and refused together again, round after round,
 * while a place stood free (test/e2e/bus-refusal-retry.test.ts).
 */
export function refusedRetryDelay(random: () => number = Math.random): number {
  const share = Math.min(Math.max(random(), 0), 1);
  return REFUSED_GRACE_MS + Math.floor(share * REFUSED_GRACE_MS);
}

/**
 * libzmq refuses a message over ZMQ_MAXMSGSIZE before it is read, treats that as a protocol
 * error and ends the session without reconnecting (checked with real sockets: after a 500 KB
 * frame against a 100 KB cap, only 'disconnect', no 'connect:retry', nothing more delivered);
 * a publisher's ZAP handler refusing the connection in its handshake ends it the same way
 * (checked: 'handshake:error:auth', 'disconnect', then nothing; about 2% of 3,000 refusals
 * answered at once were followed by libzmq's own 'connect:retry' instead). After a disconnect
 * that libzmq does not follow with a reconnect of its own within refusedRetryDelay() (1 to 2 s,
 * at random so sockets refused together do not come back together), the endpoint is
 * disconnected and connected again (a SUB sends its subscriptions again) and `onRefused` told.
 * Returns a function that cancels a pending one. `random` is injectable for tests.
 */
export function reconnectAfterRefusal(
  sock: Subscriber | XSubscriber,
  endpoint: string,
  closing: () => boolean,
  onRefused: () => void,
  random: () => number = Math.random,
): () => void {
  let refused: ReturnType<typeof setTimeout> | undefined;
  sock.events.on('disconnect', () => {
    clearTimeout(refused);
    refused = setTimeout(() => {
      if (closing() || sock.closed) return;
      sock.disconnect(endpoint);
      sock.connect(endpoint);
      onRefused();
    }, refusedRetryDelay(random));
  });
  // libzmq reconnecting on its own (connect:retry), or a connection made: nothing to do.
  for (const type of ['connect:retry', 'connect:delay', 'connect'] as const)
    sock.events.on(type, () => clearTimeout(refused));
  return () => clearTimeout(refused);
}

/**
 * An XSUB connected to one upstream publisher and an XPUB bound for any number of replicas,
 * forwarded here instead of by zmq_proxy so a message's size can be checked: subscriptions
 * travel upstream, messages down, so one upstream connection feeds every replica. One upstream
 * per proxy: fedmsg's `seq_id` is only meaningful per relay, and replicas detect gaps per
 * endpoint they connect to.
 *
 * zmq_proxy forwarded frames of any size: 300 MB frames with replicas that did not read took
 * the proxy to 1.3 GB. A message over maxFrameBytes is dropped here (replicas see a seq_id gap),
 * so each replica's queue of replicaQueue() messages holds at most replicaQueueMaxBytes.
 * One over HARD_FRAME_FACTOR times that is refused by libzmq before it is read
 * (ZMQ_MAXMSGSIZE), which treats it as a protocol error and never reconnects to that endpoint:
 * after a disconnect that libzmq does not follow with a reconnect of its own, the proxy
 * disconnects and connects the endpoint again (the XSUB sends its subscriptions again).
 */
export async function startProxy(options: ProxyOptions): Promise<BusProxy> {
  const front = new XSubscriber({
    receiveHighWaterMark:
      options.upstreamQueueMaxBytes === undefined
        ? PROXY_HIGH_WATER_MARK
        : upstreamQueue(options.upstreamQueueMaxBytes, options.maxFrameBytes),
    reconnectInterval: 100,
    reconnectMaxInterval: 1000,
    tcpKeepalive: 1,
    linger: 0,
    maxMessageSize: options.maxFrameBytes * HARD_FRAME_FACTOR,
  });
  const queue =
    options.replicaQueueMaxBytes === undefined
      ? PROXY_HIGH_WATER_MARK
      : replicaQueue(options.replicaQueueMaxBytes, options.maxFrameBytes);
  // noDrop: a send fails (EAGAIN) instead of dropping silently when a replica's queue is full,
  // the only way libzmq tells; forward() then sends it to the others and counts the event.
  const limit = options.replicaMaxConnections;
  // With a ZAP domain libzmq asks the handler about every connection; enforced, a connection
  // is refused rather than let in unasked should the handler be missing.
  const back = new XPublisher({
    sendHighWaterMark: queue,
    noDrop: true,
    linger: 0,
    ...(limit === undefined ? {} : { zapDomain: PROXY_ZAP_DOMAIN, zapEnforceDomain: true }),
  });
  let gate: Awaited<ReturnType<typeof startZapHandler>> | undefined;
  // The backend's TCP port once bound (null for ipc: its peers have no address to count by).
  let port: number | null = null;
  try {
    if (limit !== undefined) {
      const perAddress = options.replicaMaxPerAddress;
      const admission = new ReplicaAdmission(
        limit,
        perAddress === undefined
          ? undefined
          : { max: perAddress, openFrom: (address) => (port === null ? null : openFrom(address, port)) },
      );
      back.events.on('accept', () => admission.accept());
      back.events.on('disconnect', () => admission.disconnect());
      gate = await startZapHandler(admission, (refusal, address) => options.onReplicaRefused?.(refusal, address));
    }
    await back.bind(options.backend);
    const bound = /^tcp:\/\/.*:(\d+)$/.exec(back.lastEndpoint ?? '');
    port = bound?.[1] === undefined ? null : Number(bound[1]);
    front.connect(options.frontend);
  } catch (err) {
    front.close();
    back.close();
    gate?.zap.close();
    throw err;
  }
  let closing = false;
  const cancelReconnect = reconnectAfterRefusal(
    front,
    options.frontend,
    () => closing,
    () => options.onRefused?.(),
  );

  const max = options.maxFrameBytes;
  /**
   * zeromq.js warns (process.emitWarning, a stderr line per call) on any option set after bind,
   * although libzmq applies ZMQ_XPUB_NODROP at once; a replica that keeps falling behind makes
   * this toggle often, so the warning is muted for this one synchronous call.
   */
  const setNoDrop = (on: boolean) => {
    const warn = process.emitWarning;
    process.emitWarning = () => {};
    try {
      back.noDrop = on;
    } finally {
      process.emitWarning = warn;
    }
  };
  /**
   * With noDrop a message that a matching replica has no room for is refused whole before any
   * frame is queued (libzmq checks every matching queue first); it then goes, lossy, to the
   * replicas with room. libzmq leaves the full replica out of later sends until it has read a
   * share of its queue (its low-water mark), so this counts the times a replica's queue filled,
   * not the messages it missed: libzmq does not say how many (the replica counts the seq_id gap).
   */
  const forward = async (frames: Buffer[]) => {
    try {
      await back.send(frames);
    } catch (err) {
      if ((err as { code?: unknown }).code !== 'EAGAIN') throw err;
      setNoDrop(false);
      try {
        await back.send(frames);
      } finally {
        setNoDrop(true);
      }
      options.onReplicaFull?.();
    }
  };
  const down = async () => {
    for await (const frames of front) {
      let bytes = 0;
      for (const f of frames) bytes += f.length;
      if (bytes > max) options.onOversized?.(bytes);
      else await forward(frames);
    }
  };
  const up = async () => {
    for await (const frames of back) await front.send(frames);
  };
  const loop = (run: () => Promise<void>) =>
    run().catch((err: unknown) => {
      if (!closing) throw err;
    });
  const close = () => {
    closing = true;
    cancelReconnect();
    if (!front.closed) front.close();
    if (!back.closed) back.close();
    if (gate !== undefined && !gate.zap.closed) gate.zap.close();
  };
  const done = Promise.all([loop(down), loop(up), ...(gate === undefined ? [] : [loop(() => gate.done)])]).then(
    close,
    (err: unknown) => {
      close();
      throw err;
    },
  );
  return {
    backend: back.lastEndpoint ?? options.backend,
    done,
    close,
  };
}
