/**
 * Connecting again after libzmq ended a session for good (a frame over ZMQ_MAXMSGSIZE, a ZAP
 * refusal): used by every --connect subscriber and by the proxy's upstream socket. Given the
 * socket through RefusableSocket: only bus.ts loads zeromq.
 */

/** The part of a SUB or XSUB socket a refusal is watched and undone through. */
export interface RefusableSocket {
  readonly events: {
    on(type: 'disconnect' | 'connect:retry' | 'connect:delay' | 'connect', listener: () => void): unknown;
  };
  readonly closed: boolean;
  connect(endpoint: string): void;
  disconnect(endpoint: string): void;
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
  sock: RefusableSocket,
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
