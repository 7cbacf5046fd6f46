/**
 * The plugin author's whole world. A plugin is a plain definition object whose functions
 * are deterministic (no I/O, no clock, no randomness: time comes from the message); the
 * runtime owns the state containers, the actor, snapshots, metrics and serving.
 */
import type { Envelope, Meta } from '../src/envelope.js';
import type { WritableKeyedStore } from './expiring-store.js';
import type { ReadonlyKeyedStore } from './keyed-store.js';
import type { ReadonlyWindowedCounter, WindowedCounterWriter } from './windowed-counter.js';
import type { Row, RowStore } from './row-store.js';

export type { Row } from './row-store.js';
export type { Envelope, Meta } from '../src/envelope.js';

/** One bus message as a plugin sees it. */
export interface PluginMessage {
  readonly topic: string;
  /** Seconds since the epoch, from the message itself (never the arrival time). */
  readonly timestamp: number;
  /** The 4th topic token. */
  readonly category: string;
  /**
   * The envelope's `msg_id` when usable as an id (1-200 units, no control characters: what
   * de-duplication and `/id` use), else null. The raw value, if any, is in `envelope`.
   */
  readonly msgId: string | null;
  /** The application payload (`envelope.msg`): untrusted, shape depends on the topic. */
  readonly body: unknown;
  readonly envelope: Envelope;
  /** Usernames, packages, agent, link…: computed at most once per message, on first use. */
  readonly meta: Meta;
}

/** Marker for an extra keyed container: `stores: { totals: store<number>() }`. */
export interface StoreSpec<V> {
  readonly kind: 'store';
  /** See StoreOptions. */
  readonly expireAfter?: string | number;
  /** Phantom: carries the value type only. */
  readonly value?: V;
}

export interface StoreOptions {
  /**
   * Entries expire this long (`24h`, or seconds; at most `3650d`) of message time after their
   * last write: once a newer message moves time past them, the runtime deletes them, oldest
   * first, recorded like any write. Default: entries stay until deleted.
   */
  readonly expireAfter?: string | number;
}

export function store<V>(options: StoreOptions = {}): StoreSpec<V> {
  return options.expireAfter === undefined ? { kind: 'store' } : { kind: 'store', expireAfter: options.expireAfter };
}

/** Marker for a count per name over a sliding window of message time (see windowedCounter()). */
export interface WindowedCounterSpec {
  readonly kind: 'windowedCounter';
  readonly span: string | number;
  readonly slices: number;
}

/**
 * Counts per name over the last `span` of message time (`1h`, `24h`, or seconds), moving in
 * `slices` steps (1–10 000; `span` must split into whole seconds): `windowedCounter('1h', { slices: 60 })`
 * is the last 60 minutes, by the minute. `add(name, message.timestamp)` costs O(1); totals are
 * kept incrementally and old slices are subtracted as message time moves on.
 */
export function windowedCounter(span: string | number, options: { readonly slices: number }): WindowedCounterSpec {
  return { kind: 'windowedCounter', span, slices: options.slices };
}

/**
 * Marker that names the row type so TypeScript can infer it alongside `stores` and `params`:
 * `rows: rowsOf<MyRow>()`. (Writing `definePlugin<MyRow>(…)` also works for plugins without them.)
 */
export interface RowSpec<R extends Row> {
  readonly kind: 'rows';
  /** Phantom: carries the row type only. */
  readonly row?: R;
}

export function rowsOf<R extends Row>(): RowSpec<R> {
  return { kind: 'rows' };
}

export type StoreSpecs = Readonly<Record<string, StoreSpec<unknown> | WindowedCounterSpec>>;

export type Stores<S extends StoreSpecs> = {
  readonly [K in keyof S]: S[K] extends WindowedCounterSpec
    ? WindowedCounterWriter
    : S[K] extends StoreSpec<infer V>
      ? WritableKeyedStore<V>
      : never;
};
export type ReadonlyStores<S extends StoreSpecs> = {
  readonly [K in keyof S]: S[K] extends WindowedCounterSpec
    ? ReadonlyWindowedCounter
    : S[K] extends StoreSpec<infer V>
      ? ReadonlyKeyedStore<V>
      : never;
};
export type { ReadonlyWindowedCounter, WindowedCounterWriter } from './windowed-counter.js';
export type { WritableKeyedStore } from './expiring-store.js';

/** A query parameter of the plugin's view, validated by the runtime for HTTP and WebSocket alike. */
export type ParamSpec =
  | {
      readonly type: 'string';
      readonly description: string;
      readonly enum?: readonly string[];
      readonly maxLength?: number;
    }
  | { readonly type: 'number' | 'integer'; readonly description: string; readonly min?: number; readonly max?: number }
  | { readonly type: 'boolean'; readonly description: string };

export type ParamSpecs = Readonly<Record<string, ParamSpec>>;

type ParamValue<P extends ParamSpec> = P['type'] extends 'string'
  ? string
  : P['type'] extends 'boolean'
    ? boolean
    : number;
/** Validated values of the parameters the client gave (absent ones are left out). */
export type ParamValues<P extends ParamSpecs> = { readonly [K in keyof P]?: ParamValue<P[K]> };

export interface UpdateContext<R extends Row, S extends StoreSpecs> {
  /** The rows the plugin serves, keyed by a row key the plugin chooses. */
  readonly rows: RowStore<R>;
  readonly stores: Stores<S>;
  /** End of the message's time bucket; the message timestamp for plugins without an interval. */
  readonly bucket: number;
  /** The interval in seconds, or null. */
  readonly interval: number | null;
}

export interface ViewContext<R extends Row, S extends StoreSpecs> {
  readonly rows: Pick<RowStore<R>, 'size' | 'get' | 'has' | 'scan' | 'count' | 'values' | 'newestTimestamp'>;
  readonly stores: ReadonlyStores<S>;
  readonly interval: number | null;
  /** Timestamp of the newest message applied (where sliding windows end), or null before the first. */
  readonly newest: number | null;
}

/** What a snapshot holds for one plugin, handed to `migrate` when its version is older than the code's. */
export interface StoredState {
  readonly rows: Map<string, unknown>;
  readonly stores: Readonly<Record<string, Map<string, unknown>>>;
}

export interface PluginDefinition<
  R extends Row = Row,
  S extends StoreSpecs = StoreSpecs,
  P extends ParamSpecs = ParamSpecs,
> {
  /** Display name; the ident is derived from it (statscache-api.md, "Identifiers"). */
  readonly name: string;
  /** One line for lists. */
  readonly summary: string;
  /** What the rows mean, for the documentation page and discovery. */
  readonly description: string;
  /** Bucket width, `1s`…`1d1h` or seconds. Adds `-<interval>` to the ident. */
  readonly interval?: string | number;
  /** Topic prefixes the plugin wants; omitted or `[""]` means every message. */
  readonly topics?: readonly string[];
  /** Version of the stored state's shape; bump it and add `migrate` when the shape changes. */
  readonly version?: number;
  /** The row type, for inference only (see rowsOf). */
  readonly rows?: RowSpec<R>;
  /** The row columns besides `timestamp`, in display order. */
  readonly columns: readonly string[];
  /** The columns (with `timestamp` where it matters) that identify a row. */
  readonly key: readonly string[];
  /** How far back rows are kept, relative to the newest row (`7d`, or seconds). Default: forever. */
  readonly retention?: string | number;
  readonly params?: P;
  readonly stores?: S;
  /** A layout object for dashboards, served at `/api/<ident>/layout`. */
  readonly layout?: unknown;
  /** Applies one message. May throw: the runtime rolls back this message's writes for this plugin only. */
  update(message: PluginMessage, ctx: UpdateContext<R, S>): void;
  /**
   * Rows for a query. Default: every row of `rows`. The runtime filters by time, orders and
   * pages, and calls it at most once per state of the plugin and set of parameters (paging
   * aside): it must read nothing but its context and parameters.
   */
  view?(ctx: ViewContext<R, S>, params: ParamValues<P>): Iterable<R>;
  /**
   * Parameters for which `view` gives exactly every stored row, the rows of one timestamp in
   * ascending (code-unit) order of the key column that is not `timestamp` (so only for a `key`
   * of one column, or of `timestamp` and one column). The runtime then answers those queries
   * from the row store, as for a plugin without `view`: a page costs O(page) and live views
   * follow the change log, instead of building and sorting every row on each query and tick.
   */
  viewIsRows?(params: ParamValues<P>): boolean;
  /**
   * Upgrades state stored by an older `version`. Rows returned are stored under the key their key
   * columns give (the map keys are only transport); every store returned must be declared now.
   */
  migrate?(stored: StoredState, fromVersion: number): StoredState;
}

/** Identity function that gives a plugin definition its types (and is the one import a plugin needs). */
export function definePlugin<
  R extends Row,
  S extends StoreSpecs = Record<never, never>,
  P extends ParamSpecs = Record<never, never>,
>(definition: PluginDefinition<R, S, P>): PluginDefinition<R, S, P> {
  return definition;
}

/** A definition with its type parameters erased, as the runtime holds it. */
// biome-ignore lint/suspicious/noExplicitAny: the one place a definition's generics are erased; the runtime casts back in plugin-runtime.ts
export type AnyPluginDefinition = PluginDefinition<any, any, any>;
