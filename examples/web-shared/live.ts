/**
 * The page's WebSocket to the statscache (the README's protocol): one socket shared by every
 * live view, each kept current (snapshot, then update frames merged by the plugin's key
 * columns), subscribed again after a drop or a refusal for now, and given up when the server
 * falls silent (silence-watch.ts).
 */
import { SilenceWatch } from './silence-watch.js';
import { apiBase, jittered, MAX_RETRY_MS, type Row } from './statscache.js';

export type Params = Readonly<Record<string, string | number | boolean>>;

/** One live view: `rows` is kept current; `onChange` runs after every snapshot or update. */
export interface Subscription {
  readonly ident: string;
  readonly params: Params;
  readonly rows: Map<string, Row>;
  /** Set by the first snapshot; updates before it cannot happen. */
  seq: number | null;
  /** Snapshots received: more than one means the rows were replaced (a reconnect, maybe to a restarted server, or a resync). */
  snapshots: number;
  /**
   * `snapshot` is true when `rows` were replaced as a whole: anything the page derived from
   * earlier rows came from another connection (a restarted server, another epoch) and is stale.
   */
  onChange: (changed: ReadonlySet<string>, snapshot: boolean) => void;
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
  private readonly refused = new Map<string, { wait: number; timer: ReturnType<typeof setTimeout> | null }>();

  constructor(private readonly onStatus: (text: string, state: 'live' | 'down' | 'connecting') => void) {
    this.connect();
  }

  subscribe(ident: string, params: Params, onChange: Subscription['onChange']): Subscription {
    const id = `s${this.next++}`;
    const sub: Subscription = { ident, params, rows: new Map(), seq: null, snapshots: 0, onChange };
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

  private connect(): void {
    const url = `${apiBase().replace(/^http/, 'ws')}/ws`;
    this.onStatus('connecting…', 'connecting');
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
      this.onStatus('live', 'live');
      this.byView.clear();
      this.viewOf.clear();
      // A new connection starts every view afresh (a snapshot: the server may have restarted
      // from another state); resuming is for handing a view over within one connection.
      this.resumeAt.clear();
      for (const id of this.subs.keys()) this.sendSubscribe(id);
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
    this.onStatus(`${why}; retrying in ${Math.max(1, Math.round(delay / 1000))} s`, 'down');
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
   * failed to compute) is asked for again with back-off; until it is served, the badge says
   * the page is not live, for its rows are the old connection's.
   */
  private retryLater(id: string, frame: Frame): void {
    const wait = this.refused.get(id)?.wait ?? 1000;
    const delay = jittered(wait);
    const timer = setTimeout(() => {
      const r = this.refused.get(id);
      if (r) r.timer = null;
      this.sendSubscribe(id);
    }, delay);
    this.refused.set(id, { wait: Math.min(wait * 2, MAX_RETRY_MS), timer });
    this.onStatus(
      `live view refused (${frame.error ?? 'error'}); retrying in ${Math.max(1, Math.round(delay / 1000))} s`,
      'down',
    );
  }

  private onFrame(frame: Frame): void {
    if (frame.type === 'error') {
      const id = frame.id === undefined ? undefined : String(frame.id);
      if (id !== undefined && this.subs.has(id) && RETRY_ERRORS.has(frame.error ?? ''))
        return this.retryLater(id, frame);
      // An answer to a subscription this page dropped meanwhile (not_subscribed …) says nothing about the page.
      if (id !== undefined && !this.subs.has(id)) return;
      return this.onStatus(`server said: ${frame.detail ?? 'error'}`, 'down');
    }
    if (frame.type === 'snapshot' && frame.id !== undefined && frame.view !== undefined) {
      const id = String(frame.id);
      const sub = this.subs.get(id);
      if (!sub) return;
      if (this.refused.has(id)) {
        this.clearRefusal(id);
        if (this.refused.size === 0) this.onStatus('live', 'live');
      }
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
        s.onChange(new Set(), true);
      }
      return;
    }
    if (frame.type === 'resumed' && frame.id !== undefined && frame.view !== undefined) {
      const id = String(frame.id);
      const sub = this.subs.get(id);
      if (!sub) return;
      if (this.refused.has(id)) {
        this.clearRefusal(id);
        if (this.refused.size === 0) this.onStatus('live', 'live');
      }
      if (sub.seq === null || frame.seq === undefined || frame.seq > sub.seq) {
        // Past what this subscription holds (it would miss updates): ask for a snapshot instead.
        this.resumeAt.delete(id);
        this.sendSubscribe(id);
        return;
      }
      this.joinView(id, frame.view);
      if (frame.key) this.keys.set(frame.view, frame.key);
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
        s.onChange(changed, false);
      }
    }
  }
}
