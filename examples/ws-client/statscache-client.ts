/**
 * A small typed client for statscache's live push (`/ws`). It subscribes to views, applies
 * snapshot/update frames by row key into a Map, and on a dropped connection reconnects with
 * exponential back-off and resumes from its last {epoch, seq}: the server replays what was
 * missed or sends a fresh snapshot, so the local rows always equal the HTTP view.
 *
 * It only needs a WebSocket constructor (the browser's, or `ws` in Node 20), so a dashboard
 * can copy this file together with src/http/ws-frames.ts (types only).
 */
import type { ServerFrame, SubscriptionId, WireParams } from '../../src/http/ws-frames.js';

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
  private readyWaiters: (() => void)[] = [];

  constructor(
    readonly id: number,
    readonly ident: string,
    readonly params: WireParams,
    private readonly listener: ((sub: LiveSubscription) => void) | undefined,
    private readonly client: StatscacheClient,
  ) {}

  /** Resolves once the first snapshot (or resume) has been applied. */
  ready(): Promise<void> {
    return this.seq !== null ? Promise.resolve() : new Promise((r) => this.readyWaiters.push(r));
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
        return 'ok';
      default:
        return 'ok';
    }
    this.listener?.(this);
    for (const w of this.readyWaiters.splice(0)) w();
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
  readonly stats: ClientStats = { connects: 0, snapshots: 0, updates: 0, resumes: 0, gaps: 0, duplicates: 0 };
  /** The server's epoch from its last hello. */
  epoch: string | null = null;
  private socket: WebSocketLike | null = null;
  private readonly subs = new Map<number, LiveSubscription>();
  private readonly byView = new Map<string, LiveSubscription>();
  private nextId = 1;
  private attempt = 0;
  private timer: ReturnType<typeof setTimeout> | null = null;
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
    if (sub.view) this.byView.delete(sub.view);
    this.send({ op: 'unsubscribe', id: sub.id });
  }

  /** Drops the connection without closing the client: it reconnects and resumes (for tests and "network blips"). */
  dropConnection(): void {
    this.socket?.close(4000, 'client dropped the connection');
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearTimeout(this.timer);
    this.socket?.close(1000, 'bye');
  }

  private connect(): void {
    const socket = new this.options.WebSocket(this.options.url);
    this.socket = socket;
    socket.onopen = () => {
      this.stats.connects++;
      for (const sub of this.subs.values()) this.sendSubscribe(sub);
    };
    socket.onmessage = (ev) => this.receive(String(ev.data));
    socket.onerror = () => {
      /* onclose follows and schedules the reconnect */
    };
    socket.onclose = (ev) => {
      if (this.socket !== socket) return;
      this.socket = null;
      this.options.onClose?.(ev.code, ev.reason);
      if (this.closed) return;
      const initial = this.options.initialDelayMs ?? 250;
      const delay = Math.min(this.options.maxDelayMs ?? 30_000, initial * 2 ** this.attempt++);
      // Jitter spreads a thundering herd of dashboards after a server restart.
      this.timer = setTimeout(() => this.connect(), delay / 2 + Math.random() * (delay / 2));
    };
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
    let sub: LiveSubscription | undefined;
    if (frame.type === 'update') sub = this.byView.get(frame.view);
    else if ('id' in frame && typeof frame.id === 'number') sub = this.subs.get(frame.id);
    if (!sub) return;
    if (frame.type === 'snapshot' || frame.type === 'resumed') {
      if (sub.view && sub.view !== frame.view) this.byView.delete(sub.view);
      this.byView.set(frame.view, sub);
      this.attempt = 0;
    }
    if (sub.apply(frame, this.stats) === 'resubscribe') {
      sub.seq = null;
      this.sendSubscribe(sub);
    }
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
