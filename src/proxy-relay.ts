/**
 * `statscache proxy`'s relay: one upstream publisher forwarded to any number of replicas, with a
 * size check on every message and bounds on the replicas' queues and connections. bus.ts makes
 * its sockets (only it loads zeromq) and hands them over through ProxySockets.
 */
import { MONITORED } from './bus-connect.js';
import { EndpointTracker, type EndpointStatus } from './bus-endpoints.js';
import { HARD_FRAME_FACTOR } from './bus-queue.js';
import { reconnectAfterRefusal } from './bus-refusal.js';
import { allReleased, closeReleasing } from './bus-release.js';
import { openFrom } from './peer-connections.js';
import { ReplicaAdmission } from './proxy-admission.js';
import { newProxyCounters, type ProxyCounters } from './proxy-counters.js';
import type { ProxyOptions } from './proxy-options.js';
import { PROXY_HIGH_WATER_MARK, replicaQueue, upstreamQueue } from './proxy-queue.js';
import type { ProxySockets } from './proxy-sockets.js';
import { ForwardedSubscriptions, isSubscription, UPSTREAM_SUBSCRIPTION_QUEUE } from './proxy-subscriptions.js';
import { PROXY_ZAP_DOMAIN, startZapHandler } from './proxy-zap.js';

export type { ProxySockets, ReplicaSocket, UpstreamSocket } from './proxy-sockets.js';

/**
 * Longest message a replica may send up (ZMQ_MAXMSGSIZE on the backend XPUB); libzmq cuts the
 * connection of one that sends more, unread. What replicas send are subscriptions, a topic
 * prefix each (no topic past 255 characters is taken in, decode-frames.ts), and the handshake's
 * few properties. Unbounded, a replica's message of any size was read whole and forwarded to
 * the upstream publisher: 8 MiB ones went through a proxy of --max-frame-bytes 64 KiB.
 */
export const REPLICA_MESSAGE_MAX_BYTES = 4096;

export interface BusProxy {
  /** The backend endpoint actually bound (a wildcard port resolved). */
  readonly backend: string;
  /**
   * Resolves when the proxy has stopped (after close()) and libzmq has let go of the backend
   * endpoint and the ZAP address (bus-release.ts): a proxy started again in this process can
   * bind them at once.
   */
  readonly done: Promise<void>;
  /** Its totals and replica connections (options.counters when given), updated as it relays. */
  readonly counters: Readonly<ProxyCounters>;
  /** The upstream connection's state, read from the XSUB's monitor events (bus-endpoints.ts). */
  upstream(): EndpointStatus;
  close(): void;
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
export async function runProxy(options: ProxyOptions, sockets: ProxySockets): Promise<BusProxy> {
  const front = sockets.upstream({
    receiveHighWaterMark:
      options.upstreamQueueMaxBytes === undefined
        ? PROXY_HIGH_WATER_MARK
        : upstreamQueue(options.upstreamQueueMaxBytes, options.maxFrameBytes),
    sendHighWaterMark: UPSTREAM_SUBSCRIPTION_QUEUE,
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
  const back = sockets.replicas({
    sendHighWaterMark: queue,
    noDrop: true,
    linger: 0,
    maxMessageSize: REPLICA_MESSAGE_MAX_BYTES,
    verbosity: 'allSubs',
    ...(limit === undefined ? {} : { zapDomain: PROXY_ZAP_DOMAIN, zapEnforceDomain: true }),
  });
  const counters = options.counters ?? newProxyCounters();
  const upstream = new EndpointTracker(options.frontend, options.now ?? (() => performance.now()), (status, previous) =>
    options.onUpstream?.(status, previous),
  );
  for (const type of MONITORED) front.events.on(type, () => upstream.event(type));
  back.events.on('accept', () => counters.replicaConnections++);
  back.events.on('disconnect', () => counters.replicaConnections--);
  // Made here, so a start refused at its bind closes it too.
  const zap = limit === undefined ? undefined : sockets.zap();
  let gate: Awaited<ReturnType<typeof startZapHandler>> | undefined;
  /**
   * zmq_close() leaves the backend's port listening, and the ZAP handler's inproc address taken,
   * until libzmq's own threads get to them: a restart in this process met EADDRINUSE from this
   * one's sockets (a LISTEN socket of its own after 11-15 of 100 closes at load ~12; 48 of 60
   * restarts refused with libzmq's threads starved). The upstream socket only connects.
   */
  const releases: Promise<void>[] = [];
  const closeSockets = () => {
    if (!front.closed) front.close();
    closeReleasing(back, releases);
    if (zap !== undefined) closeReleasing(zap, releases);
  };
  // The backend's TCP port once bound (null for ipc: its peers have no address to count by).
  let port: number | null = null;
  try {
    if (zap !== undefined && limit !== undefined) {
      const perAddress = options.replicaMaxPerAddress;
      const admission = new ReplicaAdmission(
        limit,
        perAddress === undefined
          ? undefined
          : { max: perAddress, openFrom: (address) => (port === null ? null : openFrom(address, port)) },
      );
      back.events.on('accept', () => admission.accept());
      back.events.on('disconnect', () => admission.disconnect());
      gate = await startZapHandler(zap, admission, (refusal, address) => {
        counters.replicasRefused++;
        options.onReplicaRefused?.(refusal, address);
      });
    }
    await back.bind(options.backend);
    const bound = /^tcp:\/\/.*:(\d+)$/.exec(back.lastEndpoint ?? '');
    port = bound?.[1] === undefined ? null : Number(bound[1]);
    front.connect(options.frontend);
  } catch (err) {
    closeSockets();
    // A start refused at the backend has let go of the ZAP address it bound before failing.
    await allReleased(releases);
    throw err;
  }
  let closing = false;
  const cancelReconnect = reconnectAfterRefusal(
    front,
    options.frontend,
    () => closing,
    () => {
      counters.refused++;
      options.onRefused?.();
    },
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
      counters.replicaFull++;
      options.onReplicaFull?.();
    }
  };
  const down = async () => {
    for await (const frames of front) {
      let bytes = 0;
      for (const f of frames) bytes += f.length;
      if (bytes > max) {
        counters.oversized++;
        options.onOversized?.(bytes);
      } else {
        await forward(frames);
        counters.forwarded++;
      }
    }
  };
  // What goes up is the replicas' subscriptions. XPUB hands over whatever else a replica sends,
  // and XSUB forwards it: any message, of any number of frames, reached the upstream publisher.
  // And at most PROXY_SUBSCRIPTIONS_MAX distinct prefixes at once (proxy-subscriptions.ts).
  const subscriptions = new ForwardedSubscriptions();
  const up = async () => {
    for await (const frames of back) {
      if (!isSubscription(frames)) {
        counters.notSubscriptions++;
        continue;
      }
      const verdict = subscriptions.admit(frames[0] as Buffer);
      if (verdict === 'forward') await front.send(frames);
      else if (verdict === 'refused') counters.subscriptionsRefused++;
      counters.subscriptions = subscriptions.size;
    }
  };
  const loop = (run: () => Promise<void>) =>
    run().catch((err: unknown) => {
      if (!closing) throw err;
    });
  const close = () => {
    closing = true;
    cancelReconnect();
    closeSockets();
  };
  const done = Promise.all([loop(down), loop(up), ...(gate === undefined ? [] : [loop(() => gate.done)])]).then(
    () => {
      close();
      return allReleased(releases);
    },
    async (err: unknown) => {
      close();
      await allReleased(releases);
      throw err;
    },
  );
  return {
    backend: back.lastEndpoint ?? options.backend,
    done,
    counters,
    upstream: () => upstream.current,
    close,
  };
}
