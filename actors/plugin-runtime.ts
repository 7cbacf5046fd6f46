import { type ApplyBeacon, BEACON, viewParamsText } from './apply-beacon.js';
import { ChangeLog, ROWS, type ChangeCursor } from './change-log.js';
import { createContainer, isTimed, pluginFacing, type TimedContainer } from './containers.js';
import { bucketEnd } from './interval.js';
import { DEFAULT_MAX_KEYS } from './key-budget.js';
import { KeyedStore, KeyTooLongError, type ReadonlyKeyedStore } from './keyed-store.js';
import { Lifecycle, type LifecycleState, type UpdateHealth } from './lifecycle.js';
import type { PluginMessage, UpdateContext, ViewContext } from './plugin-api.js';
import type { RegisteredPlugin } from './registry.js';
import { RowStore, type Row } from './row-store.js';
import { SnapshotCut } from './snapshot-cut.js';
import { formatDigest, type StateDigest } from './state-digest.js';
import { HUNG_PARAMS_BEFORE_WHOLE, type HungView, paramsKey, ViewCache, ViewHungBefore } from './view-cache.js';
import { queryRows, querySorted, type ViewPage, type ViewQuery } from './view-query.js';
import { WindowedCounter } from './windowed-counter.js';

/**
 * update_error: the plugin threw; expired: older than retention; key_cap: it would grow a store
 * (of a windowed counter, its newest slice) past the key cap; key_too_long: it would write a key
 * longer than a snapshot can store (the message's doing, not the plugin's: it never counts
 * towards a quarantine); quarantined: the plugin failed too often in a row; hung: the plugin held
 * this message past --plugin-hang-timeout in an earlier run, which was ended for it (apply-beacon.ts),
 * or two earlier runs died while it applied it (snapshots/applying-mark.ts).
 */
export type DropReason = 'update_error' | 'expired' | 'key_cap' | 'key_too_long' | 'quarantined' | 'hung';

export { DEFAULT_MAX_KEYS } from './key-budget.js';
/** Consecutive update errors that quarantine a plugin. High: a burst of malformed messages must not silence a plugin. */
export const DEFAULT_QUARANTINE_AFTER = 50;
/** How long, in message time, a quarantined plugin drops messages before it tries again. */
export const DEFAULT_QUARANTINE_SECONDS = 600;
/** viewIsRows answers kept per plugin (parameter sets); a fuller table starts over. */
export const MAX_ROWS_DECLARED = 256;

export interface RuntimeOptions {
  /**
   * Most keys in `rows` (the oldest rows make room), in a windowed counter (its oldest slices make
   * room; only its newest slice past the cap drops the message) and in each other store (a message
   * that would exceed it is dropped).
   */
  readonly maxKeys?: number;
  /**
   * How far ahead of the clock a message may be dated (the intake's --max-clock-skew), so how far
   * past "now" rows may be stamped: the default view reaches that far, or one message dated a
   * minute ahead hid every row of a plugin stamped with its newest message time until then.
   */
  readonly aheadSeconds?: number;
  readonly quarantineAfter?: number;
  readonly quarantineSeconds?: number;
  /** Told of every lifecycle transition (the service logs them). */
  readonly onLifecycle?: (ident: string, from: LifecycleState, to: LifecycleState) => void;
  /**
   * Whether containers check and freeze the values written (actors/storable-value.ts). Default
   * true; the service turns it off when only the built-in plugins run (src/plugin-host-builder.ts).
   */
  readonly checkValues?: boolean;
}

/** What the runtime counts for every plugin, so authors never write that code. */
export interface PluginCounters {
  received: number;
  applied: number;
  dropped: Record<DropReason, number>;
  evicted: number;
  /** Oldest rows, and entries of a windowed counter's oldest slices, removed to keep within the key cap. */
  capEvicted: number;
  /** Entries of expiring stores and windowed counters deleted as message time moved past them. */
  expired: number;
  /** Timestamp of the newest message applied, seconds. */
  lastMessageAt: number | null;
}

/** Everything the edges may know about a plugin's state, read in one call. */
export interface PluginStats {
  readonly counters: Readonly<PluginCounters> & { readonly dropped: Readonly<Record<DropReason, number>> };
  readonly rows: number;
  /** Entries of every container together (rows and extra stores). */
  readonly keys: number;
  readonly newestRow: number | undefined;
  readonly maxKeys: number;
  /** What each container is held to now: maxKeys, or less while the key budget is full. */
  readonly keyCap: number;
  readonly lifecycle: LifecycleState;
  /** Change-log position: moves on every write. */
  readonly position: number;
  /**
   * Order-independent fingerprint of every container's entries: equal on replicas fed the same
   * messages. A getter: bringing it up to date hashes the keys written since the last read, which
   * a `/metrics` scrape, reading everything else here for every plugin, should not pay in one turn.
   */
  readonly digest: string;
}

/** One container's entries as a restore read them: keys and values side by side (no Map to fill and then copy). */
export interface LoadedEntries {
  readonly keys: readonly string[];
  readonly values: readonly unknown[];
}

/** A plugin's stored state as load() takes it. */
export interface LoadedState {
  readonly rows: LoadedEntries;
  readonly stores: Readonly<Record<string, LoadedEntries>>;
}

/** The containers, private to actors/: edges go through the methods below. */
interface PluginState {
  readonly rows: RowStore<Row>;
  readonly stores: Readonly<Record<string, KeyedStore<unknown>>>;
  readonly counters: PluginCounters;
}

export type PluginErrorHandler = (ident: string, error: unknown, message: PluginMessage) => void;

/** The one place the plugin's generics are erased: the runtime calls its functions on erased containers. */
type ErasedUpdate = (m: PluginMessage, c: UpdateContext<Row, never>) => void;
type ErasedView = (c: ViewContext<Row, never>, params: Readonly<Record<string, unknown>>) => Iterable<Row>;
type ErasedViewIsRows = (params: Readonly<Record<string, unknown>>) => boolean;

/**
 * The only owner of one plugin's state: applies messages (rolling back a failing update,
 * counting, enforcing retention and caps), answers view queries, hands out change-log
 * readers, dumps and loads snapshots, and reports stats. Its lifecycle is an XState machine
 * (lifecycle.ts); messages do not go through the actor, so applying one allocates nothing.
 */
const isThenable = (v: unknown): v is PromiseLike<unknown> =>
  (typeof v === 'object' || typeof v === 'function') &&
  v !== null &&
  typeof (v as { then?: unknown }).then === 'function';

/**
 * An update that returned a promise (a plain function wrapping async work; async functions are
 * refused at registration): its writes after the first await would land outside the message's
 * undo scope, and its rejection would end the process. The message is refused as an update
 * error and the promise's outcome is swallowed.
 */
function throwPromise(result: PromiseLike<unknown>): never {
  result.then(undefined, () => undefined);
  throw new TypeError('update returned a promise: plugin updates must be synchronous; message skipped for this plugin');
}

export class PluginRuntime {
  readonly ident: string;
  readonly maxKeys: number;
  /**
   * What each container is held to now: maxKeys, or less while the service-wide key budget is
   * full (limitKeys(), key-budget.ts).
   */
  private cap: number;
  /** Each extra store's size when the current message began: a store over the cap may not grow. */
  private readonly sizesBefore: number[];
  /** See RuntimeOptions.aheadSeconds. */
  readonly aheadSeconds: number;
  private readonly state: PluginState;
  private readonly log: ChangeLog;
  private readonly lifecycle: Lifecycle;
  /** The extra stores as an array: no allocation per message. */
  private readonly storeList: readonly KeyedStore<unknown>[];
  /** Every container's running digest, rows first. */
  private readonly digests: readonly StateDigest[];
  private readonly updateContext: {
    rows: RowStore<Row>;
    stores: Record<string, unknown>;
    bucket: number;
    interval: number | null;
  };
  /** Containers that expire with message time, and what plugins hold of every store. */
  private readonly timed: readonly TimedContainer[];
  /** The windowed counters, which make room at the key cap by forgetting their oldest slices. */
  private readonly windowed: readonly WindowedCounter[];
  /**
   * Message time the timed containers have expired to: the newest message time that reached its
   * update, applied or not (a dropped message's expiry stays done). At least `lastMessageAt`.
   */
  private clock = Number.NEGATIVE_INFINITY;
  private readonly facing: Readonly<Record<string, unknown>>;
  private readonly update: ErasedUpdate;
  private readonly view: ErasedView | undefined;
  private readonly viewIsRows: ErasedViewIsRows | undefined;
  /** The custom view's rows per parameters, for the current state only (view-cache.ts). */
  private readonly views = new ViewCache({ begin: (key) => this.beginView(key), end: () => this.endView() });
  /** Shared with the hang watch, and this plugin's index in it (watchViews()); null: not watched. */
  private viewBeacon: ApplyBeacon | null = null;
  private viewIndex = -1;
  /** viewIsRows' answers by parameters (paramsKey), when watched: see customView(). */
  private readonly rowsDeclared = new Map<string, boolean>();
  /** Parameters (viewParamsText) the view hung on, or a run died in, in earlier runs; null when none. */
  private hungViews: ReadonlyMap<string, HungView> | null = null;
  /** Set when the view hung on HUNG_PARAMS_BEFORE_WHOLE parameter sets: the latest hang's time; every call is refused. */
  private wholeViewHungAt: string | null = null;
  /** Calls of the view refused for parameters it hung on in an earlier run. */
  private refused = 0;
  private readonly quarantineAfter: number;
  private readonly quarantineSeconds: number;
  private failures = 0;
  /** See UpdateHealth.quarantinedUntil. */
  private quarantinedUntil: number | null = null;

  constructor(
    readonly plugin: RegisteredPlugin,
    private readonly onError: PluginErrorHandler,
    options: RuntimeOptions = {},
  ) {
    this.ident = plugin.ident;
    this.maxKeys = options.maxKeys ?? DEFAULT_MAX_KEYS;
    this.cap = this.maxKeys;
    this.aheadSeconds = options.aheadSeconds ?? 0;
    this.quarantineAfter = options.quarantineAfter ?? DEFAULT_QUARANTINE_AFTER;
    this.quarantineSeconds = options.quarantineSeconds ?? DEFAULT_QUARANTINE_SECONDS;
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
    this.sizesBefore = this.storeList.map(() => 0);
    this.timed = this.storeList.filter(isTimed);
    this.windowed = this.storeList.filter((s): s is WindowedCounter => s instanceof WindowedCounter);
    this.digests = [this.state.rows.digest, ...this.storeList.map((s) => s.digest)];
    this.facing = Object.freeze(Object.fromEntries(Object.entries(stores).map(([name, c]) => [name, pluginFacing(c)])));
    // Twice the state's size: a reader further behind than that rereads the whole state instead.
    this.log = new ChangeLog(() => 2 * this.storeList.reduce((n, s) => n + s.size, this.state.rows.size));
    this.state.rows.attach(this.log, ROWS);
    this.storeList.forEach((s, i) => s.attach(this.log, i + 1));
    this.update = plugin.definition.update as ErasedUpdate;
    this.view = plugin.definition.view as ErasedView | undefined;
    this.viewIsRows = plugin.definition.viewIsRows as ErasedViewIsRows | undefined;
    // One context object reused for every message: only `bucket` changes.
    this.updateContext = {
      rows: this.state.rows,
      stores: this.facing as Record<string, unknown>,
      bucket: 0,
      interval: plugin.intervalSeconds,
    };
    this.lifecycle = new Lifecycle((from, to) => options.onLifecycle?.(this.ident, from, to));
  }

  // ── apply ──────────────────────────────────────────────────────────────────────

  /** Applies one message (kept under its old name: the host and tests call it). */
  send(message: PluginMessage): void {
    this.applyMessage(this.state, message);
  }

  /**
   * Applies the first `count` of `messages` in order (the host reuses its arrays: plugin-host.ts).
   * With a beacon, each message's journal seq (`seqs`, parallel to `messages`) is put in it first,
   * so a watch thread can tell which message this plugin is stuck on (apply-beacon.ts).
   */
  apply(
    messages: readonly PluginMessage[],
    count = messages.length,
    seqs?: readonly number[],
    beacon?: Float64Array,
  ): void {
    if (beacon === undefined || seqs === undefined) {
      for (let i = 0; i < count; i++) this.applyMessage(this.state, messages[i] as PluginMessage);
      return;
    }
    for (let i = 0; i < count; i++) {
      beacon[BEACON.seq] = seqs[i] as number;
      this.applyMessage(this.state, messages[i] as PluginMessage);
    }
  }

  /** A message this plugin hung on in an earlier run, skipped: received, and dropped as `hung`. */
  skipHung(): void {
    this.state.counters.received++;
    this.state.counters.dropped.hung++;
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

  // ── read side ──────────────────────────────────────────────────────────────────

  /**
   * One page of the view. From the row store when the plugin has no custom view or declares
   * that its view is the stored rows for these parameters (`viewIsRows`); otherwise from the
   * custom view, called at most once per state and parameters (ViewCache) and shared by every
   * query, live view and count that asks for it.
   */
  query(q: ViewQuery): ViewPage {
    // tiesByValue() without asking viewIsRows a second time.
    if (!this.customView(q.params)) return queryRows(this.state.rows, q, this.view !== undefined);
    return querySorted(this.customRows(q.params), q);
  }

  /**
   * Whether rows of one timestamp come in ascending order of their key values whatever the
   * order (a view the plugin declared to be its rows: the order its `view()` gives them), rather
   * than in key order following the order (RowStore.scan). Custom views keep their own order.
   */
  tiesByValue(params: Readonly<Record<string, unknown>>): boolean {
    return this.view !== undefined && !this.customView(params);
  }

  /**
   * Whether queries with these parameters are answered by the plugin's own `view()` (false:
   * from the row store, so they cost O(page) and live views follow the change log).
   */
  customView(params: Readonly<Record<string, unknown>>): boolean {
    const isRows = this.viewIsRows;
    if (this.view === undefined) return false;
    if (isRows === undefined) return true;
    if (this.viewBeacon === null && this.hungViews === null) return isRows(params) !== true;
    // Plugin code run with the clients' parameters, as view() is: one that never returns holds the
    // event loop the same way, so it is watched, recorded and refused the same way (ViewHungBefore).
    // Its answer depends on the parameters alone (plugins are deterministic): kept, it is asked once.
    const key = paramsKey(params);
    const known = this.rowsDeclared.get(key);
    if (known !== undefined) return !known;
    this.beginView(key);
    let rows: boolean;
    try {
      rows = isRows(params) === true;
    } finally {
      this.endView();
    }
    if (this.rowsDeclared.size >= MAX_ROWS_DECLARED) this.rowsDeclared.clear();
    this.rowsDeclared.set(key, rows);
    return !rows;
  }

  /** Rows the view serves with default parameters: the row count, or the custom view's output. */
  defaultRowCount(): number {
    try {
      if (!this.customView({})) return this.state.rows.size;
      return this.customRows({}).size;
    } catch {
      // A view that needs parameters to answer: the stored rows are the honest count.
      return this.state.rows.size;
    }
  }

  /** Custom views computed (calls of the plugin's `view()`) and answers that shared one already computed. */
  get viewStats(): { readonly computed: number; readonly shared: number } {
    return this.views.stats;
  }

  /** Calls of the view refused for parameters it hung on in an earlier run (refuseHungViews()). */
  get viewsRefused(): number {
    return this.refused;
  }

  /**
   * From now on, every call of the custom view is marked in `beacon` as plugin `index`'s, with its
   * parameters (apply-beacon.ts), for the watch thread to catch one that never returns.
   */
  watchViews(beacon: ApplyBeacon, index: number): void {
    this.viewBeacon = beacon;
    this.viewIndex = index;
  }

  /**
   * Parameters (viewParamsText) the view hung on in earlier runs, with when: calls with them
   * throw ViewHungBefore instead of calling it.
   */
  refuseHungViews(hung: ReadonlyMap<string, HungView>): void {
    // An answer kept would pass parameters now refused.
    this.rowsDeclared.clear();
    this.hungViews = hung.size > 0 ? hung : null;
    this.wholeViewHungAt =
      hung.size >= HUNG_PARAMS_BEFORE_WHOLE
        ? ([...hung.values()]
            .map((h) => h.at)
            .sort()
            .at(-1) ?? null)
        : null;
  }

  private beginView(key: string): void {
    if (this.viewBeacon === null && this.hungViews === null) return;
    const text = viewParamsText(key);
    const hung = this.hungViews?.get(text);
    if (hung !== undefined || this.wholeViewHungAt !== null) {
      this.refused++;
      throw hung !== undefined && this.wholeViewHungAt === null
        ? new ViewHungBefore(this.ident, text, hung.at, false, hung.crashed)
        : new ViewHungBefore(this.ident, text, this.wholeViewHungAt ?? hung?.at ?? '', true);
    }
    this.viewBeacon?.beginView(this.viewIndex, text);
  }

  private endView(): void {
    this.viewBeacon?.endView();
  }

  private customRows(params: Readonly<Record<string, unknown>>) {
    return this.views.get(this.log.position, this.state.counters.lastMessageAt, params, () =>
      (this.view as ErasedView)(this.viewContext(), params),
    );
  }

  /** The storage key of a row (derived from the plugin's key columns). */
  rowKeyOf(row: Row): string {
    return this.state.rows.keyOf(row as unknown as Record<string, unknown>);
  }

  get position(): number {
    return this.log.position;
  }

  /** Messages received so far (counters.received), without copying the counters as stats() does. */
  get received(): number {
    return this.state.counters.received;
  }

  /** Restore and replay ahead: writes go unhashed until settleDigest() (state-digest.ts, defer()). */
  deferDigest(): void {
    this.state.rows.deferDigest();
    for (const s of this.storeList) s.deferDigest();
  }

  /** Whether some container's digest still waits for its settle (state-digest.ts, defer()). */
  get digestDeferred(): boolean {
    return this.digests.some((d) => d.deferred);
  }

  /** Hashes up to `budget` entries of a deferred digest; true once it is up to date. */
  settleDigest(budget: number): boolean {
    for (const d of this.digests) if (!d.settleSome(budget)) return false;
    return true;
  }

  /** The state digest (see state-digest.ts): O(containers), no walk of the state once settled. */
  get digest(): string {
    return formatDigest(this.digests);
  }

  get newestRow(): number | undefined {
    return this.state.rows.newestTimestamp;
  }

  stats(): PluginStats {
    const c = this.state.counters;
    const runtime = this;
    return {
      counters: { ...c, dropped: { ...c.dropped } },
      rows: this.state.rows.size,
      keys: this.keyCount,
      newestRow: this.state.rows.newestTimestamp,
      maxKeys: this.maxKeys,
      keyCap: this.cap,
      lifecycle: this.lifecycle.current,
      position: this.log.position,
      get digest() {
        return runtime.digest;
      },
    };
  }

  /** Read-only containers and counters, for tests and tools that assert on them. */
  inspect(): {
    readonly rows: RowStore<Row> & ReadonlyKeyedStore<Row>;
    readonly stores: Readonly<Record<string, ReadonlyKeyedStore<unknown>>>;
    readonly counters: Readonly<PluginCounters>;
  } {
    return this.state;
  }

  // ── key budget ─────────────────────────────────────────────────────────────────

  /** Keys held in every container together. */
  get keyCount(): number {
    let n = this.state.rows.size;
    for (let i = 0; i < this.storeList.length; i++) n += (this.storeList[i] as KeyedStore<unknown>).size;
    return n;
  }

  /** Appends each container's size (rows first) to `into`. */
  containerSizes(into: number[]): void {
    into.push(this.state.rows.size);
    for (let i = 0; i < this.storeList.length; i++) into.push((this.storeList[i] as KeyedStore<unknown>).size);
  }

  /** The largest container's size: at the cap, this plugin is giving way to the key budget. */
  get largestContainer(): number {
    let n = this.state.rows.size;
    for (let i = 0; i < this.storeList.length; i++) n = Math.max(n, (this.storeList[i] as KeyedStore<unknown>).size);
    return n;
  }

  /**
   * Holds every container to `cap` (at most maxKeys; Infinity lifts it) from now on, and cuts
   * rows and windowed counters down to it at once, committed outside any message as expiry is;
   * other stores stop growing. Returns the entries evicted.
   */
  limitKeys(cap: number): number {
    this.cap = Math.min(this.maxKeys, cap);
    return this.evictToCap();
  }

  get keyCap(): number {
    return this.cap;
  }

  // ── change log ─────────────────────────────────────────────────────────────────

  /** A reader of the change log from now on; close it when done, or the log keeps entries for it. */
  openReader(): ChangeCursor {
    return this.log.open();
  }

  /** Marks a reader as having consumed the changes up to `position` (a snapshot slot after its commit). */
  advanceReader(cursor: ChangeCursor, position: number): void {
    this.log.advance(cursor, position);
  }

  closeReader(cursor: ChangeCursor): void {
    this.log.close(cursor);
  }

  /**
   * Calls `visit(key, row)` for each row changed since the cursor (row undefined: deleted; a
   * key may come more than once) and moves the cursor to now. False when the cursor fell off
   * the log: the reader must reread the whole view.
   */
  rowChangesSince(cursor: ChangeCursor, visit: (key: string, row: Row | undefined) => void): boolean {
    const to = this.log.position;
    const rows = this.state.rows;
    const ok = this.log.forEach(cursor.position, to, (container, key) => {
      if (container === ROWS) visit(key, rows.get(key));
    });
    this.log.advance(cursor, to);
    return ok;
  }

  /**
   * Every container key changed since the cursor, as (`'rows'` or the store's name, key), and
   * moves the cursor to now; false when the cursor fell off the log. For readers of whole
   * plugin state (tools, tests); live views use rowChangesSince.
   */
  changesSince(cursor: ChangeCursor, visit: (container: string, key: string) => void): boolean {
    const to = this.log.position;
    const names = ['rows', ...Object.keys(this.state.stores)];
    const ok = this.log.forEach(cursor.position, to, (container, key) =>
      visit(names[container] ?? String(container), key),
    );
    this.log.advance(cursor, to);
    return ok;
  }

  // ── snapshots ──────────────────────────────────────────────────────────────────

  /** A point-in-time view of the state for a snapshot, valid over several event-loop turns until closed. */
  cut(): SnapshotCut {
    const last = this.state.counters.lastMessageAt;
    const ahead = Number.isFinite(this.clock) && (last === null || this.clock > last) ? this.clock : null;
    return new SnapshotCut(this.ident, this.log, this.state.rows, this.state.stores, last, ahead, this.health);
  }

  /** Update errors in a row and any quarantine: restored with the state, so a restart resumes them. */
  get health(): UpdateHealth {
    return { failures: this.failures, quarantinedUntil: this.quarantinedUntil };
  }

  /**
   * Replaces the state with a stored one (restore): readers start over. `expiredTo`: the message
   * time expiry had reached when it was ahead of `lastMessageAt` (see SnapshotCut). `health`:
   * the update errors in a row and quarantine when it was written (a record from before they
   * were kept has none: healthy).
   */
  load(
    stored: LoadedState,
    lastMessageAt: number | null,
    expiredTo: number | null = null,
    health: UpdateHealth | null = null,
  ): void {
    this.state.rows.loadAll(stored.rows.keys, stored.rows.values as readonly Row[]);
    for (const [name, entries] of Object.entries(stored.stores)) {
      // A store the plugin no longer declares: a migration should have dropped it.
      this.state.stores[name]?.loadAll(entries.keys, entries.values);
    }
    this.state.counters.lastMessageAt = lastMessageAt;
    this.clock = Math.max(expiredTo ?? Number.NEGATIVE_INFINITY, lastMessageAt ?? Number.NEGATIVE_INFINITY);
    this.failures = health?.failures ?? 0;
    this.quarantinedUntil = health?.quarantinedUntil ?? null;
    this.lifecycle.send(this.quarantinedUntil === null ? 'release' : 'quarantine');
    this.log.reset();
  }

  /** Deletes rows dated after `cutoff` (recorded in the log, so snapshots drop them too). */
  dropRowsAfter(cutoff: number): number {
    return this.state.rows.evictAfter(cutoff);
  }

  /**
   * Evicts rows older than the retention behind the newest row, as each applied message does
   * (recorded in the log, so snapshots drop them too): restored under a retention lowered since
   * they were written, they were served, and counted in the digest, until the plugin's next
   * message, where a replica fed the same messages with that retention never had them.
   */
  enforceRetention(): number {
    const retention = this.plugin.retentionSeconds;
    const top = this.state.rows.newestTimestamp;
    if (retention === null || top === undefined) return 0;
    const evicted = this.state.rows.evictBefore(top - retention);
    this.state.counters.evicted += evicted;
    return evicted;
  }

  /**
   * Cuts rows and windowed counters down to the key cap, as each applied message does: restored
   * under a --plugin-max-keys lowered since they were written, they were held whole until the
   * plugin's next message. Other stores cannot give way; they stop growing (storeOverCap).
   */
  enforceKeyCap(): number {
    return this.evictToCap();
  }

  // ── the per-message path ───────────────────────────────────────────────────────

  private viewContext(): ViewContext<Row, never> {
    return {
      rows: this.state.rows,
      stores: this.facing as never,
      interval: this.plugin.intervalSeconds,
      newest: this.newest(),
    };
  }

  /** Where the windows end: the newest message applied, or a newer dropped one that moved expiry. */
  private newest(): number | null {
    const last = this.state.counters.lastMessageAt;
    return Number.isFinite(this.clock) && (last === null || this.clock > last) ? this.clock : last;
  }

  private applyMessage(state: PluginState, message: PluginMessage): void {
    const { plugin } = this;
    const counters = state.counters;
    counters.received++;
    if (this.lifecycle.current === 'quarantined' && !this.release(message)) {
      counters.dropped.quarantined++;
      return;
    }
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
    // Expiry first, committed on its own (outside the undo scope): a message dropped below takes
    // back only its own writes. Undone with it, the expiry ran again on every later message, and
    // a counter at the key cap kept the entries that should have made room (O(state) per message).
    if (this.timed.length > 0) counters.expired += this.advanceTimed(message.timestamp);
    state.rows.beginMessage();
    for (let i = 0; i < this.storeList.length; i++) {
      const s = this.storeList[i] as KeyedStore<unknown>;
      this.sizesBefore[i] = s.size;
      s.beginMessage();
    }
    try {
      const result: unknown = this.update(message, ctx as never);
      if (isThenable(result)) throwPromise(result);
    } catch (err) {
      state.rows.rollback();
      for (const s of this.storeList) s.rollback();
      // A key from the message too long to store: that message is refused, and a run of them
      // (one publisher's odd names) must not quarantine the plugin for everyone else's.
      if (err instanceof KeyTooLongError) {
        counters.dropped.key_too_long++;
        return;
      }
      counters.dropped.update_error++;
      // Counted before the report: a handler that throws (an error value that cannot be
      // printed) must neither skip the quarantine count nor lose the rest of the batch.
      const quarantine = ++this.failures >= this.quarantineAfter;
      try {
        this.onError(this.ident, err, message);
      } catch {
        /* the report is best effort; the message is already counted as dropped */
      }
      if (quarantine) this.quarantine(message);
      return;
    }
    this.failures = 0;
    if (this.storeOverCap()) {
      state.rows.rollback();
      for (const s of this.storeList) s.rollback();
      counters.dropped.key_cap++;
      return;
    }
    state.rows.endMessage();
    for (const s of this.storeList) s.endMessage();
    counters.applied++;
    if (counters.lastMessageAt === null || message.timestamp > counters.lastMessageAt)
      counters.lastMessageAt = message.timestamp;
    if (retention !== null) {
      const top = state.rows.newestTimestamp;
      const oldest = state.rows.oldestTimestamp;
      if (top !== undefined && oldest !== undefined && oldest < top - retention) {
        counters.evicted += state.rows.evictBefore(top - retention);
      }
    }
    this.evictToCap();
  }

  /**
   * Rows past the cap lose their oldest; a windowed counter past it forgets its oldest slices
   * (storeOverCap() let it through only if that suffices): the cost is the entries forgotten,
   * each once, as with expiry.
   */
  private evictToCap(): number {
    const { rows, counters } = this.state;
    let evicted = 0;
    if (rows.size > this.cap) evicted += rows.evictOldest(rows.size - this.cap);
    for (let i = 0; i < this.windowed.length; i++) {
      const c = this.windowed[i] as WindowedCounter;
      if (c.size > this.cap) evicted += c.evictOldestSlices(this.cap);
    }
    counters.capEvicted += evicted;
    return evicted;
  }

  /**
   * Expiry runs before the message's update and outside its undo scope: the deletes stay done
   * (recorded in the change log, so snapshots and live views see them) even when the message is
   * then dropped, and a late message still sees the window as of the newest message time.
   */
  private advanceTimed(messageTime: number): number {
    const now = Math.max(this.clock, messageTime);
    this.clock = now;
    let expired = 0;
    for (let i = 0; i < this.timed.length; i++) expired += (this.timed[i] as TimedContainer).advance(now, messageTime);
    return expired;
  }

  private quarantine(message: PluginMessage): void {
    this.quarantinedUntil = message.timestamp + this.quarantineSeconds;
    this.lifecycle.send('quarantine');
  }

  /** Ends a quarantine once the cool-down has passed in message time, on probation: a failure before the next success re-quarantines (half-open). */
  private release(message: PluginMessage): boolean {
    if (message.timestamp < (this.quarantinedUntil ?? Number.NEGATIVE_INFINITY)) return false;
    this.quarantinedUntil = null;
    this.failures = this.quarantineAfter - 1;
    this.lifecycle.send('release');
    return true;
  }

  /**
   * Whether the message must be dropped for the key cap: it grew a store past it, other than a
   * windowed counter whose older slices can make room (one whose newest slice alone exceeds the
   * cap cannot). A store already past a lowered cap (limitKeys()) still takes messages that add
   * no key, or a full key budget would freeze every count it holds.
   */
  private storeOverCap(): boolean {
    for (let i = 0; i < this.storeList.length; i++) {
      const s = this.storeList[i] as KeyedStore<unknown>;
      if (s.size <= this.cap || s.size <= (this.sizesBefore[i] as number)) continue;
      if (!(s instanceof WindowedCounter) || s.newestSliceSize > this.cap) return true;
    }
    return false;
  }
}
