/**
 * The bound on publishers connected to the `--bind` socket (--max-publishers). libzmq accepts
 * any number of connections on a bound socket, each holding a file descriptor and its own
 * receive queue (ZMQ_RCVHWM messages): whoever could reach the socket could open connections
 * until the process ran out of descriptors or memory, and intake stopped for every publisher.
 *
 * The proxy's replica bound does the same job (proxy-admission.ts, proxy-zap.ts) and its parts
 * serve here as they are: the connections open to the socket are counted from its monitor
 * events (every accepted connection ends in exactly one disconnect, so the count cannot drift),
 * and with a ZAP domain set libzmq asks the ZAP handler about each new connection before its
 * handshake completes; one past the bound is answered 400, which ends it at once (its descriptor
 * closed, no queue attached). bus.ts wires the sockets (only it loads zeromq); the thread that
 * owns them reports each change upward, where PublisherTally keeps what /readyz and /metrics show.
 */
import type { BusHooks, BusOptions } from './bus-options.js';
import { ReplicaAdmission } from './proxy-admission.js';
import { startZapHandler, type ZapSocket } from './proxy-zap.js';

/** Publishers by default: a relay's fleet fits, and 1024 descriptors and queues are affordable. */
export const DEFAULT_MAX_PUBLISHERS = 1024;

/** Largest accepted value: past it the bound no longer protects a process's descriptors. */
export const MAX_MAX_PUBLISHERS = 100_000;

/**
 * The --bind socket's ZAP domain. The socket lives in a ZeroMQ context of its own (bus.ts), so
 * its handler at inproc://zeromq.zap.01 answers it alone, whatever else the process runs.
 */
export const BIND_ZAP_DOMAIN = 'statscache-bind';

/** The part of the bound SUB socket whose connections are counted. */
export interface PublisherSocket {
  readonly events: { on(type: 'accept' | 'disconnect', listener: () => void): unknown };
}

/**
 * Connections open to the --bind socket now (in any state: admitted, in their handshake, or
 * refused and closing), and the peer address of one just refused (null: no refusal).
 */
export type PublisherReport = (connections: number, refusedFrom: string | null) => void;

/**
 * Counts `sock`'s connections and answers its ZAP requests on `zap` (bound before `sock` is), so
 * that at most `max` are open. Call before binding `sock`, made with BIND_ZAP_DOMAIN enforced.
 */
export function gatePublishers(sock: PublisherSocket, zap: ZapSocket, max: number, report: PublisherReport) {
  const admission = new ReplicaAdmission(max);
  sock.events.on('accept', () => {
    admission.accept();
    report(admission.open, null);
  });
  sock.events.on('disconnect', () => {
    admission.disconnect();
    report(admission.open, null);
  });
  return startZapHandler(zap, admission, (_refusal, address) => report(admission.open, address), {
    refusal: 'too many publishers connected',
  });
}

/** What /readyz and /metrics say of the --bind socket's publishers. */
export interface PublisherStatus {
  /** Connections open now (admitted, in their handshake, or refused and closing). */
  readonly connections: number;
  /** --max-publishers. */
  readonly max: number;
  /** Connections refused at the bound since start. */
  readonly refused: number;
}

/** Keeps the thread's reports (PublisherReport) on the main thread, and tells of each refusal. */
export class PublisherTally {
  private connections = 0;
  private refused = 0;

  constructor(
    private readonly max: number,
    private readonly onRefused?: (status: PublisherStatus, address: string) => void,
  ) {}

  readonly report: PublisherReport = (connections, refusedFrom) => {
    this.connections = connections;
    if (refusedFrom === null) return;
    this.refused++;
    this.onRefused?.(this.status(), refusedFrom);
  };

  status(): PublisherStatus {
    return { connections: this.connections, max: this.max, refused: this.refused };
  }
}

/** The tally of a subscription whose --bind socket is bounded, else null. */
export function publisherTally(
  options: Pick<BusOptions, 'bind' | 'maxPublishers'>,
  hooks: Pick<BusHooks, 'onPublisherRefused'>,
): PublisherTally | null {
  if (options.bind.length === 0 || options.maxPublishers === undefined) return null;
  return new PublisherTally(options.maxPublishers, hooks.onPublisherRefused);
}

/** /readyz's degraded reason while the --bind socket is at its bound, or null. */
export function publishersProblem(status: PublisherStatus | null): string | null {
  if (status === null || status.connections < status.max) return null;
  return `publishers on the --bind socket at --max-publishers (${status.connections} connections of ${status.max}): another one is refused (${status.refused} so far)`;
}
