import type { PluginHost } from '../../actors/plugin-host.js';
import type { HubAdmission } from './hub-admission.js';
import type { HubStats } from './hub-counters.js';
import type { HubViews } from './hub-views.js';
import { BadParameter, firstValues } from './query-params.js';
import { badParameter, error as errorResponse, CORS_HEADERS, type HttpResponse, quoted } from './responses.js';
import { parseEventId, SseSession, type SseSink } from './sse-session.js';
import type { ConnectionRefusal, HubOptions } from './ws-connection.js';
import type { LiveView, UpdateFrame } from './ws-view.js';
import type { ViewSpec } from './ws-view-spec.js';

/** `GET /api/<ident>/stream` as the hub reads it. */
export interface SseStreamRequest {
  ident: string;
  query: URLSearchParams;
  lastEventId: string;
  ip: string;
}

/** Called by the adapter once the event-stream headers are written; its result is how the adapter reports the socket. */
export type SseStarter = (sink: SseSink) => { aborted(): void; writable(): void };

/**
 * The hub's SSE streams: each one subscription to one view, admitted and counted with the
 * WebSocket ones; written each tick, given heartbeats when quiet, and closed when stuck.
 */
export class SseStreams {
  private readonly sessions = new Set<SseSession>();
  private readonly now: () => number;
  private readonly heartbeatMs: number;

  constructor(
    private readonly host: PluginHost,
    private readonly epoch: string,
    private readonly options: HubOptions,
    private readonly views: HubViews,
    private readonly admission: HubAdmission,
    private readonly stats: HubStats,
    /** The hub's check of one more long-lived connection from `ip` (it counts WebSocket ones too). */
    private readonly admit: (ip: string) => ConnectionRefusal | null,
  ) {
    this.now = options.now;
    this.heartbeatMs = options.sseHeartbeatMs ?? 5_000;
  }

  get size(): number {
    return this.sessions.size;
  }

  slowCount(): number {
    let slow = 0;
    for (const s of this.sessions) if (s.slowSince !== null) slow++;
    return slow;
  }

  /** A 4xx to answer at once, or a starter the adapter calls after writing the event-stream headers. */
  open(req: SseStreamRequest): HttpResponse | SseStarter {
    const runtime = this.host.get(req.ident);
    if (!runtime)
      return errorResponse(
        404,
        'unknown_ident',
        `no plugin with ident ${quoted(req.ident)}; GET /api/ lists them`,
        CORS_HEADERS,
      );
    const refusal = this.admit(req.ip);
    if (refusal !== null) {
      const headers: Record<string, string> = { ...CORS_HEADERS };
      if (refusal.retryAfterSeconds !== undefined) headers['Retry-After'] = String(refusal.retryAfterSeconds);
      return errorResponse(refusal.status, refusal.error, refusal.detail, headers);
    }
    if (!this.admission.admitSubscription(req.ip))
      return errorResponse(429, 'too_many_subscriptions_per_ip', this.admission.perIpDetail(req.ip), CORS_HEADERS);
    const values = firstValues(req.query);
    let spec: ViewSpec;
    try {
      spec = this.views.specOf(runtime, values);
    } catch (err) {
      if (err instanceof BadParameter) return badParameter(err.parameter, err.message, CORS_HEADERS);
      throw err;
    }
    const now = this.now();
    const opened = this.views.open(spec, runtime, req.ip, 'sse');
    if (!('view' in opened)) {
      const status = { too_many_views: 503, too_many_new_views: 429, view_failed: 500, view_hung: 500 }[opened.code];
      const headers: Record<string, string> = { ...CORS_HEADERS };
      if (opened.code === 'too_many_new_views')
        headers['Retry-After'] = String(this.views.budget.retryAfterSeconds(req.ip));
      return errorResponse(status, opened.code, opened.detail, headers);
    }
    const view = opened.view;
    const resume = parseEventId(req.lastEventId);
    return (sink) => {
      const session = new SseSession(view, req.ip, sink, this.epoch, now);
      this.sessions.add(session);
      this.admission.countIp(req.ip, 1);
      this.admission.countSubs(req.ip, 1);
      session.write('retry: 1000\n\n', now);
      const plan = this.views.plan(view, resume);
      if (plan.kind === 'replay') session.resumed(plan.from, view.framesAfter(plan.from) ?? [], now);
      else session.snapshot(plan.reason, now);
      session.failed(now);
      return {
        aborted: () => this.close(session),
        writable: () => session.writable(this.now()),
      };
    };
  }

  /** Writes this tick's update frames to the streams of their views. */
  publish(changed: readonly { view: LiveView; frame: UpdateFrame }[], now: number): void {
    if (changed.length > 0 && this.sessions.size > 0) {
      const byView = new Map(changed.map((c) => [c.view, c.frame]));
      for (const s of this.sessions) {
        const frame = byView.get(s.view);
        if (frame) s.update(frame, now);
      }
    }
  }

  /** Tells the streams of views that began failing (a slow one is told after its resync snapshot). */
  failed(views: readonly LiveView[], now: number): void {
    if (this.sessions.size === 0) return;
    const failing = new Set(views);
    for (const s of this.sessions) if (failing.has(s.view)) s.failed(now);
  }

  /** Closes streams stuck past the slow timeout; a quiet one gets its heartbeat. */
  check(now: number): void {
    for (const s of this.sessions) {
      if (s.slowSince !== null && now - s.slowSince > this.options.slowTimeoutMs) {
        this.stats.slowClosed++;
        s.close();
        this.close(s);
      } else if (now - s.lastWriteMs >= this.heartbeatMs) s.heartbeat(now);
    }
  }

  private close(session: SseSession): void {
    if (!this.sessions.delete(session)) return;
    session.closed = true;
    this.admission.countIp(session.ip, -1);
    this.admission.countSubs(session.ip, -1);
    this.views.release(session.view, this.now());
  }
}
