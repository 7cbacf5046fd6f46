import { randomBytes } from 'node:crypto';
import { errorText } from '../logger.js';
import type * as z from 'zod';
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { ViewHungBefore } from '../../actors/view-cache.js';
import { BadParameter, DEFAULT_MAX_PAGE_DEPTH, firstValues, pluginParamsSchema } from './query-params.js';
import { error as errorResponse, CORS_HEADERS, type HttpResponse } from './responses.js';
import { parseEventId, SseSession, type SseSink } from './sse-session.js';
import { TokenBucket } from './token-bucket.js';
import {
  CLOSE_CODES,
  parseClientFrame,
  type ClientFrame,
  type ResumePoint,
  type SnapshotReason,
  type SubscriptionId,
  type WsErrorCode,
} from './ws-frames.js';
import {
  type ConnectionRefusal,
  DEFAULT_MAX_FRAMES_PER_SECOND,
  WsConnection,
  type HubLimits,
  type HubOptions,
  type Publish,
  type WsPeer,
} from './ws-connection.js';
import type { LiveView } from './ws-view.js';
import { viewSpecOf, type ViewSpec } from './ws-view-spec.js';
import { DEFAULT_MAX_NEW_VIEWS_PER_IP, ViewBudget } from './view-budget.js';
import { TooManyNewViews, TooManyViews, ViewRegistry, type ViewFailed } from './ws-views.js';

const topicOf = (view: LiveView) => `v:${view.key}`;
const HARD_FACTOR = 4;
/** Bytes of update frames one live view keeps for resume at most (and at most its share of config wsResumeBytes). */
export const VIEW_HISTORY_BYTES = 1024 * 1024;
/** The global cap on live views (config wsMaxViews); each client IP may pin at most wsMaxSubscriptionsPerIp of them. */
const DEFAULT_MAX_VIEWS = 1000;

/**
 * Live push over WebSocket and SSE. Each tick recomputes the views whose plugin changed,
 * publishes one encoded update per view to its uWS topic (every healthy subscriber gets the
 * same bytes), writes it to SSE streams, then checks back-pressure: a socket over the soft
 * limit leaves its topics (uWS `publish` ignores per-socket pacing) and gets one fresh
 * snapshot per view when it drains, paced by its queue; one that stays stuck is closed with 4008.
 */
export class WsHub {
  readonly epoch: string;
  readonly limits: HubLimits;
  private readonly views: ViewRegistry;
  private readonly schemas: Map<string, z.ZodObject>;
  private readonly connections = new Set<WsConnection>();
  private readonly sse = new Set<SseSession>();
  private readonly perIp = new Map<string, number>();
  /** Subscriptions held per client IP (WebSocket subscriptions plus SSE streams): each may pin a view of the global cap. */
  private readonly subsPerIp = new Map<string, number>();
  private readonly now: () => number;
  private readonly heartbeatMs: number;
  /** Counters for metrics and tests; `peakBufferedBytes` is the most any one socket had queued at a check. */
  readonly stats = {
    slowClosed: 0,
    slowEntered: 0,
    resyncs: 0,
    resumes: 0,
    snapshots: 0,
    updates: 0,
    peakBufferedBytes: 0,
  };
  /** Requests refused by a limit, by limit name (exported as statscache_limit_refusals_total). */
  readonly refused = {
    ws_connections_per_ip: 0,
    ws_connections: 0,
    ws_subscriptions_per_ip: 0,
    ws_views: 0,
    ws_new_views_per_ip: 0,
    ws_frames_per_second: 0,
  };
  private readonly budget: ViewBudget;
  private readonly maxPageDepth: number;
  private readonly viewFailed: ViewFailed = (view, err) =>
    this.options.log?.(
      'warn',
      { view: view.key, err: errorText(err) },
      'live view failed to recompute; kept its last rows',
    );

  constructor(
    private readonly host: PluginHost,
    private readonly publish: Publish,
    private readonly options: HubOptions,
  ) {
    this.epoch = options.epoch ?? randomBytes(8).toString('hex');
    this.limits = options;
    this.now = options.now;
    this.heartbeatMs = options.sseHeartbeatMs ?? 5_000;
    this.schemas = new Map(host.runtimes.map((r) => [r.ident, pluginParamsSchema(r.plugin)]));
    this.views = new ViewRegistry({
      historyFrames: options.resumeFrames,
      historyBytes: VIEW_HISTORY_BYTES,
      ...(options.resumeBytes === undefined ? {} : { historyBytesTotal: options.resumeBytes }),
      maxViews: options.maxViews ?? DEFAULT_MAX_VIEWS,
      lingerMs: options.lingerMs ?? 60_000,
    });
    this.budget = new ViewBudget(options.maxNewViewsPerIp ?? DEFAULT_MAX_NEW_VIEWS_PER_IP, options.now);
    this.maxPageDepth = options.maxPageDepth ?? DEFAULT_MAX_PAGE_DEPTH;
  }

  /** Work done for live views: created, refreshed and recomputed by ticks, woken; how many are watched or idle, how many retired ones are remembered, and the bytes of history kept for resume. */
  viewStats(): ViewRegistry['stats'] &
    ReturnType<ViewRegistry['counts']> & { readonly retired: number; readonly historyBytes: number } {
    return {
      ...this.views.stats,
      ...this.views.counts(),
      retired: this.views.retiredSize,
      historyBytes: this.views.historyBytes(),
    };
  }

  /** Null when another long-lived connection (`kind`) from `ip` is allowed; else why not, counted. */
  admit(ip: string, kind: 'ws' | 'sse' = 'ws'): ConnectionRefusal | null {
    const open = this.connections.size + this.sse.size;
    const max = this.limits.maxConnections ?? Number.POSITIVE_INFINITY;
    if (open >= max) {
      this.refused.ws_connections++;
      return {
        status: 503,
        error: 'server_full',
        detail: `the server holds ${open} WebSocket and SSE connections, its limit (--ws-max-connections); try again later`,
        // Spread, so clients refused together do not come back together.
        retryAfterSeconds: 5 + Math.floor(Math.random() * 10),
      };
    }
    if ((this.perIp.get(ip) ?? 0) < this.limits.maxConnectionsPerIp) return null;
    this.refused.ws_connections_per_ip++;
    return {
      status: 429,
      error: 'too_many_connections',
      detail:
        kind === 'ws'
          ? `too many open connections from ${ip}`
          : `over ${this.limits.maxConnectionsPerIp} open streams from ${ip}`,
    };
  }

  /** Whether `ip` may hold one more subscription; counts the refusal when not. */
  private admitSubscription(ip: string): boolean {
    if ((this.subsPerIp.get(ip) ?? 0) < this.limits.maxSubscriptionsPerIp) return true;
    this.refused.ws_subscriptions_per_ip++;
    return false;
  }

  private perIpDetail(ip: string): string {
    return `at most ${this.limits.maxSubscriptionsPerIp} live subscriptions per client IP (WebSocket and SSE together; --ws-max-subscriptions-per-ip), and ${ip} holds ${this.subsPerIp.get(ip) ?? 0}; unsubscribe or close one first`;
  }

  open(peer: WsPeer, ip: string): WsConnection {
    const conn = new WsConnection(peer, ip);
    this.connections.add(conn);
    this.countIp(ip, 1);
    const { maxSubscriptions, maxSubscriptionsPerIp, maxFrameBytes, maxBufferedBytes, resumeFrames } = this.limits;
    peer.send(
      JSON.stringify({
        type: 'hello',
        epoch: this.epoch,
        tickMs: this.limits.tickMs,
        limits: {
          maxSubscriptions,
          maxSubscriptionsPerIp,
          maxNewViewsPerIp: this.budget.perMinute,
          maxFramesPerSecond: this.limits.maxFramesPerSecond ?? DEFAULT_MAX_FRAMES_PER_SECOND,
          maxPageDepth: this.maxPageDepth,
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
    if (!parsed.ok) return this.fail(conn, parsed.error, parsed.detail, parsed);
    const frame = parsed.frame;
    if (frame.op === 'ping')
      return void conn.peer.send(JSON.stringify({ type: 'pong', ...(frame.id === undefined ? {} : { id: frame.id }) }));
    if (frame.op === 'unsubscribe') return this.unsubscribe(conn, frame);
    conn.peer.cork(() => this.subscribe(conn, frame));
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
    if (conn.closing && !conn.closed) return this.finishClose(conn, this.now());
    if (conn.closed || conn.slowSince === null) return;
    const soft = this.limits.maxBufferedBytes;
    if (conn.resent === null) {
      if (conn.peer.bufferedAmount() > soft / 2) return;
      conn.resent = new Set();
      conn.resentMark = conn.peer.bufferedAmount();
      this.stats.resyncs++;
    }
    this.resendPaced(conn, conn.resent, soft);
  }

  /**
   * Re-sends a slow client's snapshots one view at a time, each only while its queue is under
   * the soft limit, the rest on later drains. Sent at once they were the server's own burst: a
   * client whose views' snapshots together exceed the hard limit was closed (4008) though it
   * was reading, and again after every reconnect. A view rejoins its topic right after its
   * snapshot, so its updates follow it; the slow timeout restarts at each send (the client was
   * under the soft limit then), so a reader is never timed out while one that stops still is.
   */
  private resendPaced(conn: WsConnection, resent: Set<string>, soft: number): void {
    for (const [key, sub] of conn.subs) {
      if (resent.has(key)) continue;
      if (conn.peer.bufferedAmount() >= soft) return;
      conn.slowSince = this.now();
      let sent = false;
      conn.peer.cork(() => {
        sent = this.sendTo(conn, sub.view.snapshotFrame(this.epoch, 'resync', sub.id));
        if (sent) conn.peer.subscribe(topicOf(sub.view));
      });
      if (!sent) return;
      resent.add(key);
      conn.resentMark = conn.peer.bufferedAmount();
    }
    conn.slowSince = null;
    conn.resent = null;
  }

  onClose(conn: WsConnection): void {
    if (conn.closed) return;
    conn.closed = true;
    this.connections.delete(conn);
    this.countIp(conn.ip, -1);
    const now = this.now();
    for (const sub of conn.subs.values()) this.views.release(sub.view, now);
    this.count(this.subsPerIp, conn.ip, -conn.subs.size);
    conn.subs.clear();
  }

  /** Publishes one coalesced update per changed view, then enforces back-pressure and heartbeats. */
  tick(): void {
    const now = this.now();
    const changed = this.views.tick(now, this.viewFailed);
    for (const { view, frame } of changed) {
      this.stats.updates++;
      this.publish(topicOf(view), frame.text);
    }
    if (changed.length > 0 && this.sse.size > 0) {
      const byView = new Map(changed.map((c) => [c.view, c.frame]));
      for (const s of this.sse) {
        const frame = byView.get(s.view);
        if (frame) s.update(frame, now);
      }
    }
    for (const conn of this.connections) this.checkPressure(conn, now);
    for (const s of this.sse) {
      if (s.slowSince !== null && now - s.slowSince > this.limits.slowTimeoutMs) {
        this.stats.slowClosed++;
        s.close();
        this.closeSse(s);
      } else if (now - s.lastWriteMs >= this.heartbeatMs) s.heartbeat(now);
    }
  }

  /** Subscriptions (WebSocket and SSE) to any view of `ident`. */
  clientCount(ident: string): number {
    return this.views.subscribers(ident);
  }

  counts(): { connections: number; sse: number; views: number; slow: number } {
    let slow = 0;
    for (const c of this.connections) if (c.slowSince !== null) slow++;
    for (const s of this.sse) if (s.slowSince !== null) slow++;
    return { connections: this.connections.size, sse: this.sse.size, views: this.views.size, slow };
  }

  /**
   * `GET /api/<ident>/stream`: a 4xx to answer at once, or a starter the adapter calls after
   * writing the event-stream headers.
   */
  openSse(req: {
    ident: string;
    query: URLSearchParams;
    lastEventId: string;
    ip: string;
  }): HttpResponse | ((sink: SseSink) => { aborted(): void; writable(): void }) {
    const runtime = this.host.get(req.ident);
    if (!runtime)
      return errorResponse(
        404,
        'unknown_ident',
        `no plugin with ident ${JSON.stringify(req.ident)}; GET /api/ lists them`,
        CORS_HEADERS,
      );
    const refusal = this.admit(req.ip, 'sse');
    if (refusal !== null) {
      const headers: Record<string, string> = { ...CORS_HEADERS };
      if (refusal.retryAfterSeconds !== undefined) headers['Retry-After'] = String(refusal.retryAfterSeconds);
      return errorResponse(refusal.status, refusal.error, refusal.detail, headers);
    }
    if (!this.admitSubscription(req.ip))
      return errorResponse(429, 'too_many_subscriptions_per_ip', this.perIpDetail(req.ip), CORS_HEADERS);
    const values = firstValues(req.query);
    let spec: ViewSpec;
    try {
      spec = this.specOf(runtime, values);
    } catch (err) {
      if (err instanceof BadParameter) return errorResponse(400, 'bad_parameter', err.message, CORS_HEADERS);
      throw err;
    }
    const now = this.now();
    const opened = this.openView(spec, runtime, req.ip);
    if (!('view' in opened)) {
      const status = { too_many_views: 503, too_many_new_views: 429, view_failed: 500, view_hung: 500 }[opened.code];
      const headers: Record<string, string> = { ...CORS_HEADERS };
      if (opened.code === 'too_many_new_views') headers['Retry-After'] = String(this.budget.retryAfterSeconds(req.ip));
      return errorResponse(status, opened.code, opened.detail, headers);
    }
    const view = opened.view;
    const resume = parseEventId(req.lastEventId);
    return (sink) => {
      const session = new SseSession(view, req.ip, sink, this.epoch, now);
      this.sse.add(session);
      this.countIp(req.ip, 1);
      this.count(this.subsPerIp, req.ip, 1);
      session.write('retry: 1000\n\n', now);
      const plan = this.plan(view, resume);
      if (plan.kind === 'replay') session.resumed(plan.from, view.framesAfter(plan.from) ?? [], now);
      else session.snapshot(plan.reason, now);
      return {
        aborted: () => this.closeSse(session),
        writable: () => session.writable(this.now()),
      };
    };
  }

  private subscribe(conn: WsConnection, frame: Extract<ClientFrame, { op: 'subscribe' }>): void {
    if (conn.closing) return;
    const runtime = this.host.get(frame.ident);
    if (!runtime)
      return this.fail(
        conn,
        'unknown_ident',
        `no plugin with ident ${JSON.stringify(frame.ident.slice(0, 200))}`,
        frame,
      );
    let spec: ViewSpec;
    try {
      spec = this.specOf(runtime, frame.params);
    } catch (err) {
      if (err instanceof BadParameter)
        return this.fail(conn, 'bad_parameter', err.message, { ...frame, parameter: err.parameter });
      throw err;
    }
    let sub = conn.subs.get(spec.key);
    if (!sub) {
      if (conn.subs.size >= this.limits.maxSubscriptions) {
        return this.fail(
          conn,
          'too_many_subscriptions',
          `at most ${this.limits.maxSubscriptions} subscriptions per connection; unsubscribe one first`,
          frame,
        );
      }
      if (!this.admitSubscription(conn.ip))
        return this.fail(conn, 'too_many_subscriptions_per_ip', this.perIpDetail(conn.ip), frame);
      const opened = this.openView(spec, runtime, conn.ip);
      if (!('view' in opened)) return this.fail(conn, opened.code, opened.detail, frame);
      sub = { view: opened.view, id: frame.id };
      conn.subs.set(spec.key, sub);
      this.count(this.subsPerIp, conn.ip, 1);
    }
    sub.id = frame.id;
    // A slow connection gets its snapshots when it drains (onDrain), not now; one asked again
    // during a resync is sent again in that round.
    if (conn.slowSince !== null) return void conn.resent?.delete(spec.key);
    const view = sub.view;
    const plan = this.plan(view, frame.resume ?? null);
    if (plan.kind === 'replay') {
      const frames = view.framesAfter(plan.from) ?? [];
      this.stats.resumes++;
      if (!this.sendTo(conn, view.resumedFrame(this.epoch, plan.from, frames.length, frame.id))) return;
      for (const f of frames) if (!this.sendTo(conn, f.text)) return;
    } else {
      this.stats.snapshots++;
      if (!this.sendTo(conn, view.snapshotFrame(this.epoch, plan.reason, frame.id))) return;
    }
    // Joined after the snapshot in the same turn: the next publish is seq + 1 exactly.
    conn.peer.subscribe(topicOf(view));
  }

  /** Validates subscription parameters as `/api/<ident>` does, the page depth bound included. */
  private specOf(runtime: PluginRuntime, params: Parameters<typeof viewSpecOf>[2]): ViewSpec {
    return viewSpecOf(runtime, this.schemas.get(runtime.ident) as z.ZodObject, params, this.maxPageDepth);
  }

  /** The view with one more subscriber, or why not (counted as a refusal when a limit said no). */
  private openView(
    spec: ViewSpec,
    runtime: PluginRuntime,
    ip: string,
  ):
    | {
        view: LiveView;
      }
    | { code: 'too_many_views' | 'too_many_new_views' | 'view_failed' | 'view_hung'; detail: string } {
    try {
      return { view: this.views.acquire(spec, runtime, this.now(), () => this.budget.take(ip), this.viewFailed) };
    } catch (err) {
      if (err instanceof TooManyViews) {
        this.refused.ws_views++;
        return { code: 'too_many_views', detail: err.message };
      }
      if (err instanceof TooManyNewViews) {
        this.refused.ws_new_views_per_ip++;
        return { code: 'too_many_new_views', detail: this.budget.refusal(ip) };
      }
      if (err instanceof ViewHungBefore) return { code: 'view_hung', detail: err.message };
      return {
        code: 'view_failed',
        detail: `the view of ${runtime.ident} failed: ${String((err as Error)?.message ?? err)}`,
      };
    }
  }

  private plan(
    view: LiveView,
    resume: ResumePoint | null,
  ): { kind: 'replay'; from: number } | { kind: 'snapshot'; reason: SnapshotReason } {
    if (resume === null) return { kind: 'snapshot', reason: 'subscribe' };
    if (resume.epoch !== this.epoch) return { kind: 'snapshot', reason: 'resume_epoch' };
    return view.framesAfter(resume.seq) === null
      ? { kind: 'snapshot', reason: 'resume_gap' }
      : { kind: 'replay', from: resume.seq };
  }

  private unsubscribe(conn: WsConnection, frame: Extract<ClientFrame, { op: 'unsubscribe' }>): void {
    let key: string | undefined;
    if (frame.ident !== undefined) {
      const runtime = this.host.get(frame.ident);
      if (!runtime)
        return this.fail(
          conn,
          'unknown_ident',
          `no plugin with ident ${JSON.stringify(frame.ident.slice(0, 200))}`,
          frame,
        );
      try {
        key = this.specOf(runtime, frame.params).key;
      } catch (err) {
        if (err instanceof BadParameter)
          return this.fail(conn, 'bad_parameter', err.message, { ...frame, parameter: err.parameter });
        throw err;
      }
    } else {
      for (const [k, s] of conn.subs) if (s.id === frame.id) key = k;
    }
    const sub = key === undefined ? undefined : conn.subs.get(key);
    if (!sub || key === undefined)
      return this.fail(
        conn,
        'not_subscribed',
        'no subscription on this connection matches; give the subscription\'s "id", or its "ident" and "params"',
        frame,
      );
    conn.subs.delete(key);
    this.count(this.subsPerIp, conn.ip, -1);
    conn.peer.unsubscribe(topicOf(sub.view));
    this.views.release(sub.view, this.now());
    this.sendTo(
      conn,
      JSON.stringify({
        type: 'unsubscribed',
        ident: sub.view.spec.ident,
        view: sub.view.key,
        ...(frame.id === undefined ? {} : { id: frame.id }),
      }),
    );
  }

  private checkPressure(conn: WsConnection, now: number): void {
    if (conn.closed) return;
    if (conn.closing) return this.finishClose(conn, now);
    const buffered = conn.peer.bufferedAmount();
    if (buffered > this.stats.peakBufferedBytes) this.stats.peakBufferedBytes = buffered;
    const soft = this.limits.maxBufferedBytes;
    if (conn.slowSince === null) {
      if (buffered <= soft) return;
      // Off the topics: publish would keep queueing for it. Its views are re-sent as snapshots on drain, paced.
      conn.slowSince = now;
      this.stats.slowEntered++;
      for (const sub of conn.subs.values()) conn.peer.unsubscribe(topicOf(sub.view));
      this.options.log?.('info', { ip: conn.ip, buffered }, 'slow WebSocket client: switched to coalesced snapshots');
      return;
    }
    // The updates of views already re-sent queued a soft limit more: it fell behind again, so
    // all its views wait for a fresh round (and the slow timeout runs on from the last send).
    if (conn.resent !== null && buffered > conn.resentMark + soft) {
      for (const sub of conn.subs.values()) conn.peer.unsubscribe(topicOf(sub.view));
      conn.resent = null;
    }
    // A paced resync goes on under the soft limit; a new one starts under half of it.
    if (buffered <= soft / 2 || (conn.resent !== null && buffered < soft)) this.onDrain(conn);
    if (conn.slowSince !== null && now - conn.slowSince > this.limits.slowTimeoutMs) this.closeSlow(conn, buffered);
  }

  /**
   * Starts closing a client that reads too slowly. uWS drops whatever is still queued when a
   * socket closes, so the 4008 close frame is sent once the queue has drained (a client that
   * is merely slow then reads its reason); one that stays stuck is cut off after another
   * slow timeout (it sees an abnormal closure, 1006: it was reading nothing anyway).
   */
  private closeSlow(conn: WsConnection, buffered: number): void {
    if (conn.closing || conn.closed) return;
    this.stats.slowClosed++;
    this.options.log?.('warn', { ip: conn.ip, buffered }, 'closing a WebSocket client that stopped reading');
    conn.closing = {
      since: this.now(),
      reason: `too slow: ${buffered} bytes unread for over ${this.limits.slowTimeoutMs / 1000} s`.slice(0, 120),
    };
    for (const sub of conn.subs.values()) conn.peer.unsubscribe(topicOf(sub.view));
    this.finishClose(conn, this.now());
  }

  private finishClose(conn: WsConnection, now: number): void {
    const closing = conn.closing;
    if (!closing || conn.closed) return;
    if (conn.peer.bufferedAmount() === 0) conn.peer.end(CLOSE_CODES.tooSlow, closing.reason);
    else if (now - closing.since > this.limits.slowTimeoutMs) conn.peer.terminate();
    else return;
    this.onClose(conn);
  }

  /** Sends one frame; a frame uWS had to drop means the client is past the hard limit: close it, never leave a silent gap. */
  private sendTo(conn: WsConnection, text: string): boolean {
    if (conn.closed || conn.closing) return false;
    const result = conn.peer.send(text);
    if (result === 2 || conn.peer.bufferedAmount() > this.limits.maxBufferedBytes * HARD_FACTOR) {
      this.closeSlow(conn, conn.peer.bufferedAmount());
      return false;
    }
    return true;
  }

  private fail(
    conn: WsConnection,
    code: WsErrorCode,
    detail: string,
    ctx: { id?: SubscriptionId | undefined; ident?: string | undefined; parameter?: string },
  ): void {
    const frame: Record<string, unknown> = { type: 'error', error: code, detail };
    if (ctx.ident !== undefined) frame['ident'] = ctx.ident.slice(0, 200);
    if (ctx.id !== undefined) frame['id'] = ctx.id;
    if (ctx.parameter !== undefined) frame['parameter'] = ctx.parameter;
    this.sendTo(conn, JSON.stringify(frame));
  }

  private closeSse(session: SseSession): void {
    if (!this.sse.delete(session)) return;
    session.closed = true;
    this.countIp(session.ip, -1);
    this.count(this.subsPerIp, session.ip, -1);
    this.views.release(session.view, this.now());
  }

  private countIp(ip: string, delta: number): void {
    this.count(this.perIp, ip, delta);
  }

  private count(map: Map<string, number>, ip: string, delta: number): void {
    const n = (map.get(ip) ?? 0) + delta;
    if (n <= 0) map.delete(ip);
    else map.set(ip, n);
  }
}

export { HARD_FACTOR as WS_HARD_LIMIT_FACTOR };
