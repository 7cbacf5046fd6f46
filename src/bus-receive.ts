/**
 * How a bus subscriber receives: the socket options that bound what it takes in (its queue,
 * the frame cap, keepalive), and the loop that hands each message upward. bus.ts makes the
 * sockets with these options (only it loads zeromq) and runs this loop on each.
 */
import type { SocketHooks } from './bus-options.js';

/** Keepalive probes unanswered before a connection is ended (fedmsg's zmq_tcp_keepalive_cnt). */
const KEEPALIVE_PROBES = 3;

/** The options a bus Subscriber is made with. */
export function subscriberOptions(
  maxMessageBytes: number | undefined,
  queueMax: number | undefined,
  keepaliveSeconds: number | undefined,
) {
  // fedmsg's own defaults (reconnect 100 ms backing off to 1 s, keepalive), but a bounded queue when asked.
  return {
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
  };
}

/** The part of a Subscriber its receive loop reads. */
export interface ReceivingSocket extends AsyncIterable<Buffer[]> {
  /** Something is queued to receive (asked of libzmq: see SocketHooks.idleWait). */
  readonly readable: boolean;
}

/**
 * Receives on `sock` until it closes, handing each message to `hooks.onFrames`; a message the
 * handler throws on is reported and skipped. A loop that ends while not `closing()` is reported.
 */
export async function receiveLoop(
  sock: ReceivingSocket,
  source: string,
  hooks: SocketHooks,
  closing: () => boolean,
): Promise<void> {
  const ended = (err: unknown) => {
    if (closing()) return;
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
      if (wait !== undefined && !closing() && !sock.readable) await wait;
    }
    ended(null);
  } catch (err) {
    ended(err);
  }
}
