/**
 * The page's WebSocket to the statscache (the README's protocol): one socket shared by every
 * live view, each kept current (snapshot, then update frames merged by the plugin's key
 * columns), subscribed again after a drop or a refusal for now, and given up when the server
 * falls silent (silence-watch.ts).
 */
import { SilenceWatch } from './silence-watch.js';
import { apiBase, jittered, MAX_RETRY_MS, type Row } from './statscache.js';

export type Params = Readonly<Record<string, string | number | boolean>>;

/** Why the server refuses a live view: for now (`retrying`, asked again later) or for good. */
export interface Refusal {
  readonly code: string;
  readonly detail: string;
  readonly retrying: boolean;
}

/** One live view: `rows` is kept current; `onChange` runs after every snapshot or update. */
export interface Subscription {
  readonly ident: string;
  readonly params: Params;
  readonly rows: Map<string, Row>;
  /** Set by the first snapshot; updates before it cannot happen. */
  seq: number | null;
  /** Snapshots received: more than one means the rows were replaced (a reconnect, maybe to a restarted server, or a resync). */
  snapshots: number;
  /** While the server refuses this view: why (its rows, if any, are the last ones served). */
  refusal: Refusal | null;
  /**
   * `snapshot` is true when `rows` were replaced as a whole: anything the page derived from
   * earlier rows came from another connection (a restarted server, another epoch) and is stale.
   */
  onChange: (changed: ReadonlySet<string>, snapshot: boolean) => void;
  /** Runs when the server refuses the view (and again, with null, once it serves it): the page says why where the view is shown. */
  onRefusal: ((refusal: Refusal | null) => void) | undefined;
}

type Frame = {
  type: string;
  error?: string;
  id?: string | number;
  view?: string;
  ident?: string;
  key?: string[];
  rows?: Row[];
  removed?: unknown[][];
  seq?: number;
  epoch?: string;
  reason?: string;
  detail?: string;
};

const keyString = (key: readonly unknown[]) => JSON.stringify(key.map((v) => v ?? null));

/** Subscription refusals that may pass (load shedding, a view that failed to compute): asked again later. */
const RETRY_ERRORS = new Set(['too_many_new_views', 'too_many_views', 'too_many_subscriptions_per_ip', 'view_failed']);

/** A page's badge: `partial` when the connection is up and some of its views are served, not all. */
export type BadgeState = 'live' | 'partial' | 'down' | 'connecting';

/**
 * A WebSocket to the statscache, shared by every live view of the page. The server keeps one
 * subscription per view and connection, under the id that subscribed last: every local
 * subscription on one view shares it (update frames go to all of them), and one leaving hands
 * it to another rather than dropping it for both.
 */
export class Live {
  private socket: WebSocket | null = null;
  private backoff = 500;
  private next = 1;
  private readonly subs = new Map<string, Subscription>();
  private readonly keys = new Map<string, readonly string[]>();
  /** The local subscriptions holding each view (by the server's view name), and the view each holds. */
  private readonly byView = new Map<string, Set<string>>();
  private readonly viewOf = new Map<string, string>();
  /** Per subscription, where its rows are from, to resume there rather than be sent them all again. */
  private readonly resumeAt = new Map<string, { epoch: string; seq: number }>();
  private watch: SilenceWatch | null = null;
  /** Subscriptions the server refused for now (load shedding), with the wait before the next try. */
  private readonly refused = new Map<
    string,
    { wait: number; due: number; timer: ReturnType<typeof setTimeout> | null }
  >();
  /** The connection's state when it is not open (why it dropped, when it tries again). */
  private down: readonly [string, BadgeState] | null = ['connecting…', 'connecting'];
  /** What the server said about no subscription in particular (it stays until a view is served again). */
  private said: string | null = null;

  constructor(private readonly onStatus: (text: string, state: BadgeState) => void) {
    this.connect();
  }

  subscribe(
    ident: string,
    params: Params,
    onChange: Subscription['onChange'],
    onRefusal?: Subscription['onRefusal'],
  ): Subscription {
    const id = `s${this.next++}`;
    const sub: Subscription = {
      ident,
      params,
      rows: new Map(),
      seq: null,
      snapshots: 0,
      refusal: null,
      onChange,
      onRefusal,
    };
    this.subs.set(id, sub);
    this.sendSubscribe(id);
    return sub;
  }

  unsubscribe(sub: Subscription): void {
    for (const [id, s] of this.subs) {
      if (s !== sub) continue;
      this.subs.delete(id);
      this.clearRefusal(id);
      this.resumeAt.delete(id);
      const view = this.leaveView(id);
      const sharing = view === undefined ? undefined : this.byView.get(view);
      if (sharing !== undefined && sharing.size > 0) {
        // Another subscription of this page holds the view: it takes the server's subscription
        // over under its own id (a resume, so nothing is sent again) instead of losing it.
        this.sendSubscribe(sharing.values().next().value as string);
        continue;
      }
      this.send({ op: 'unsubscribe', id });
      // Not served yet, so its view is unknown: one with the same ident may share it, and the
      // server may hold it under this id. Those ask again (resuming when they can).
      if (view === undefined)
        for (const [other, o] of this.subs)
          if (o.ident === sub.ident && !this.refused.has(other)) this.sendSubscribe(other);
    }
    this.render();
  }

  private sendSubscribe(id: string): void {
    const sub = this.subs.get(id);
    if (!sub) return;
    const resume = this.resumeAt.get(id);
    this.send({ op: 'subscribe', id, ident: sub.ident, params: sub.params, ...(resume ? { resume } : {}) });
  }

  /** Takes `id` off its view; returns that view's name. */
  private leaveView(id: string): string | undefined {
    const view = this.viewOf.get(id);
    if (view === undefined) return undefined;
    this.viewOf.delete(id);
    const ids = this.byView.get(view);
    ids?.delete(id);
    if (ids?.size === 0) this.byView.delete(view);
    return view;
  }

  private joinView(id: string, view: string): void {
    if (this.viewOf.get(id) === view) return;
    this.leaveView(id);
    this.viewOf.set(id, view);
    let ids = this.byView.get(view);
    if (ids === undefined) this.byView.set(view, (ids = new Set()));
    ids.add(id);
  }

  private send(frame: unknown): void {
    if (this.socket?.readyState === WebSocket.OPEN) this.socket.send(JSON.stringify(frame));
  }

  /**
   * The badge: the connection's state while it is not open; once open, `live` only when every
   * view of the page is served. A view refused (for now or for good) makes it `partial` while
   * others are served, with the refusal named (the view's own place on the page says more),
   * and `down` when none is.
   */
  private render(): void {
    if (this.down !== null) return this.onStatus(this.down[0], this.down[1]);
    if (this.said !== null) return this.onStatus(`server said: ${this.said}`, 'down');
    const refusals: [string, string, Refusal][] = [];
    for (const [id, s] of this.subs) if (s.refusal !== null) refusals.push([id, s.ident, s.refusal]);
    const [first] = refusals;
    if (first === undefined) return this.onStatus('live', 'live');
    const [id, ident, r] = first;
    const retry = this.refused.get(id);
    const why = r.retrying
      ? `live view refused (${r.code})${retry?.timer ? `; retrying in ${Math.max(1, Math.round((retry.due - Date.now()) / 1000))} s` : ''}`
      : `live view of ${ident} ${r.code === 'view_failed' ? 'failing, its last good rows shown' : 'refused'} (${r.code})`;
    const served = this.subs.size - refusals.length;
    if (served === 0) return this.onStatus(why, 'down');
    this.onStatus(`live, ${refusals.length} of ${this.subs.size} views not: ${why}`, 'partial');
  }

  private connect(): void {
    const url = `${apiBase().replace(/^http/, 'ws')}/ws`;
    this.down = ['connecting…', 'connecting'];
    this.render();
    const socket = new WebSocket(url);
    this.socket = socket;
    // Given up on silence: the close handshake with a server that does not answer would only wait.
    this.watch = new SilenceWatch(
      () => this.send({ op: 'ping' }),
      (why) => {
        socket.onclose = null;
        socket.onmessage = null;
        socket.onopen = null;
        socket.close();
        this.dropped(why);
      },
    );
    this.watch.start(() => socket.readyState === WebSocket.OPEN);
    socket.onopen = () => {
      this.backoff = 500;
      this.down = null;
      this.said = null;
      this.byView.clear();
      this.viewOf.clear();
      // A new connection starts every view afresh (a snapshot: the server may have restarted
      // from another state); resuming is for handing a view over within one connection.
      this.resumeAt.clear();
      for (const id of this.subs.keys()) this.sendSubscribe(id);
      this.render();
    };
    socket.onmessage = (event) => {
      this.watch?.heard();
      let frame: Frame;
      try {
        frame = JSON.parse(String(event.data)) as Frame;
      } catch {
        return;
      }
      this.onFrame(frame);
    };
    socket.onclose = () => this.dropped('disconnected');
  }

  private dropped(why: string): void {
    this.watch?.stop();
    // Every subscription is sent again on open: a refusal's own retry would only duplicate it.
    for (const r of this.refused.values()) if (r.timer !== null) clearTimeout(r.timer);
    this.refused.clear();
    const delay = jittered(this.backoff);
    this.down = [`${why}; retrying in ${Math.max(1, Math.round(delay / 1000))} s`, 'down'];
    this.render();
    setTimeout(() => this.connect(), delay);
    this.backoff = Math.min(this.backoff * 2, 15_000);
  }

  private clearRefusal(id: string): void {
    const r = this.refused.get(id);
    if (r?.timer) clearTimeout(r.timer);
    this.refused.delete(id);
  }

  /**
   * A subscription refused for now (too many views opened, the server's view cap, a view that
   * failed to compute) is asked for again with back-off; one refused for good (an ident this
   * server does not have, a bad parameter) is not. Either way the view is not live: the page
   * hears why (onRefusal) and the badge names it.
   */
  private refuse(id: string, sub: Subscription, frame: Frame): void {
    const code = frame.error ?? 'error';
    const retrying = RETRY_ERRORS.has(code);
    sub.refusal = { code, detail: frame.detail ?? code, retrying };
    const wait = this.refused.get(id)?.wait ?? 1000;
    this.clearRefusal(id);
    if (retrying) {
      const delay = jittered(wait);
      const timer = setTimeout(() => {
        const r = this.refused.get(id);
        if (r) r.timer = null;
        this.sendSubscribe(id);
      }, delay);
      this.refused.set(id, { wait: Math.min(wait * 2, MAX_RETRY_MS), due: Date.now() + delay, timer });
    }
    sub.onRefusal?.(sub.refusal);
    this.render();
  }

  /**
   * A view held that fails now (`view_failed` naming the view): not a refusal, so not asked for
   * again. Its subscriptions keep their rows, the last good ones, and say so until its next update.
   */
  private failing(view: string, frame: Frame): void {
    for (const each of this.byView.get(view) ?? []) {
      const s = this.subs.get(each);
      if (!s) continue;
      s.refusal = { code: 'view_failed', detail: frame.detail ?? 'view_failed', retrying: false };
      s.onRefusal?.(s.refusal);
    }
    this.render();
  }

  /** The server serves `sub` (again): a refusal it had is over. */
  private served(sub: Subscription): void {
    this.said = null;
    if (sub.refusal === null) return;
    sub.refusal = null;
    sub.onRefusal?.(null);
  }

  private onFrame(frame: Frame): void {
    const id = frame.id === undefined ? undefined : String(frame.id);
    const sub = id === undefined ? undefined : this.subs.get(id);
    if (frame.type === 'error') {
      if (frame.view !== undefined && frame.error === 'view_failed') return this.failing(frame.view, frame);
      if (id !== undefined && sub !== undefined) return this.refuse(id, sub, frame);
      // An answer to a subscription this page dropped meanwhile (not_subscribed …) says nothing about the page.
      if (id !== undefined) return;
      this.said = frame.detail ?? frame.error ?? 'error';
      return this.render();
    }
    if (frame.type === 'snapshot' && frame.view !== undefined) {
      if (id === undefined || sub === undefined) return;
      this.clearRefusal(id);
      this.joinView(id, frame.view);
      const key = frame.key ?? [];
      this.keys.set(frame.view, key);
      // A resync (this connection fell behind) is sent once per view, to the id that subscribed
      // last, and every subscription on the view missed the same updates: all take it.
      const ids = frame.reason === 'resync' ? [...(this.byView.get(frame.view) ?? [id])] : [id];
      for (const each of ids) {
        const s = this.subs.get(each);
        if (!s) continue;
        s.rows.clear();
        for (const r of frame.rows ?? []) s.rows.set(keyString(key.map((k) => r[k])), r);
        s.seq = frame.seq ?? 0;
        s.snapshots++;
        if (frame.epoch !== undefined) this.resumeAt.set(each, { epoch: frame.epoch, seq: s.seq });
        this.served(s);
        s.onChange(new Set(), true);
      }
      this.render();
      return;
    }
    if (frame.type === 'resumed' && frame.view !== undefined) {
      if (id === undefined || sub === undefined) return;
      this.clearRefusal(id);
      if (sub.seq === null || frame.seq === undefined || frame.seq > sub.seq) {
        // Past what this subscription holds (it would miss updates): ask for a snapshot instead.
        this.resumeAt.delete(id);
        this.sendSubscribe(id);
        return;
      }
      this.joinView(id, frame.view);
      if (frame.key) this.keys.set(frame.view, frame.key);
      this.served(sub);
      this.render();
      return;
    }
    if (frame.type === 'update' && frame.view !== undefined) {
      const key = this.keys.get(frame.view);
      const ids = this.byView.get(frame.view);
      if (!key || !ids) return;
      for (const each of ids) {
        const s = this.subs.get(each);
        // Replayed after a resume, or already applied: each subscription takes each seq once.
        if (!s || (frame.seq !== undefined && s.seq !== null && frame.seq <= s.seq)) continue;
        for (const k of frame.removed ?? []) s.rows.delete(keyString(k));
        const changed = new Set<string>();
        for (const r of frame.rows ?? []) {
          const k = keyString(key.map((c) => r[c]));
          s.rows.set(k, r);
          changed.add(k);
        }
        s.seq = frame.seq ?? s.seq;
        const at = this.resumeAt.get(each);
        if (at && s.seq !== null) this.resumeAt.set(each, { epoch: at.epoch, seq: s.seq });
        // The first update after view_failed: the view computes again.
        const wasFailing = s.refusal?.code === 'view_failed';
        if (wasFailing) this.served(s);
        s.onChange(changed, false);
        if (wasFailing) this.render();
      }
    }
  }
}
