/**
 * What every browser example shares: where the statscache is (this origin, or `?api=<url>` for
 * another one: the API answers any origin), JSON reads, and one WebSocket that keeps live views
 * (snapshot, then update frames merged by the plugin's key columns) and resubscribes after a drop.
 */

import { SilenceWatch } from './silence-watch.js';

export type Row = Record<string, unknown> & { readonly timestamp: number };

/** The statscache to read: `?api=http://host:8080` or, by default, the page's own origin. */
export function apiBase(): string {
  const given = new URLSearchParams(location.search).get('api');
  if (given === null || given === '') return location.origin;
  const url = new URL(given, location.href);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error(`?api= must be an http(s) URL, got ${given}`);
  return url.origin + url.pathname.replace(/\/+$/, '');
}

/** Answers that say "not now" (load shedding, a proxy whose upstream is restarting), not "never". */
const RETRY_STATUSES = new Set([429, 502, 503, 504]);
/** The longest wait between two tries of one read, whatever Retry-After asks. */
const MAX_RETRY_MS = 30_000;

/** Doubling from `ms`, with ±25% jitter so pages that lost the same server do not come back in step. */
const jittered = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5));

/**
 * A GET that outlasts a restart or load shedding: 429/502/503/504 and network failures are
 * retried (Retry-After when given, else 1 s doubling to 30 s), the badge saying so meanwhile;
 * any other error status is final.
 */
export async function fetchRetrying(path: string): Promise<Response> {
  let wait = 1000;
  for (let attempt = 1; ; attempt++) {
    let why: string;
    let after: number | null = null;
    try {
      const res = await fetch(apiBase() + path, { headers: { Accept: 'application/json' } });
      if (!RETRY_STATUSES.has(res.status)) {
        troubles.delete(path);
        renderBadge();
        return res;
      }
      const seconds = Number(res.headers.get('Retry-After'));
      if (Number.isFinite(seconds) && seconds > 0) after = seconds * 1000;
      why = `HTTP ${res.status}`;
      await res.body?.cancel();
    } catch (err) {
      why = err instanceof Error ? err.message : String(err);
    }
    const delay = Math.min(MAX_RETRY_MS, after ?? jittered(wait));
    wait = Math.min(wait * 2, MAX_RETRY_MS);
    troubles.set(path, `${path.split('?')[0]}: ${why}; retrying in ${Math.ceil(delay / 1000)} s (try ${attempt + 1})`);
    renderBadge();
    await new Promise((r) => setTimeout(r, delay));
  }
}

export async function getJson<T>(path: string): Promise<T> {
  const res = await fetchRetrying(path);
  if (!res.ok) throw new Error(`${path}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
  return (await res.json()) as T;
}

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

/** "3 min ago", coarse enough to stay right between refreshes. */
export function ago(seconds: number, now = Date.now() / 1000): string {
  const d = Math.max(0, Math.round(now - seconds));
  if (d < 45) return 'just now';
  if (d < 90 * 60) return `${Math.round(d / 60)} min ago`;
  if (d < 36 * 3600) return `${Math.round(d / 3600)} h ago`;
  return `${Math.round(d / 86_400)} days ago`;
}

export function el<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  text?: string,
  cls?: string,
): HTMLElementTagNameMap[K] {
  const e = document.createElement(tag);
  if (text !== undefined) e.textContent = text;
  if (cls) e.className = cls;
  return e;
}

/** Reads being retried (path → why), shown on the badge ahead of the WebSocket's state. */
const troubles = new Map<string, string>();
let wsStatus: readonly [string, string] = ['connecting…', 'connecting'];

function renderBadge(): void {
  const badge = document.getElementById('status');
  if (!badge) return;
  const trouble = troubles.values().next();
  const [text, state] = trouble.done ? wsStatus : [trouble.value, 'down'];
  badge.textContent = text;
  badge.className = `status ${state}`;
}

/** The page's status badge (#status): the WebSocket's state, unless a read is being retried. */
export function statusBadge(): (text: string, state: string) => void {
  return (text, state) => {
    wsStatus = [text, state];
    renderBadge();
  };
}

/** Only http(s) links from message data become hrefs. */
export function safeHref(link: unknown): string | null {
  if (typeof link !== 'string') return null;
  try {
    const u = new URL(link);
    return u.protocol === 'http:' || u.protocol === 'https:' ? u.href : null;
  } catch {
    return null;
  }
}

/** Every page of `/api/<ident>?<query>` (rows_per_page 100), at most `maxPages` requests. */
export async function allRows(ident: string, query: Record<string, string | number>, maxPages = 50): Promise<Row[]> {
  const out: Row[] = [];
  for (let page = 1; page <= maxPages; page++) {
    const q = new URLSearchParams(
      Object.entries({ ...query, rows_per_page: 100, page }).map(([k, v]) => [k, String(v)]),
    );
    const res = await fetchRetrying(`/api/${encodeURIComponent(ident)}?${q}`);
    if (!res.ok) throw new Error(`/api/${ident}: HTTP ${res.status} ${(await res.text()).slice(0, 200)}`);
    out.push(...((await res.json()) as Row[]));
    if (page >= Number(res.headers.get('X-Link-Count') ?? '1')) break;
  }
  return out;
}

/**
 * Counting rows (volume per bucket) only grow: merging history read over HTTP with rows from a
 * live view keeps the larger count, whichever arrived first. A live view holds only its newest
 * page, so a row leaving that page is not a row that stopped existing: removals are not applied.
 */
export function mergeCounts(
  into: Map<string, Row>,
  rows: Iterable<Row>,
  keyOf: (r: Row) => string,
  column = 'volume',
): void {
  for (const r of rows) {
    const k = keyOf(r);
    const had = into.get(k);
    if (had === undefined || Number(r[column]) >= Number(had[column])) into.set(k, r);
  }
}

/** Rows of a live view that a frame touched (all of them after a snapshot). */
export function touched(sub: Subscription, changed: ReadonlySet<string>): Row[] {
  if (changed.size === 0) return [...sub.rows.values()];
  return [...changed].map((k) => sub.rows.get(k)).filter((r): r is Row => r !== undefined);
}
