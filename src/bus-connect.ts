/**
 * A Subscriber per `--connect` endpoint, so every message's source is known (fedmsg relays number
 * their stream with `seq_id`, which is only meaningful per relay) and each endpoint's connection
 * state can be reported: its monitor events go upward, and a session libzmq ends for good (a
 * frame over the size limit, the publisher's ZAP refusal) is connected again (bus-refusal.ts).
 */
import type { MonitorEvent } from './bus-endpoints.js';
import type { SocketHooks } from './bus-options.js';
import { type RefusableSocket, reconnectAfterRefusal } from './bus-refusal.js';

/** The monitor events an endpoint's state is read from (bus-endpoints.ts); the proxy watches its upstream by them too. */
export const MONITORED: readonly MonitorEvent[] = [
  'connect',
  'connect:delay',
  'connect:retry',
  'close',
  'disconnect',
  'handshake',
];

/** The part of a Subscriber a `--connect` endpoint is watched through. */
export interface WatchedSocket extends RefusableSocket {
  readonly events: {
    on(type: MonitorEvent | 'handshake:error:auth', listener: () => void): unknown;
  };
}

/**
 * Forwards `sock`'s monitor events for `endpoint` to `hooks.onMonitor` and connects it again
 * after a refusal, reported as a receive error naming its cause. `limit`: the socket's
 * ZMQ_MAXMSGSIZE, if set. Call before connecting.
 */
export function watchEndpoint(
  sock: WatchedSocket,
  endpoint: string,
  limit: number | undefined,
  hooks: SocketHooks,
  closing: () => boolean,
): void {
  for (const type of MONITORED) sock.events.on(type, () => hooks.onMonitor(endpoint, type));
  // Installed whatever the options: a ZAP refusal ends the session for good too, with or
  // without a size limit (it was set up only with one, which serve always passes).
  // The publisher's ZAP handler refusing us (a statscache proxy at --replica-max-connections)
  // is said apart so the log names the right cause.
  let authRefused = false;
  sock.events.on('handshake:error:auth', () => {
    authRefused = true;
  });
  sock.events.on('handshake', () => {
    authRefused = false;
  });
  reconnectAfterRefusal(sock, endpoint, closing, () =>
    hooks.onReceiveError(
      new Error(
        authRefused || limit === undefined
          ? 'the publisher refused this connection in its handshake (ZAP; a statscache proxy does so at --replica-max-connections); connecting again'
          : `a message over ${limit} bytes was refused unread and the connection dropped; connecting again`,
      ),
      endpoint,
    ),
  );
}
