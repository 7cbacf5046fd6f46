/**
 * The sockets `statscache proxy`'s relay (proxy-relay.ts) is given, as narrow interfaces:
 * bus.ts makes them (only it loads zeromq).
 */
import type { MonitorEvent } from './bus-endpoints.js';
import type { RefusableSocket } from './bus-refusal.js';
import type { ReleasingSocket } from './bus-release.js';
import type { ZapSocket } from './proxy-zap.js';

/** The part of the upstream XSUB socket the relay uses. */
export interface UpstreamSocket extends RefusableSocket, AsyncIterable<Buffer[]> {
  /** Every event an endpoint's state is read from (bus-endpoints.ts), those a refusal is watched by among them. */
  readonly events: { on(type: MonitorEvent, listener: () => void): unknown };
  send(frames: Buffer[]): Promise<void>;
  close(): void;
}

/** The part of the replicas' XPUB socket the relay uses ('end': libzmq let go of it, bus-release.ts). */
export interface ReplicaSocket extends AsyncIterable<Buffer[]>, ReleasingSocket {
  readonly events: { on(type: 'accept' | 'disconnect' | 'end', listener: () => void): unknown };
  bind(endpoint: string): Promise<void>;
  readonly lastEndpoint: string | null;
  noDrop: boolean;
  send(frames: Buffer[]): Promise<void>;
  readonly closed: boolean;
  close(): void;
}

/** Makes the relay's sockets with the options it asks for (bus.ts). */
export interface ProxySockets {
  upstream(options: {
    receiveHighWaterMark: number;
    sendHighWaterMark: number;
    reconnectInterval: number;
    reconnectMaxInterval: number;
    tcpKeepalive: number;
    linger: number;
    maxMessageSize: number;
  }): UpstreamSocket;
  replicas(options: {
    sendHighWaterMark: number;
    noDrop: boolean;
    linger: number;
    maxMessageSize: number;
    /** `allSubs`: every subscribe is handed over, a prefix's cancel only when no replica holds it. */
    verbosity: 'allSubs';
    zapDomain?: string;
    zapEnforceDomain?: boolean;
  }): ReplicaSocket;
  zap(): ZapSocket;
}
