import type { TokenBucket } from './token-bucket.js';
import type { ViewFailureLog } from './view-failure-log.js';
import type { SubscriptionId } from './ws-frames.js';
import type { LiveView } from './ws-view.js';

/** One WebSocket as the hub sees it (ws-route adapts the real socket). */
export interface WsPeer {
  /** uWS's result: 1 sent, 0 queued (back-pressure), 2 dropped (over the hard limit). */
  send(text: string): number;
  bufferedAmount(): number;
  /** Joins a pub/sub topic: one encoded frame then reaches every member. */
  subscribe(topic: string): void;
  unsubscribe(topic: string): void;
  /** Graceful close with a code and reason (uWS discards what is still queued: call it once drained). */
  end(code: number, reason: string): void;
  /** Immediate close, for a peer that never drains. */
  terminate(): void;
  /** Batches the sends of `fn` into one write. */
  cork(fn: () => void): void;
}

/** Frames per second a client may send by default (config wsMaxFramesPerSecond). */
export const DEFAULT_MAX_FRAMES_PER_SECOND = 100;

export type Publish = (topic: string, text: string) => void;

/** The uWS pub/sub topic a view's updates are published to; a healthy subscriber is a member. */
export const topicOf = (view: LiveView) => `v:${view.key}`;

/** Why a long-lived connection (WebSocket upgrade, SSE stream) is not taken, as its HTTP answer. */
export interface ConnectionRefusal {
  /** 404 `not_found`: a server with no WebSocket at all (uws-server.ts listenPlain). */
  readonly status: 404 | 429 | 503;
  readonly error: 'too_many_connections' | 'server_full' | 'starting' | 'not_found';
  readonly detail: string;
  readonly retryAfterSeconds?: number;
}

export interface HubLimits {
  readonly maxSubscriptions: number;
  /** WebSocket and SSE connections of all clients together (config wsMaxConnections). Default: no bound. */
  readonly maxConnections?: number;
  readonly maxConnectionsPerIp: number;
  /** Subscriptions (WebSocket subscriptions and SSE streams together) one client IP may hold: each can pin a view. */
  readonly maxSubscriptionsPerIp: number;
  /** Soft limit: above it a client gets coalesced snapshots; 4× is the hard limit (closed at once). */
  readonly maxBufferedBytes: number;
  readonly slowTimeoutMs: number;
  readonly maxFrameBytes: number;
  /** Frames a client may send per second, sustained; twice as many at once (a page subscribing to all its views). */
  readonly maxFramesPerSecond?: number;
  readonly resumeFrames: number;
  /** Bytes of update frames all live views keep for resume together (config wsResumeBytes). Default: 1 MiB per view only. */
  readonly resumeBytes?: number;
  readonly tickMs: number;
}

export interface HubOptions extends HubLimits {
  readonly now: () => number;
  readonly log?: (level: 'info' | 'warn', fields: Record<string, unknown>, msg: string) => void;
  /** Told of each view failure a subscription, stream or live view met: the log line HTTP's failures share (view-failure-log.ts). */
  readonly onViewFailed: ViewFailureLog;
  readonly maxViews?: number;
  /** Views one client IP may have computed (created or woken) per minute; see view-budget.ts. */
  readonly maxNewViewsPerIp?: number;
  /** Deepest row a subscription's page may reach, as for `/api/<ident>`. */
  readonly maxPageDepth?: number;
  readonly lingerMs?: number;
  readonly sseHeartbeatMs?: number;
  /** Fixed epoch (tests); default: random per process start. */
  readonly epoch?: string;
}

export interface Subscription {
  readonly view: LiveView;
  id: SubscriptionId | undefined;
}

/** A WebSocket connection's state: the hub's handle, kept in the socket's user data. */
export class WsConnection {
  readonly subs = new Map<string, Subscription>();
  /** When it went over the soft limit, or last caught up a little while re-sending; null when healthy. */
  slowSince: number | null = null;
  /**
   * Views (by key) already re-sent in the current paced resync, which runs from the first drain
   * until every subscription has its snapshot; null when none is in progress.
   */
  resent: Set<string> | null = null;
  /** Bytes queued right after the last paced send: updates of re-sent views queue on top of it. */
  resentMark = 0;
  /** Set once the hub decided to close it: the close frame waits for the queue to drain. */
  closing: { since: number; reason: string } | null = null;
  closed = false;
  /** The frames this client may still send (refilled at maxFramesPerSecond); null until its first frame. */
  frames: TokenBucket | null = null;
  constructor(
    readonly peer: WsPeer,
    readonly ip: string,
  ) {}
}
