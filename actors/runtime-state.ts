/**
 * The plugin runtime's base: one plugin's containers, change log, digests and lifecycle, built
 * from its registration, and the fields every layer above reads.
 *
 * The runtime is built in layers, each a module of one concern: this base, runtime-view-watch.ts
 * (the hang watch around the plugin's view code), runtime-views.ts (the custom view and its
 * cache), runtime-reads.ts (change-log readers, stats, digest, key counts), runtime-snapshots.ts
 * (cut, load, what a restore enforces), runtime-key-cap.ts (the key cap and the extra stores'
 * undo scope), runtime-failures.ts (a failing update's undo, report and quarantine), and
 * plugin-runtime.ts, which applies messages and is the class the rest of statscache uses
 * (PluginRuntime).
 */
import { ChangeLog, ROWS } from './change-log.js';
import { createContainer, isTimed, pluginFacing, type TimedContainer } from './containers.js';
import { KeyedStore } from './keyed-store.js';
import { Lifecycle, type LifecycleState } from './lifecycle.js';
import type { PluginCounters } from './plugin-counters.js';
import type { RegisteredPlugin } from './registry.js';
import { RowStore, type Row } from './row-store.js';
import { DEFAULT_MAX_KEYS, type RuntimeOptions } from './runtime-options.js';
import type { StateDigest } from './state-digest.js';
import { WindowedCounter } from './windowed-counter.js';

/** The containers, private to actors/: edges go through the runtime's methods. */
export interface PluginState {
  readonly rows: RowStore<Row>;
  readonly stores: Readonly<Record<string, KeyedStore<unknown>>>;
  readonly counters: PluginCounters;
}

export class RuntimeState {
  readonly ident: string;
  readonly maxKeys: number;
  /**
   * What each container is held to now: maxKeys, or less while the service-wide key budget is
   * full (limitKeys(), key-budget.ts).
   */
  protected cap: number;
  /** See RuntimeOptions.aheadSeconds. */
  readonly aheadSeconds: number;
  protected readonly state: PluginState;
  protected readonly log: ChangeLog;
  protected readonly lifecycle: Lifecycle;
  /** The extra stores as an array: no allocation per message. */
  protected readonly storeList: readonly KeyedStore<unknown>[];
  /** Every container's running digest, rows first. */
  protected readonly digests: readonly StateDigest[];
  /** Containers that expire with message time, and what plugins hold of every store. */
  protected readonly timed: readonly TimedContainer[];
  /** The windowed counters, which make room at the key cap by forgetting their oldest slices. */
  protected readonly windowed: readonly WindowedCounter[];
  /**
   * Message time the timed containers have expired to: the newest message time that reached its
   * update, applied or not (a dropped message's expiry stays done). At least `lastMessageAt`.
   */
  protected clock = Number.NEGATIVE_INFINITY;
  protected readonly facing: Readonly<Record<string, unknown>>;
  protected failures = 0;
  /** See UpdateHealth.quarantinedUntil. */
  protected quarantinedUntil: number | null = null;

  constructor(
    readonly plugin: RegisteredPlugin,
    options: RuntimeOptions,
  ) {
    this.ident = plugin.ident;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.cap = this.maxKeys;
    this.aheadSeconds = options.aheadSeconds ?? 0;
    const stores: Record<string, KeyedStore<unknown>> = {};
    for (const name of plugin.storeNames)
      stores[name] = plugin.storePlans[name] ? createContainer(plugin.storePlans[name]) : new KeyedStore();
    this.state = {
      rows: new RowStore(plugin.definition.key),
      stores: Object.freeze(stores),
      counters: {
        received: 0,
        applied: 0,
        dropped: { update_error: 0, expired: 0, key_cap: 0, key_too_long: 0, quarantined: 0, hung: 0 },
        evicted: 0,
        capEvicted: 0,
        expired: 0,
        lastMessageAt: null,
      },
    };
    this.storeList = Object.values(stores);
    if (options.checkValues === false) for (const s of [this.state.rows, ...this.storeList]) s.checkValues = false;
    this.timed = this.storeList.filter(isTimed);
    this.windowed = this.storeList.filter((s): s is WindowedCounter => s instanceof WindowedCounter);
    this.digests = [this.state.rows.digest, ...this.storeList.map((s) => s.digest)];
    this.facing = Object.freeze(Object.fromEntries(Object.entries(stores).map(([name, c]) => [name, pluginFacing(c)])));
    // Twice the state's size: a reader further behind than that rereads the whole state instead.
    this.log = new ChangeLog(() => 2 * this.storeList.reduce((n, s) => n + s.size, this.state.rows.size));
    this.state.rows.attach(this.log, ROWS);
    this.storeList.forEach((s, i) => s.attach(this.log, i + 1));
    this.lifecycle = new Lifecycle((from, to) => options.onLifecycle?.(this.ident, from, to));
  }

  // ── lifecycle ──────────────────────────────────────────────────────────────────

  get lifecycleState(): LifecycleState {
    return this.lifecycle.current;
  }

  /** The journal is being replayed into this plugin. */
  replaying(): void {
    this.lifecycle.send('replaying');
  }

  /** Restore and replay are done: messages now come live. */
  live(): void {
    this.lifecycle.send('live');
  }

  stop(): void {
    this.lifecycle.send('stop');
  }
}
