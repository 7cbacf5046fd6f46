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
  detail?: string;
};

const keyString = (key: readonly unknown[]) => JSON.stringify(key.map((v) => v ?? null));

/** Subscription refusals that may pass (load shedding, a view that failed to compute): asked again later. */
const RETRY_ERRORS = new Set(['too_many_new_views', 'too_many_views', 'too_many_subscriptions_per_ip', 'view_failed']);

/** A WebSocket to the statscache, shared by every live view of the page. */
export class Live {
  private socket: WebSocket | null = null;
  private backoff = 500;
  private next = 1;
  private readonly subs = new Map<string, Subscription>();
  private readonly keys = new Map<string, readonly string[]>();
  private readonly byView = new Map<string, string>();
  /** Subscriptions the server refused for now (load shedding), with the wait before the next try. */
  private watch: SilenceWatch | null = null;
  private readonly refused = new Map<string, { wait: number; timer: ReturnType<typeof setTimeout> | null }>();

  constructor(private readonly onStatus: (text: string, state: 'live' | 'down' | 'connecting') => void) {
    this.connect();
  }

  subscribe(ident: string, params: Params, onChange: Subscription['onChange']): Subscription {
    const id = `s${this.next++}`;
    const sub: Subscription = { ident, params, rows: new Map(), seq: null, snapshots: 0, onChange };
    this.subs.set(id, sub);
    this.send({ op: 'subscribe', id, ident, params });
    return sub;
  }

  unsubscribe(sub: Subscription): void {
    for (const [id, s] of this.subs) {
      if (s !== sub) continue;
      this.subs.delete(id);
      this.clearRefusal(id);
      for (const [view, owner] of this.byView) if (owner === id) this.byView.delete(view);
      this.send({ op: 'unsubscribe', id });
    }
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
      for (const [id, s] of this.subs)
        socket.send(JSON.stringify({ op: 'subscribe', id, ident: s.ident, params: s.params }));
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
      const sub = this.subs.get(id);
      if (sub) this.send({ op: 'subscribe', id, ident: sub.ident, params: sub.params });
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
      this.byView.set(frame.view, id);
      const key = frame.key ?? [];
      this.keys.set(frame.view, key);
      sub.rows.clear();
      for (const r of frame.rows ?? []) sub.rows.set(keyString(key.map((k) => r[k])), r);
      sub.seq = frame.seq ?? 0;
      sub.snapshots++;
      sub.onChange(new Set(), true);
      return;
    }
    if (frame.type === 'update' && frame.view !== undefined) {
      const id = this.byView.get(frame.view);
      const sub = id === undefined ? undefined : this.subs.get(id);
      const key = this.keys.get(frame.view);
      if (!sub || !key) return;
      for (const k of frame.removed ?? []) sub.rows.delete(keyString(k));
      const changed = new Set<string>();
      for (const r of frame.rows ?? []) {
        const k = keyString(key.map((c) => r[c]));
        sub.rows.set(k, r);
        changed.add(k);
      }
      sub.seq = frame.seq ?? sub.seq;
      sub.onChange(changed, false);
    }
  }
}
