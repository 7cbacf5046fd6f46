import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import type { HubAdmission } from './hub-admission.js';
import type { HubStats } from './hub-counters.js';
import type { HubViews } from './hub-views.js';
import { BadParameter } from './query-params.js';
import { quoted } from './responses.js';
import { topicOf, type HubLimits, type WsConnection } from './ws-connection.js';
import type { ClientFrame, SubscriptionId, WsErrorCode } from './ws-frames.js';
import type { WsPressure } from './ws-pressure.js';
import type { ViewSpec } from './ws-view-spec.js';

/**
 * The `subscribe` and `unsubscribe` frames of one WebSocket connection: each answered with
 * its view's first frames (or an `unsubscribed`), or an `error` frame naming what was wrong.
 */
export class WsSubscriptions {
  constructor(
    private readonly host: PluginHost,
    private readonly epoch: string,
    private readonly limits: HubLimits,
    private readonly views: HubViews,
    private readonly admission: HubAdmission,
    private readonly pressure: WsPressure,
    private readonly stats: HubStats,
    private readonly now: () => number,
  ) {}

  subscribe(conn: WsConnection, frame: Extract<ClientFrame, { op: 'subscribe' }>): void {
    if (conn.closing) return;
    const named = this.viewOf(conn, frame.ident, frame.params, frame);
    if (named === undefined) return;
    const { runtime, spec } = named;
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
      if (!this.admission.admitSubscription(conn.ip))
        return this.fail(conn, 'too_many_subscriptions_per_ip', this.admission.perIpDetail(conn.ip), frame);
      const opened = this.views.open(spec, runtime, conn.ip, 'websocket');
      if (!('view' in opened)) return this.fail(conn, opened.code, opened.detail, frame);
      sub = { view: opened.view, id: frame.id };
      conn.subs.set(spec.key, sub);
      this.admission.countSubs(conn.ip, 1);
    } else this.views.joined(sub.view, 'websocket');
    sub.id = frame.id;
    // A slow connection gets its snapshots when it drains (onDrain), not now; one asked again
    // during a resync is sent again in that round.
    if (conn.slowSince !== null) return void conn.resent?.delete(spec.key);
    const view = sub.view;
    const plan = this.views.plan(view, frame.resume ?? null);
    if (plan.kind === 'replay') {
      const frames = view.framesAfter(plan.from) ?? [];
      this.stats.resumes++;
      if (!this.pressure.send(conn, view.resumedFrame(this.epoch, plan.from, frames.length, frame.id))) return;
      for (const f of frames) if (!this.pressure.send(conn, f.text)) return;
    } else {
      this.stats.snapshots++;
      if (!this.pressure.send(conn, view.snapshotFrame(this.epoch, plan.reason, frame.id))) return;
    }
    // Joined after the snapshot in the same turn: the next publish is seq + 1 exactly.
    conn.peer.subscribe(topicOf(view));
    // Those rows are the last good ones of a view that fails now (it failed waking, or others watch it failing).
    const failed = view.failedFrame(frame.id);
    if (failed !== null) this.pressure.send(conn, failed);
  }

  unsubscribe(conn: WsConnection, frame: Extract<ClientFrame, { op: 'unsubscribe' }>): void {
    let key: string | undefined;
    if (frame.ident !== undefined) {
      const named = this.viewOf(conn, frame.ident, frame.params, frame);
      if (named === undefined) return;
      key = named.spec.key;
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
    this.admission.countSubs(conn.ip, -1);
    conn.peer.unsubscribe(topicOf(sub.view));
    this.views.release(sub.view, this.now());
    this.pressure.send(
      conn,
      JSON.stringify({
        type: 'unsubscribed',
        ident: sub.view.spec.ident,
        view: sub.view.key,
        ...(frame.id === undefined ? {} : { id: frame.id }),
      }),
    );
  }

  /** The plugin and view a frame names, or undefined once the client is told why not (unknown_ident, bad_parameter). */
  private viewOf(
    conn: WsConnection,
    ident: string,
    params: Parameters<HubViews['specOf']>[1],
    frame: { id?: SubscriptionId | undefined; ident?: string | undefined },
  ): { runtime: PluginRuntime; spec: ViewSpec } | undefined {
    const runtime = this.host.get(ident);
    if (!runtime) {
      this.fail(conn, 'unknown_ident', `no plugin with ident ${quoted(ident)}`, frame);
      return undefined;
    }
    try {
      return { runtime, spec: this.views.specOf(runtime, params) };
    } catch (err) {
      if (!(err instanceof BadParameter)) throw err;
      this.fail(conn, 'bad_parameter', err.message, { ...frame, parameter: err.parameter });
      return undefined;
    }
  }

  fail(
    conn: WsConnection,
    code: WsErrorCode,
    detail: string,
    ctx: { id?: SubscriptionId | undefined; ident?: string | undefined; parameter?: string },
  ): void {
    const frame: Record<string, unknown> = { type: 'error', error: code, detail };
    if (ctx.ident !== undefined) frame['ident'] = ctx.ident.slice(0, 200);
    if (ctx.id !== undefined) frame['id'] = ctx.id;
    if (ctx.parameter !== undefined) frame['parameter'] = ctx.parameter;
    this.pressure.send(conn, JSON.stringify(frame));
  }
}
