import { isIP } from 'node:net';

/**
 * What each `--connect` endpoint is doing, read from the socket monitor events libzmq emits.
 * libzmq never reports why a connect failed, so the state is inferred from the event order,
 * as measured with zeromq.js 6.8 (reconnect 100 ms backing off to 1 s):
 *
 * - host that does not resolve (`tcp://no-such-host.invalid:9940`): only `connect:retry`,
 *   never `connect:delay` (name resolution fails before a TCP connect is even attempted);
 * - closed port (`tcp://127.0.0.1:1`): `connect:delay`, `close`, `connect:retry`, repeated;
 * - a live publisher: `connect` then `handshake`; when it goes away, `disconnect`;
 * - no socket to be had (`socket()` fails with EMFILE while clients hold every descriptor): only
 *   `connect:retry`, as for a name that does not resolve (libzmq resolves, then opens the
 *   socket, and retries at once if either fails). An IP address always resolves, so for one
 *   that is what it means.
 */
export type EndpointState = 'connecting' | 'connected' | 'retrying' | 'unresolved' | 'disconnected';

export interface EndpointStatus {
  readonly endpoint: string;
  readonly state: EndpointState;
  /** The last failure seen, in words (libzmq gives no error text); null while none. */
  readonly lastError: string | null;
  /** Clock ms when the state last changed. */
  readonly since: number;
  /** Failed connection attempts since the endpoint was last connected. */
  readonly retries: number;
}

export type MonitorEvent = 'connect' | 'connect:delay' | 'connect:retry' | 'close' | 'disconnect' | 'handshake';

export class EndpointTracker {
  private status: EndpointStatus;
  /** A TCP connect was attempted since the last retry: the name resolved. */
  private attempted = false;

  constructor(
    readonly endpoint: string,
    private readonly now: () => number,
    private readonly onChange: (status: EndpointStatus, previous: EndpointState) => void,
  ) {
    this.status = { endpoint, state: 'connecting', lastError: null, since: now(), retries: 0 };
  }

  get current(): EndpointStatus {
    return this.status;
  }

  event(type: MonitorEvent): void {
    switch (type) {
      case 'connect:delay':
        this.attempted = true;
        return;
      case 'connect':
        this.attempted = true;
        return;
      case 'handshake':
        this.set('connected', null, 0);
        return;
      case 'disconnect':
        this.set('disconnected', 'the publisher closed the connection', this.status.retries);
        return;
      case 'connect:retry': {
        const host = hostOf(this.endpoint);
        const retries = this.status.retries + 1;
        if (this.attempted) this.set('retrying', `connection to ${host} refused or failed`, retries);
        else if (isIpLiteral(host))
          this.set('retrying', `no socket could be opened to connect to ${host} (out of file descriptors?)`, retries);
        else this.set('unresolved', `host ${host} did not resolve`, retries);
        this.attempted = false;
        return;
      }
      default:
        return;
    }
  }

  private set(state: EndpointState, lastError: string | null, retries: number): void {
    const previous = this.status.state;
    this.status = {
      endpoint: this.endpoint,
      state,
      lastError: lastError ?? this.status.lastError,
      since: state === previous ? this.status.since : this.now(),
      retries,
    };
    this.onChange(this.status, previous);
  }
}

const isIpLiteral = (host: string): boolean => isIP(host.replace(/^\[(.*)\]$/, '$1')) !== 0;

function hostOf(endpoint: string): string {
  const m = /^tcp:\/\/(.+):[^:]+$/.exec(endpoint);
  return m?.[1] ?? endpoint;
}

/**
 * Every `--connect` endpoint's tracker, fed monitor events by source, plus reconnect
 * detection: a handshake after a disconnect means messages published in between were lost
 * (PUB/SUB does not queue for absent subscribers) and should be backfilled.
 */
export class EndpointSet {
  private readonly trackers = new Map<string, { tracker: EndpointTracker; downSince: number | null }>();
  private readonly now: () => number;

  constructor(
    endpoints: readonly string[],
    private readonly hooks: {
      readonly onEndpoint?: (status: EndpointStatus, previous: EndpointState) => void;
      readonly onReconnect?: (info: { address: string; downSince: number }) => void;
      readonly now?: () => number;
    },
  ) {
    this.now = hooks.now ?? Date.now;
    for (const endpoint of endpoints) {
      const tracker = new EndpointTracker(endpoint, this.now, (status, previous) =>
        hooks.onEndpoint?.(status, previous),
      );
      this.trackers.set(endpoint, { tracker, downSince: null });
    }
  }

  event(endpoint: string, type: MonitorEvent): void {
    const entry = this.trackers.get(endpoint);
    if (!entry) return;
    entry.tracker.event(type);
    if (type === 'disconnect') entry.downSince = this.now();
    if (type === 'handshake' && entry.downSince !== null) {
      const downSince = entry.downSince;
      entry.downSince = null;
      this.hooks.onReconnect?.({ address: endpoint, downSince });
    }
  }

  /** In configuration order. */
  statuses(): EndpointStatus[] {
    return [...this.trackers.values()].map((e) => e.tracker.current);
  }
}
