/**
 * A small typed client for statscache's live push (`/ws`). It subscribes to views, applies
 * snapshot/update frames by row key into a Map, and on a dropped connection reconnects with
 * exponential back-off and resumes from its last {epoch, seq}: the server replays what was
 * missed or sends a fresh snapshot, so the local rows always equal the HTTP view.
 *
 * Several subscriptions to the same view (two widgets showing one statistic) share the one
 * subscription the server keeps per view and connection, each kept current. A subscription the
 * server refuses for now (too many views, load shedding) is asked for again with jittered
 * back-off; one it refuses for good (unknown ident, bad parameter) fails: ready() rejects. One
 * whose view fails after it was served keeps its rows (the last good ones), `failing`, until the
 * view's next update. A
 * server that falls silent without closing (frozen, its host gone, the network cut) is pinged
 * after `pingAfterMs` of silence and given up `answerMs` later, then reconnected.
 *
 * It only needs a WebSocket constructor (the browser's, or `ws` in Node 20), so a dashboard
 * can copy this file together with examples/web-shared/silence-watch.ts and
 * src/http/ws-frames.ts (types only).
 */
import type { ServerFrame, SubscriptionId, WireParams } from '../../src/http/ws-frames.js';
import { SilenceWatch } from '../web-shared/silence-watch.js';

export type Row = Record<string, unknown> & { timestamp: number };

/** The part of the WebSocket API this client uses (browser and `ws` both have it). */
export interface WebSocketLike {
  readonly readyState: number;
  send(data: string): void;
  close(code?: number, reason?: string): void;
  onopen: ((ev: unknown) => void) | null;
  onmessage: ((ev: { data: unknown }) => void) | null;
  onclose: ((ev: { code: number; reason: string }) => void) | null;
  onerror: ((ev: unknown) => void) | null;
}

export type WebSocketCtor = new (url: string) => WebSocketLike;

export interface ClientOptions {
  /** `ws://host:port/ws` */
  readonly url: string;
  readonly WebSocket: WebSocketCtor;
  /** First reconnect delay; doubles per failed attempt up to `maxDelayMs`. */
  readonly initialDelayMs?: number;
  readonly maxDelayMs?: number;
  /** Every frame as received (logging, tests). */
  readonly onFrame?: (frame: ServerFrame) => void;
  readonly onClose?: (code: number, reason: string) => void;
  /** Silence (no frame at all) after which the server is pinged; default 15 s. */
  readonly pingAfterMs?: number;
  /** How long a ping, or a connection attempt, may go unanswered before it is given up; default 10 s. */
  readonly answerMs?: number;
}

/** Refusals the server may lift later (limits, load shedding): the subscription is asked for again. */
const RETRY_ERRORS: ReadonlySet<string> = new Set([
  'too_many_new_views',
  'too_many_views',
  'too_many_subscriptions_per_ip',
  'view_failed',
]);

/** Doubling from `ms` with ±25% jitter, so clients refused together do not come back in step. */
const jittered = (ms: number) => Math.round(ms * (0.75 + Math.random() * 0.5));

/** The error a subscription fails with, for ready()'s rejection. */
export class SubscriptionRefused extends Error {
  constructor(readonly frame: Extract<ServerFrame, { type: 'error' }>) {
    super(`subscription refused: ${frame.error}: ${frame.detail}`);
  }
}

export interface ClientStats {
  connects: number;
  snapshots: number;
  updates: number;
  resumes: number;
  /** Update frames that did not follow the last seq (the client then re-subscribed). */
  gaps: number;
  /** Update frames already applied (seq <= last), ignored. */
  duplicates: number;
  /** Refusals for now, each followed by a retry of that subscription. */
  refusals: number;
  /** Connections given up because the server fell silent. */
  silences: number;
}

/** One subscription: its rows, kept current. */
export class LiveSubscription {
  readonly rows = new Map<string, Row>();
  epoch: string | null = null;
  seq: number | null = null;
  view: string | null = null;
  key: readonly string[] = ['timestamp'];
  order: 'asc' | 'desc' = 'desc';
  lastError: Extract<ServerFrame, { type: 'error' }> | null = null;
  /**
   * `retrying`: refused for now, asked for again later; `failed`: refused for good (lastError says
   * why); `failing`: served, but its view fails now (lastError), so `rows` are its last good ones
   * until the next update.
   */
  status: 'pending' | 'live' | 'retrying' | 'failed' | 'failing' | 'closed' = 'pending';
  /** @internal the back-off of a refused subscription */
  retry: { wait: number; timer: ReturnType<typeof setTimeout> | null } | null = null;
  private readyWaiters: { resolve: () => void; reject: (err: Error) => void }[] = [];

  constructor(
    readonly id: number,
    readonly ident: string,
    readonly params: WireParams,
    private readonly listener: ((sub: LiveSubscription) => void) | undefined,
    private readonly client: StatscacheClient,
  ) {}

  /** Resolves once the first snapshot (or resume) has been applied; rejects if the server refuses it for good. */
  ready(): Promise<void> {
    if (this.seq !== null) return Promise.resolve();
    if (this.status === 'failed' && this.lastError !== null)
      return Promise.reject(new SubscriptionRefused(this.lastError));
    return new Promise((resolve, reject) => this.readyWaiters.push({ resolve, reject }));
  }

  /** @internal refused for good: no retry, and whoever waits on ready() hears why. */
  fail(frame: Extract<ServerFrame, { type: 'error' }>): void {
    this.status = 'failed';
    const err = new SubscriptionRefused(frame);
    for (const w of this.readyWaiters.splice(0)) w.reject(err);
  }

  /** The rows in view order (by timestamp, then by key). */
  list(): Row[] {
    const sign = this.order === 'asc' ? 1 : -1;
    return [...this.rows.entries()]
      .sort(([ka, a], [kb, b]) => sign * (a.timestamp - b.timestamp || (ka < kb ? -1 : ka > kb ? 1 : 0)))
      .map(([, r]) => r);
  }

  unsubscribe(): void {
    this.client.unsubscribe(this);
  }

  keyOf(row: Record<string, unknown>): string {
    return JSON.stringify(this.key.map((c) => row[c] ?? null));
  }

  /** @internal */
  apply(frame: ServerFrame, stats: ClientStats): 'ok' | 'resubscribe' {
    switch (frame.type) {
      case 'snapshot':
        this.rows.clear();
        this.adopt(frame);
        for (const r of frame.rows) this.rows.set(this.keyOf(r), r as Row);
        stats.snapshots++;
        break;
      case 'resumed':
        if (frame.seq !== this.seq) return 'resubscribe';
        this.adopt(frame);
        stats.resumes++;
        break;
      case 'update': {
        if (this.seq === null) return 'ok';
        if (frame.seq <= this.seq) {
          stats.duplicates++;
          return 'ok';
        }
        if (frame.seq !== this.seq + 1) {
          stats.gaps++;
          return 'resubscribe';
        }
        for (const k of frame.removed) this.rows.delete(JSON.stringify(k));
        for (const r of frame.rows) this.rows.set(this.keyOf(r), r as Row);
        this.seq = frame.seq;
        stats.updates++;
        break;
      }
      case 'error':
        this.lastError = frame;
        if (frame.view !== undefined && this.seq !== null) {
          this.status = 'failing';
          this.listener?.(this);
        }
        return 'ok';
      default:
        return 'ok';
    }
    this.status = 'live';
    this.lastError = null;
    this.listener?.(this);
    for (const w of this.readyWaiters.splice(0)) w.resolve();
    return 'ok';
  }

  private adopt(frame: Extract<ServerFrame, { type: 'snapshot' | 'resumed' }>): void {
    this.epoch = frame.epoch;
    this.seq = frame.seq;
    this.view = frame.view;
    this.key = frame.key;
    this.order = frame.order;
  }
}

export class StatscacheClient {
  readonly stats: ClientStats = {
    connects: 0,
    snapshots: 0,
    updates: 0,
    resumes: 0,
    gaps: 0,
    duplicates: 0,
    refusals: 0,
    silences: 0,
  };
  /** The server's epoch from its last hello. */
  epoch: string | null = null;
  private socket: WebSocketLike | null = null;
  private readonly subs = new Map<number, LiveSubscription>();
  /** Every local subscription a view's update frames go to (the server sends each view once per connection). */
  private readonly byView = new Map<string, Set<LiveSubscription>>();
  private nextId = 1;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
  private watch: SilenceWatch | null = null;
  private closed = false;

  constructor(private readonly options: ClientOptions) {
    this.connect();
  }

  get connected(): boolean {
    return this.socket?.readyState === 1;
  }

  subscribe(ident: string, params: WireParams = {}, onChange?: (sub: LiveSubscription) => void): LiveSubscription {
    const sub = new LiveSubscription(this.nextId++, ident, params, onChange, this);
    this.subs.set(sub.id, sub);
    this.sendSubscribe(sub);
    return sub;
  }

  unsubscribe(sub: LiveSubscription): void {
    if (!this.subs.delete(sub.id)) return;
    sub.status = 'closed';
    this.stopRetry(sub);
    const sharing = this.leaveView(sub);
    // The server keeps one subscription per view and connection, under the id that subscribed
    // last: another local subscription on the view keeps it, and takes it over under its own id
    // (a resume, so it loses nothing) for the frames the server addresses by id.
    const heir =
      sharing ?? [...this.subs.values()].find((s) => s.ident === sub.ident && sameParams(s.params, sub.params));
    if (heir !== undefined) {
      this.sendSubscribe(heir);
      return;
    }
    this.send({ op: 'unsubscribe', ident: sub.ident, params: sub.params });
  }

  /** Drops the connection without closing the client: it reconnects and resumes (for tests and "network blips"). */
  dropConnection(): void {
    this.socket?.close(4000, 'client dropped the connection');
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.watch?.stop();
    for (const sub of this.subs.values()) this.stopRetry(sub);
    this.socket?.close(1000, 'bye');
  }

  private connect(): void {
    const socket = new this.options.WebSocket(this.options.url);
    this.socket = socket;
    this.watch = new SilenceWatch(
      () => this.send({ op: 'ping' }),
      (why) => {
        this.stats.silences++;
        // The close handshake with a server that does not answer would only wait: drop it now.
        socket.onopen = null;
        socket.onmessage = null;
        socket.onclose = null;
        socket.close(4001, why);
        this.dropped(socket, 4001, why);
      },
      this.options.pingAfterMs ?? 15_000,
      this.options.answerMs ?? 10_000,
    );
    this.watch.start(() => socket.readyState === 1);
    socket.onopen = () => {
      this.stats.connects++;
      this.byView.clear();
      for (const sub of this.subs.values()) {
        this.stopRetry(sub);
        this.sendSubscribe(sub);
      }
    };
    socket.onmessage = (ev) => {
      this.watch?.heard();
      this.receive(String(ev.data));
    };
    socket.onerror = () => {
      /* onclose follows and schedules the reconnect */
    };
    socket.onclose = (ev) => this.dropped(socket, ev.code, ev.reason);
  }

  private dropped(socket: WebSocketLike, code: number, reason: string): void {
    if (this.socket !== socket) return;
    this.socket = null;
    this.watch?.stop();
    // Every subscription is sent again on open: a refusal's own retry would only duplicate it.
    for (const sub of this.subs.values()) this.stopRetry(sub);
    this.options.onClose?.(code, reason);
    if (this.closed) return;
    const initial = this.options.initialDelayMs ?? 250;
    const delay = Math.min(this.options.maxDelayMs ?? 30_000, initial * 2 ** this.attempt++);
    // Jitter spreads a thundering herd of dashboards after a server restart.
    this.timer = setTimeout(() => this.connect(), delay / 2 + Math.random() * (delay / 2));
  }

  private receive(text: string): void {
    let frame: ServerFrame;
    try {
      frame = JSON.parse(text) as ServerFrame;
    } catch {
      return;
    }
    this.options.onFrame?.(frame);
    if (frame.type === 'hello') {
      this.epoch = frame.epoch;
      return;
    }
    if (frame.type === 'update') {
      const subs = this.byView.get(frame.view);
      if (subs !== undefined) for (const sub of [...subs]) this.applyTo(sub, frame);
      return;
    }
    if (frame.type === 'error' && frame.view !== undefined) {
      // A view held that fails now, not a refusal: every local subscription on it keeps its rows,
      // marked failing, and is not asked for again; its next update ends that.
      const subs = this.byView.get(frame.view);
      if (subs !== undefined) for (const sub of [...subs]) sub.apply(frame, this.stats);
      return;
    }
    const sub = 'id' in frame && typeof frame.id === 'number' ? this.subs.get(frame.id) : undefined;
    if (!sub) return;
    if (frame.type === 'error') return this.refused(sub, frame);
    if (frame.type === 'snapshot' || frame.type === 'resumed') {
      if (sub.view !== frame.view) this.leaveView(sub);
      let subs = this.byView.get(frame.view);
      if (subs === undefined) this.byView.set(frame.view, (subs = new Set()));
      subs.add(sub);
      this.attempt = 0;
      this.stopRetry(sub);
    }
    this.applyTo(sub, frame);
  }

  private applyTo(sub: LiveSubscription, frame: ServerFrame): void {
    if (sub.apply(frame, this.stats) === 'resubscribe') {
      sub.seq = null;
      this.sendSubscribe(sub);
    }
  }

  /** A refusal for now is asked again after a jittered back-off; one for good fails the subscription. */
  private refused(sub: LiveSubscription, frame: Extract<ServerFrame, { type: 'error' }>): void {
    sub.apply(frame, this.stats);
    if (!RETRY_ERRORS.has(frame.error)) {
      sub.fail(frame);
      return;
    }
    this.stats.refusals++;
    sub.status = 'retrying';
    const wait = sub.retry?.wait ?? this.options.initialDelayMs ?? 250;
    if (sub.retry?.timer) clearTimeout(sub.retry.timer);
    const timer = setTimeout(() => {
      if (sub.retry) sub.retry.timer = null;
      if (this.subs.has(sub.id)) this.sendSubscribe(sub);
    }, jittered(wait));
    sub.retry = { wait: Math.min(wait * 2, this.options.maxDelayMs ?? 30_000), timer };
  }

  private stopRetry(sub: LiveSubscription): void {
    if (sub.retry?.timer) clearTimeout(sub.retry.timer);
    sub.retry = null;
  }

  /** Takes `sub` off its view; returns another local subscription still on that view, if any. */
  private leaveView(sub: LiveSubscription): LiveSubscription | undefined {
    if (sub.view === null) return undefined;
    const subs = this.byView.get(sub.view);
    if (subs === undefined) return undefined;
    subs.delete(sub);
    if (subs.size === 0) this.byView.delete(sub.view);
    return subs.values().next().value;
  }

  private sendSubscribe(sub: LiveSubscription): void {
    const resume = sub.epoch !== null && sub.seq !== null ? { epoch: sub.epoch, seq: sub.seq } : undefined;
    this.send({
      op: 'subscribe',
      ident: sub.ident,
      params: sub.params,
      id: sub.id as SubscriptionId,
      ...(resume ? { resume } : {}),
    });
  }

  private send(frame: Record<string, unknown>): void {
    if (this.socket?.readyState === 1) this.socket.send(JSON.stringify(frame));
  }
}

/** Whether two parameter sets are the same, whatever their key order. */
function sameParams(a: WireParams, b: WireParams): boolean {
  const ka = Object.keys(a);
  const kb = Object.keys(b);
  return ka.length === kb.length && ka.every((k) => Object.hasOwn(b, k) && String(a[k]) === String(b[k]));
}
