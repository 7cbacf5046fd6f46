import type { Row } from './row-store.js';

/**
 * Most rows a custom `view()` may give for one query. Built-in views give at most the plugin's
 * key cap; past this, a plugin bug (a generator that never ends, a cross product of its
 * containers) would hold the event loop and the heap without end, every time the state moves.
 */
export const MAX_VIEW_ROWS = 2_000_000;

/** A custom view gave more than MAX_VIEW_ROWS rows: that view fails (remembered for the state), nothing else does. */
export class ViewTooLarge extends Error {
  constructor(readonly limit: number) {
    super(`the plugin's view() gave more than ${limit} rows (the bound on a custom view); it was stopped there`);
    this.name = 'ViewTooLarge';
  }
}

/**
 * The plugin's view hung on these parameters in an earlier run (past --plugin-hang-timeout; the
 * process was ended for it): it is not called with them again (hung-views in snapshots/).
 */
export class ViewHungBefore extends Error {
  constructor(
    readonly ident: string,
    /** The parameters as the record keeps them (viewParamsText in apply-beacon.ts). */
    readonly params: string,
    /** When the earlier run was ended for it (the latest such run when `whole`), ISO-8601. */
    readonly at: string,
    /** Refused whatever the parameters: it hung on HUNG_PARAMS_BEFORE_WHOLE sets of them. */
    readonly whole = false,
    /** The earlier run died while the view computed (out of memory), rather than hanging. */
    readonly crashed = false,
  ) {
    super(
      whole
        ? `the view of plugin "${ident}" hung, or a run died in it, on ${HUNG_PARAMS_BEFORE_WHOLE} or more different parameter sets in earlier runs (the last at ${at}): it is not called at all, with these parameters (${shorten(params)}) or any others, until the plugin's view changes or the records expire`
        : crashed
          ? `the view of plugin "${ident}" was computing with these parameters (${shorten(params)}) when an earlier run died (out of memory, or killed; found at ${at}): it is not called with them again until the plugin's view changes or the record expires`
          : `the view of plugin "${ident}" hung on these parameters (${shorten(params)}) in an earlier run (ended at ${at} after --plugin-hang-timeout): it is not called with them again until the plugin's view changes or the record expires`,
    );
    this.name = 'ViewHungBefore';
  }
}

/** A (plugin, parameters) pair refused this run: when it was recorded, and whether a run died in it rather than hung. */
export interface HungView {
  readonly at: string;
  readonly crashed: boolean;
}

/**
 * Parameter sets one view may hang on before it is refused whatever the parameters: a client
 * who finds the values that make it loop (every odd `n`) could otherwise end the process once
 * per value, a --plugin-hang-timeout apart, for as long as it likes.
 */
export const HUNG_PARAMS_BEFORE_WHOLE = 3;

/** At most 200 UTF-16 units of `s`, for messages. */
export const shorten = (s: string): string => (s.length <= 200 ? s : `${s.slice(0, 199)}\u2026`);

/**
 * Told around every call of a custom `view()` (runtime-views.ts): begin() may throw to refuse
 * the call (parameters the view hung on before); end() follows every begin() that returned.
 */
export interface ViewWatch {
  begin(key: string): void;
  end(): void;
}

/** The view's rows in an array of its own, stopping at `limit` (an endless generator ends here). */
function collect(rows: Iterable<Row>, limit: number): Row[] {
  if (Array.isArray(rows)) {
    if (rows.length > limit) throw new ViewTooLarge(limit);
    return rows.slice();
  }
  const all: Row[] = [];
  for (const row of rows) {
    if (all.length === limit) throw new ViewTooLarge(limit);
    all.push(row);
  }
  return all;
}

/**
 * A plugin's custom `view()` output for one set of parameters, ordered as queries page it: by
 * timestamp (a stable sort, so rows of one timestamp keep the view's order), ascending, and
 * descending made from that without sorting again. A query then finds its time range by binary
 * search and takes its page: O(log rows + page) instead of filtering and sorting the view.
 */
export class SortedView {
  private readonly asc: readonly Row[];
  private descRows: readonly Row[] | null = null;
  /** The view's rows as it gave them, kept only when some timestamp is not a number (see range()). */
  private readonly given: readonly Row[] | null;

  constructor(rows: Iterable<Row>, limit = MAX_VIEW_ROWS) {
    const all = collect(rows, limit);
    if (all.every((r) => typeof r.timestamp === 'number' && !Number.isNaN(r.timestamp))) {
      this.given = null;
      this.asc = all.sort((a, b) => a.timestamp - b.timestamp);
    } else {
      this.given = all;
      this.asc = [];
    }
  }

  /** Rows of the view. */
  get size(): number {
    return (this.given ?? this.asc).length;
  }

  /** The rows in `order` and the index range of those stamped within [start, stop]. */
  range(
    order: 'asc' | 'desc',
    start: number | undefined,
    stop: number | undefined,
  ): { rows: readonly Row[]; from: number; to: number } {
    if (this.given !== null) {
      // Timestamps that do not order (NaN, not numbers): exactly what filtering then sorting gave, per query.
      const rows = this.given
        .filter((r) => (start === undefined || r.timestamp >= start) && (stop === undefined || r.timestamp <= stop))
        .sort(order === 'asc' ? (a, b) => a.timestamp - b.timestamp : (a, b) => b.timestamp - a.timestamp);
      return { rows, from: 0, to: rows.length };
    }
    if (order === 'asc') {
      const rows = this.asc;
      const from = start === undefined ? 0 : firstIndex(rows, (t) => t >= start);
      const to = stop === undefined ? rows.length : firstIndex(rows, (t) => t > stop);
      return { rows, from, to: Math.max(from, to) };
    }
    const rows = this.desc();
    const from = stop === undefined ? 0 : firstIndex(rows, (t) => t <= stop);
    const to = start === undefined ? rows.length : firstIndex(rows, (t) => t < start);
    return { rows, from, to: Math.max(from, to) };
  }

  /** Newest timestamp first, rows of one timestamp still in the view's order (what a stable descending sort gives). */
  private desc(): readonly Row[] {
    if (this.descRows !== null) return this.descRows;
    const asc = this.asc;
    const out: Row[] = [];
    let end = asc.length;
    while (end > 0) {
      const ts = (asc[end - 1] as Row).timestamp;
      let begin = end - 1;
      while (begin > 0 && (asc[begin - 1] as Row).timestamp === ts) begin--;
      for (let i = begin; i < end; i++) out.push(asc[i] as Row);
      end = begin;
    }
    this.descRows = out;
    return out;
  }
}

/** First index whose timestamp passes `test` (false for a prefix, true after it), or the length. */
function firstIndex(rows: readonly Row[], test: (ts: number) => boolean): number {
  let lo = 0;
  let hi = rows.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if (test((rows[mid] as Row).timestamp)) hi = mid;
    else lo = mid + 1;
  }
  return lo;
}

/** Parameter sets whose views are kept per state. */
export const MAX_CACHED_VIEWS = 64;
/** Rows kept over all of them (the newest view is kept whatever its size). */
export const MAX_CACHED_ROWS = 1_000_000;

type Entry = { readonly view: SortedView } | { readonly error: unknown };

/**
 * A plugin's custom views by parameters, for one state of the plugin: every HTTP query, live
 * view (WebSocket and SSE), `/plugins` count and dashboard paint with the same parameters
 * (paging aside) shares one call of `view()` per state, however many read it. The state is
 * the change-log position and the newest message time (the two things a view reads that can
 * change); when either moves, everything kept is dropped. A view that throws is remembered
 * too: it throws again for that state without being called. Bounded by MAX_CACHED_VIEWS
 * parameter sets and MAX_CACHED_ROWS rows, least recently used first out.
 */
export class ViewCache {
  private readonly entries = new Map<string, Entry>();
  private position = Number.NaN;
  private newest: number | null = null;
  private rows = 0;
  /** Calls of `view()` made and answers served from what was kept (tests and metrics read them). */
  readonly stats = { computed: 0, shared: 0 };
  /** Calls of `view()` that threw (counted once: answers sharing a remembered failure are not calls). */
  failures = 0;

  constructor(private readonly watch: ViewWatch | null = null) {}

  /** The view for `params` at this state: kept, or made by `compute` (and kept). */
  get(
    position: number,
    newest: number | null,
    params: Readonly<Record<string, unknown>>,
    compute: () => Iterable<Row>,
  ): SortedView {
    if (position !== this.position || newest !== this.newest) {
      this.entries.clear();
      this.rows = 0;
      this.position = position;
      this.newest = newest;
    }
    const key = paramsKey(params);
    let entry = this.entries.get(key);
    if (entry !== undefined) {
      this.stats.shared++;
      // Most recently used last.
      this.entries.delete(key);
      this.entries.set(key, entry);
    } else {
      // Refused here (it throws) is neither computed nor kept: asked again, it is refused again.
      this.watch?.begin(key);
      this.stats.computed++;
      try {
        // The rows are collected inside the watch too: a generator view runs as they are taken.
        entry = { view: new SortedView(compute()) };
      } catch (error) {
        this.failures++;
        entry = { error };
      } finally {
        this.watch?.end();
      }
      this.keep(key, entry);
    }
    if ('error' in entry) throw entry.error;
    return entry.view;
  }

  private keep(key: string, entry: Entry): void {
    const size = 'view' in entry ? entry.view.size : 0;
    for (const [k, e] of this.entries) {
      if (this.entries.size < MAX_CACHED_VIEWS && this.rows + size <= MAX_CACHED_ROWS) break;
      this.entries.delete(k);
      if ('view' in e) this.rows -= e.view.size;
    }
    this.entries.set(key, entry);
    this.rows += size;
  }
}

/** Validated parameter values in name order: equal sets give equal keys. */
export function paramsKey(params: Readonly<Record<string, unknown>>): string {
  const names = Object.keys(params).sort();
  return JSON.stringify(names.map((n) => [n, params[n]]));
}
