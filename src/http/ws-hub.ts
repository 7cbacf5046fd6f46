import { randomBytes } from 'node:crypto';
import type { PluginHost } from '../../actors/plugin-host.js';
import { HubAdmission } from './hub-admission.js';
import { newHubRefusals, newHubStats, type HubRefusals, type HubStats } from './hub-counters.js';
import { HubViews } from './hub-views.js';
import type { HttpResponse } from './responses.js';
import type { LiveView } from './ws-view.js';
import { SseStreams, type SseStarter, type SseStreamRequest } from './sse-streams.js';
import { TokenBucket } from './token-bucket.js';
import { CLOSE_CODES, parseClientFrame } from './ws-frames.js';
import {
  type ConnectionRefusal,
  DEFAULT_MAX_FRAMES_PER_SECOND,
  WsConnection,
  type HubLimits,
  type HubOptions,
  type Publish,
  topicOf,
  type WsPeer,
} from './ws-connection.js';
import { WsPressure } from './ws-pressure.js';
import { WsSubscriptions } from './ws-subscriptions.js';

/**
 * Live push over WebSocket and SSE. Each tick recomputes the views whose plugin changed,
 * publishes one encoded update per view to its uWS topic (every healthy subscriber gets the
 * same bytes), writes it to SSE streams, then checks back-pressure (ws-pressure.ts). The parts:
 * per-IP admission (hub-admission.ts), the views subscribers open (hub-views.ts), WebSocket
 * subscribe/unsubscribe frames (ws-subscriptions.ts) and SSE streams (sse-streams.ts).
 */
export class WsHub {
  readonly epoch: string;
  readonly limits: HubLimits;
  /** Counters for metrics and tests; `peakBufferedBytes` is the most any one socket had queued at a check. */
  readonly stats: HubStats = newHubStats();
  /** Requests refused by a limit, by limit name (exported as statscache_limit_refusals_total). */
  readonly refused: HubRefusals = newHubRefusals();
  private readonly connections = new Set<WsConnection>();
  private readonly now: () => number;
  private readonly admission: HubAdmission;
  private readonly views: HubViews;
  private readonly pressure: WsPressure;
  private readonly subs: WsSubscriptions;
  private readonly sse: SseStreams;

  constructor(
    host: PluginHost,
    private readonly publish: Publish,
    options: HubOptions,
  ) {
    this.epoch = options.epoch ?? randomBytes(8).toString('hex');
    this.limits = options;
    this.now = options.now;
    this.admission = new HubAdmission(options, this.refused);
    this.views = new HubViews(host, this.epoch, options, this.refused);
    this.pressure = new WsPressure(this.epoch, options, this.stats, (conn) => this.onClose(conn));
    this.subs = new WsSubscriptions(
      host,
      this.epoch,
      options,
      this.views,
      this.admission,
      this.pressure,
      this.stats,
      this.now,
    );
    this.sse = new SseStreams(host, this.epoch, options, this.views, this.admission, this.stats, (ip) =>
      this.admit(ip, 'sse'),
    );
  }

  /** Work done for live views: created, refreshed and recomputed by ticks, woken; how many are watched or idle, how many retired ones are remembered, and the bytes of history kept for resume. */
  viewStats(): ReturnType<HubViews['stats']> {
    return this.views.stats();
  }

  /** Null when another long-lived connection (`kind`) from `ip` is allowed; else why not, counted. */
  admit(ip: string, kind: 'ws' | 'sse' = 'ws'): ConnectionRefusal | null {
    return this.admission.admit(ip, kind, this.connections.size + this.sse.size);
  }

  open(peer: WsPeer, ip: string): WsConnection {
    const conn = new WsConnection(peer, ip);
    this.connections.add(conn);
    this.admission.countIp(ip, 1);
    const { maxSubscriptions, maxSubscriptionsPerIp, maxFrameBytes, maxBufferedBytes, resumeFrames } = this.limits;
    peer.send(
      JSON.stringify({
        type: 'hello',
        epoch: this.epoch,
        tickMs: this.limits.tickMs,
        limits: {
          maxSubscriptions,
          maxSubscriptionsPerIp,
          maxNewViewsPerIp: this.views.budget.perMinute,
          maxFramesPerSecond: this.limits.maxFramesPerSecond ?? DEFAULT_MAX_FRAMES_PER_SECOND,
          maxPageDepth: this.views.maxPageDepth,
          maxFrameBytes,
          maxBufferedBytes,
          resumeFrames,
        },
      }),
    );
    return conn;
  }

  onMessage(conn: WsConnection, text: string | null): void {
    if (conn.closed) return;
    if (!this.frameAllowed(conn)) return;
    const parsed = parseClientFrame(text);
    if (!parsed.ok) return this.subs.fail(conn, parsed.error, parsed.detail, parsed);
    const frame = parsed.frame;
    if (frame.op === 'ping')
      return void conn.peer.send(JSON.stringify({ type: 'pong', ...(frame.id === undefined ? {} : { id: frame.id }) }));
    if (frame.op === 'unsubscribe') return this.subs.unsubscribe(conn, frame);
    conn.peer.cork(() => this.subs.subscribe(conn, frame));
  }

  /**
   * Each frame is parsed (up to --ws-max-frame-bytes of JSON) and answered: a client sending
   * them back to back kept a core busy on its own (a test client: 4,600 frames of 60 KB a
   * second). Past its allowance the connection is closed (1008), counted as a refusal.
   */
  private frameAllowed(conn: WsConnection): boolean {
    const rate = this.limits.maxFramesPerSecond ?? DEFAULT_MAX_FRAMES_PER_SECOND;
    const now = this.now();
    conn.frames ??= new TokenBucket(rate, 2 * rate, now);
    if (conn.frames.take(now)) return true;
    this.refused.ws_frames_per_second++;
    conn.peer.end(CLOSE_CODES.tooManyFrames, `over ${rate} frames per second (--ws-max-frames-per-second)`);
    this.onClose(conn);
    return false;
  }

  onDrain(conn: WsConnection): void {
    this.pressure.onDrain(conn);
  }

  onClose(conn: WsConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.connections.delete(conn);
    this.admission.countIp(conn.ip, -1);
    const now = this.now();
    for (const sub of conn.subs.values()) this.views.release(sub.view, now);
    this.admission.countSubs(conn.ip, -conn.subs.size);
    conn.subs.clear();
  }

  /** Publishes one coalesced update per changed view, then enforces back-pressure and heartbeats. */
  tick(): void {
    const now = this.now();
    const changed = this.views.tick(now);
    for (const { view, frame } of changed) {
      this.stats.updates++;
      this.publish(topicOf(view), frame.text);
    }
    this.sse.publish(changed, now);
    const failed = this.views.takeFailed();
    if (failed.length > 0) this.tellFailed(failed, now);
    for (const conn of this.connections) this.pressure.check(conn, now);
    this.sse.check(now);
  }

  /**
   * Each subscriber of a view that began failing gets one `view_failed` frame (with its
   * subscription id over WebSocket): before, it went on holding the last rows, told nothing,
   * while the view failed on every tick. Once per episode; its next update says it is over. A
   * slow connection is told with its view's resync snapshot (ws-pressure.ts), unless that was
   * sent already this round: told now too, it heard it twice, the first time about a seq whose
   * rows it may not have had yet (off its views' topics, it missed their updates).
   */
  private tellFailed(failed: readonly LiveView[], now: number): void {
    for (const view of failed) {
      for (const conn of this.connections) {
        const sub = conn.subs.get(view.key);
        if (conn.slowSince !== null && conn.resent?.has(view.key) !== true) continue;
        const text = sub === undefined ? null : view.failedFrame(sub.id);
        if (text !== null) this.pressure.send(conn, text);
      }
    }
    this.sse.failed(failed, now);
  }

  /** Subscriptions (WebSocket and SSE) to any view of `ident`. */
  clientCount(ident: string): number {
    return this.views.subscribers(ident);
  }

  counts(): { connections: number; sse: number; views: number; slow: number } {
    let slow = 0;
    for (const c of this.connections) if (c.slowSince !== null) slow++;
    slow += this.sse.slowCount();
    return { connections: this.connections.size, sse: this.sse.size, views: this.views.size, slow };
  }

  /**
   * `GET /api/<ident>/stream`: a 4xx to answer at once, or a starter the adapter calls after
   * writing the event-stream headers.
   */
  openSse(req: SseStreamRequest): HttpResponse | SseStarter {
    return this.sse.open(req);
  }
}
