/**
 * What `statscache proxy` says of itself over HTTP (proxy-http.ts): /healthz and the values
 * /metrics exports, read from the relay's counters and upstream state (proxy-relay.ts). The
 * time of the last message is not read per message (that path pays one counter increment and
 * nothing else): sample() notes when the count of messages from upstream has moved, once a
 * second and on every question, so the age it reports is late by at most a second.
 */
import type { EndpointState, EndpointStatus } from './bus-endpoints.js';
import type { ProxyCounters } from './proxy-counters.js';

/** The part of the running relay (BusProxy) health is read from. */
export interface RelayView {
  readonly backend: string;
  readonly done: Promise<void>;
  readonly counters: Readonly<ProxyCounters>;
  upstream(): EndpointStatus;
}

/** Everything /healthz and /metrics tell, at one moment. */
export interface ProxyHealthView {
  /** Null while the relay runs; otherwise why it is not (stopping, ended, failed). */
  readonly failing: string | null;
  readonly upstream: EndpointStatus;
  readonly upstreamConnected: boolean;
  readonly backend: string;
  /** Seconds since a message last came from upstream (forwarded or not); null before the first. */
  readonly secondsSinceLastMessage: number | null;
  readonly uptimeSeconds: number;
  readonly counters: Readonly<ProxyCounters>;
}

const seconds = (ms: number): number => Math.max(0, Math.floor(ms / 1000));

export class ProxyHealth {
  private readonly startedAt: number;
  private seen = 0;
  private lastMessageAt: number | null = null;
  private failing: string | null = null;
  private readonly timer: ReturnType<typeof setInterval> | undefined;

  /** `now`: milliseconds of a monotonic clock; `sampleEveryMs` 0 leaves sampling to the questions (tests). */
  constructor(
    private readonly relay: RelayView,
    private readonly now: () => number = () => performance.now(),
    sampleEveryMs = 1000,
  ) {
    this.startedAt = now();
    relay.done.then(
      () => this.fail('the relay has stopped'),
      (err: unknown) => this.fail(`the relay failed: ${(err as Error)?.message ?? String(err)}`),
    );
    if (sampleEveryMs > 0) {
      this.timer = setInterval(() => this.sample(), sampleEveryMs);
      // The proxy ends when its relay does, not when this is stopped.
      this.timer.unref();
    }
  }

  /** Notes the time if messages came from upstream since the last look. */
  sample(): void {
    const { forwarded, oversized } = this.relay.counters;
    const received = forwarded + oversized;
    if (received === this.seen) return;
    this.seen = received;
    this.lastMessageAt = this.now();
  }

  /** The relay is being stopped (a signal): health fails from now on, before the relay has ended. */
  stopping(why: string): void {
    this.fail(`stopping: ${why}`);
  }

  private fail(reason: string): void {
    // The first reason stands: a relay stopped on SIGTERM then ends, which says less.
    this.failing ??= reason;
  }

  view(): ProxyHealthView {
    this.sample();
    const now = this.now();
    const upstream = this.relay.upstream();
    return {
      failing: this.failing,
      upstream,
      upstreamConnected: upstream.state === 'connected',
      backend: this.relay.backend,
      secondsSinceLastMessage: this.lastMessageAt === null ? null : seconds(now - this.lastMessageAt),
      uptimeSeconds: seconds(now - this.startedAt),
      counters: { ...this.relay.counters },
    };
  }

  /**
   * The /healthz answer: 200 and `ok` (with `degraded` while upstream is not connected), or 503
   * and `failing` with the reason; the same details either way, so the totals at a failure show.
   */
  healthz(): { readonly status: 200 | 503; readonly body: Record<string, unknown> } {
    const v = this.view();
    const c = v.counters;
    const upSeconds = seconds(this.now() - v.upstream.since);
    const details = {
      upstream: {
        endpoint: v.upstream.endpoint,
        connected: v.upstreamConnected,
        state: v.upstream.state,
        state_seconds: upSeconds,
        last_error: v.upstream.lastError,
      },
      seconds_since_last_message: v.secondsSinceLastMessage,
      uptime_seconds: v.uptimeSeconds,
      backend: v.backend,
      replicas_connected: c.replicaConnections,
      totals: {
        forwarded: c.forwarded,
        oversized: c.oversized,
        refused: c.refused,
        replica_full: c.replicaFull,
        replicas_refused: c.replicasRefused,
        not_subscriptions: c.notSubscriptions,
        subscriptions_refused: c.subscriptionsRefused,
      },
      subscriptions: c.subscriptions,
    };
    if (v.failing !== null) return { status: 503, body: { status: 'failing', reason: v.failing, ...details } };
    const degraded = v.upstreamConnected ? {} : { degraded: whyDown(v.upstream, upSeconds) };
    return { status: 200, body: { status: 'ok', ...degraded, ...details } };
  }

  close(): void {
    clearInterval(this.timer);
  }
}

const STATE_WORDS: Readonly<Record<Exclude<EndpointState, 'connected'>, string>> = {
  connecting: 'not connected yet',
  disconnected: 'disconnected',
  retrying: 'not connected (retrying)',
  unresolved: 'not connected (its host does not resolve)',
};

function whyDown(status: EndpointStatus, forSeconds: number): string {
  const state = STATE_WORDS[status.state as Exclude<EndpointState, 'connected'>];
  const cause = status.lastError === null ? '' : `: ${status.lastError}`;
  return `upstream ${status.endpoint} ${state} for ${forSeconds} s${cause}; replicas receive nothing meanwhile`;
}
