import { createActor, fromTransition, type Actor } from 'xstate';
import { createContainer, isTimed, pluginFacing, type TimedContainer } from './containers.js';
import { bucketEnd } from './interval.js';
import { KeyedStore } from './keyed-store.js';
import type { PluginMessage, UpdateContext, ViewContext } from './plugin-api.js';
import type { RegisteredPlugin } from './registry.js';
import { RowStore, type Row } from './row-store.js';

/** update_error: the plugin threw; expired: older than retention; key_cap: it would grow a store past the key cap. */
export type DropReason = 'update_error' | 'expired' | 'key_cap';

/** Keys one container may hold by default (rows, and each extra store). */
export const DEFAULT_MAX_KEYS = 1_000_000;

export interface RuntimeOptions {
  /** Most keys in `rows` (the oldest rows make room) and in each store (a message that would exceed it is dropped). */
  readonly maxKeys?: number;
}

/** What the runtime counts for every plugin, so authors never write that code. */
export interface PluginCounters {
  received: number;
  applied: number;
  dropped: Record<DropReason, number>;
  evicted: number;
  /** Oldest rows removed to keep `rows` within the key cap. */
  capEvicted: number;
  /** Entries of expiring stores and windowed counters deleted as message time moved past them. */
  expired: number;
  /** Timestamp of the newest message applied, seconds. */
  lastMessageAt: number | null;
}

/** The actor's state: containers mutated in place (never copied per message) plus counters. */
export interface PluginState {
  readonly rows: RowStore<Row>;
  readonly stores: Readonly<Record<string, KeyedStore<unknown>>>;
  readonly counters: PluginCounters;
  /** Increases on every applied message; caches and ETags key on it. */
  version: number;
}

type PluginEvent = { readonly type: 'message'; readonly message: PluginMessage };

export type PluginErrorHandler = (ident: string, error: unknown, message: PluginMessage) => void;

/**
 * Hosts one plugin as an XState actor. The reducer never throws: a failing update is rolled
 * back, counted and reported, because XState stops an actor whose transition throws for good.
 */
export class PluginRuntime {
  readonly ident: string;
  readonly state: PluginState;
  private readonly actor: Actor<ReturnType<typeof this.logic>>;
  /** The extra stores as an array: no allocation per message. */
  private readonly storeList: readonly KeyedStore<unknown>[];
  private readonly updateContext: { rows: RowStore<Row>; stores: Record<string, unknown>; bucket: number; interval: number | null };
  /** Containers that expire with message time, and what plugins hold of every store. */
  private readonly timed: readonly TimedContainer[];
  private readonly facing: Readonly<Record<string, unknown>>;

  readonly maxKeys: number;

  constructor(
    readonly plugin: RegisteredPlugin,
    private readonly onError: PluginErrorHandler,
    options: RuntimeOptions = {},
  ) {
    this.ident = plugin.ident;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    const stores: Record<string, KeyedStore<unknown>> = {};
    for (const name of plugin.storeNames) stores[name] = plugin.storePlans[name] ? createContainer(plugin.storePlans[name]) : new KeyedStore();
    this.state = {
      rows: new RowStore(plugin.definition.key),
      stores: Object.freeze(stores),
      counters: { received: 0, applied: 0, dropped: { update_error: 0, expired: 0, key_cap: 0 }, evicted: 0, capEvicted: 0, expired: 0, lastMessageAt: null },
      version: 0,
    };
    this.storeList = Object.values(stores);
    this.timed = this.storeList.filter(isTimed);
    this.facing = Object.freeze(Object.fromEntries(Object.entries(stores).map(([name, c]) => [name, pluginFacing(c)])));
    // One context object reused for every message: only `bucket` changes.
    this.updateContext = { rows: this.state.rows, stores: this.facing as Record<string, unknown>, bucket: 0, interval: plugin.intervalSeconds };
    this.actor = createActor(this.logic());
    this.actor.subscribe({ error: (err) => this.onError(this.ident, err, undefined as never) });
    this.actor.start();
  }

  send(message: PluginMessage): void {
    this.actor.send({ type: 'message', message });
  }

  stop(): void {
    this.actor.stop();
  }

  /** The read side handed to `view`: no write methods. */
  viewContext(): ViewContext<Row, Record<string, never>> {
    return { rows: this.state.rows, stores: this.facing as never, interval: this.plugin.intervalSeconds, newest: this.state.counters.lastMessageAt };
  }

  private logic() {
    return fromTransition((state: PluginState, event: PluginEvent) => {
      if (event.type === 'message') this.apply(state, event.message);
      return state;
    }, this.state);
  }

  private apply(state: PluginState, message: PluginMessage): void {
    const { plugin } = this;
    const counters = state.counters;
    counters.received++;
    const interval = plugin.intervalSeconds;
    const bucket = interval === null ? message.timestamp : bucketEnd(message.timestamp, interval);
    const retention = plugin.retentionSeconds;
    const newest = state.rows.newestTimestamp;
    if (retention !== null && newest !== undefined && bucket < newest - retention) {
      counters.dropped.expired++;
      return;
    }
    const ctx = this.updateContext;
    ctx.bucket = bucket;
    state.rows.beginMessage();
    for (const s of this.storeList) s.beginMessage();
    const expired = this.timed.length === 0 ? 0 : this.advanceTimed(message.timestamp);
    try {
      (plugin.definition.update as (m: PluginMessage, c: UpdateContext<Row, never>) => void)(message, ctx as never);
    } catch (err) {
      state.rows.rollback();
      for (const s of this.storeList) s.rollback();
      counters.dropped.update_error++;
      this.onError(this.ident, err, message);
      return;
    }
    if (this.storeOverCap()) {
      state.rows.rollback();
      for (const s of this.storeList) s.rollback();
      counters.dropped.key_cap++;
      return;
    }
    state.rows.endMessage();
    for (const s of this.storeList) s.endMessage();
    counters.applied++;
    counters.expired += expired;
    if (counters.lastMessageAt === null || message.timestamp > counters.lastMessageAt) counters.lastMessageAt = message.timestamp;
    state.version++;
    if (retention !== null) {
      const top = state.rows.newestTimestamp;
      const oldest = state.rows.oldestTimestamp;
      if (top !== undefined && oldest !== undefined && oldest < top - retention) {
        counters.evicted += state.rows.evictBefore(top - retention);
      }
    }
    if (state.rows.size > this.maxKeys) counters.capEvicted += state.rows.evictOldest(state.rows.size - this.maxKeys);
  }

  /**
   * Expiry runs inside the message, before its update: the deletes are undone with it if it
   * throws, and a late message still sees the window as of the newest message time.
   */
  private advanceTimed(messageTime: number): number {
    const last = this.state.counters.lastMessageAt;
    const now = last !== null && last > messageTime ? last : messageTime;
    let expired = 0;
    for (let i = 0; i < this.timed.length; i++) expired += (this.timed[i] as TimedContainer).advance(now, messageTime);
    return expired;
  }

  private storeOverCap(): boolean {
    for (let i = 0; i < this.storeList.length; i++) if ((this.storeList[i] as KeyedStore<unknown>).size > this.maxKeys) return true;
    return false;
  }
}
