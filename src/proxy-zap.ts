/**
 * The ZAP handler that holds the proxy backend to --replica-max-connections (and the per-address
 * bound): it answers libzmq's handshake questions from ReplicaAdmission. Given its ROUTER socket
 * through ZapSocket: only bus.ts loads zeromq.
 */
import type { ReleasingSocket } from './bus-release.js';
import type { Refusal, ReplicaAdmission } from './proxy-admission.js';

/** The part of a ROUTER socket the handler answers through (and its release is read from). */
export interface ZapSocket extends AsyncIterable<Buffer[]>, ReleasingSocket {
  bind(endpoint: string): Promise<void>;
  send(frames: (Buffer | string)[]): Promise<void>;
  readonly closed: boolean;
  close(): void;
}

/** Where libzmq asks a ZAP handler in the same context (ZMQ RFC 27). */
export const ZAP_ENDPOINT = 'inproc://zeromq.zap.01';
/** The proxy backend's ZAP domain: only it asks. */
export const PROXY_ZAP_DOMAIN = 'statscache-proxy';

/**
 * A ZAP handler for the proxy backend: admits a connection while `admission` has room, else
 * answers 400, which libzmq passes to the peer as an ERROR in the handshake (a libzmq peer then
 * does not reconnect on its own; `statscache serve` does, after 1 to 2 s at random). A connection being
 * decided holds no queue: libzmq attaches the replica's pipe only after the handshake.
 */
export async function startZapHandler(
  zap: ZapSocket,
  admission: ReplicaAdmission,
  onRefused: (refusal: Refusal, address: string) => void,
) {
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
