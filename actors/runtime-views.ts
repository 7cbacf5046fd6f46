import { notPromise } from './hook-result.js';
import type { ViewContext } from './plugin-api.js';
import type { RegisteredPlugin } from './registry.js';
import type { Row } from './row-store.js';
import type { RuntimeOptions } from './runtime-options.js';
import { RuntimeViewWatch } from './runtime-view-watch.js';
import { type HungView, paramsKey, ViewCache, ViewHungBefore } from './view-cache.js';
import { ViewFailing, type ViewFailingNow } from './view-failing.js';
import { queryRows, querySorted, type ViewPage, type ViewQuery } from './view-query.js';

/** viewIsRows answers kept per plugin (parameter sets); a fuller table starts over. */
export const MAX_ROWS_DECLARED = 256;

/** The plugin's view functions with its generics erased (the cast is in plugin-runtime.ts). */
export type ErasedView = (c: ViewContext<Row, never>, params: Readonly<Record<string, unknown>>) => Iterable<Row>;
export type ErasedViewIsRows = (params: Readonly<Record<string, unknown>>) => boolean;

/** The plugin's viewIsRows answer for `params`; a promise fails the query (hook-result.ts). */
function rowsDeclared(isRows: ErasedViewIsRows, params: Readonly<Record<string, unknown>>): boolean {
  return notPromise(isRows(params), 'viewIsRows returned a promise: it must answer true or false at once');
}

/**
 * The runtime's read side through the plugin's own `view()`: which queries it answers, its
 * answers cached per state and parameters (view-cache.ts), and the hang watch around every call
 * of plugin view code (runtime-view-watch.ts), refusing parameters it hung on in earlier runs.
 */
export class RuntimeViews extends RuntimeViewWatch {
  protected readonly view: ErasedView | undefined;
  private readonly viewIsRows: ErasedViewIsRows | undefined;
  /** The custom view's rows per parameters, for the current state only (view-cache.ts). */
  private readonly views = new ViewCache({ begin: (key) => this.beginView(key), end: () => this.endView() });
  /** viewIsRows' answers by parameters (paramsKey), or what it threw, when watched: see customView(). */
  private readonly rowsDeclared = new Map<string, boolean | { readonly error: unknown }>();
  /** Calls of viewIsRows that failed (threw, or gave a promise): failed views too (viewFailures). */
  private rowsFailures = 0;
  /** Parameter sets whose latest answer failed (view-failing.ts: the rule /readyz reports by). */
  private readonly failing = new ViewFailing();

  constructor(
    plugin: RegisteredPlugin,
    options: RuntimeOptions,
    view: ErasedView | undefined,
    viewIsRows: ErasedViewIsRows | undefined,
  ) {
    super(plugin, options);
    this.view = view;
    this.viewIsRows = viewIsRows;
  }

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
    if (this.view === undefined) return false;
    let custom: boolean;
    try {
      custom = this.isCustom(params);
    } catch (err) {
      this.answerFailed(params, err);
      throw err;
    }
    // The stored rows answer: these parameters' answer succeeds. A custom one is told by customRows().
    if (!custom && !this.failing.empty) this.failing.succeeded(paramsKey(params));
    return custom;
  }

  /** customView() without telling the failing-view watch: for the row count, not a client's answer. */
  private isCustom(params: Readonly<Record<string, unknown>>): boolean {
    const isRows = this.viewIsRows;
    if (this.view === undefined) return false;
    if (isRows === undefined) return true;
    if (this.viewBeacon === null && this.hungViews === null) return !this.askRows(isRows, params);
    // Plugin code run with the clients' parameters, as view() is: one that never returns holds the
    // event loop the same way, so it is watched, recorded and refused the same way (ViewHungBefore).
    // Its answer depends on the parameters alone (plugins are deterministic): kept, it is asked
    // once, and a failure is kept too, as ViewCache keeps the view's (counted once).
    const key = paramsKey(params);
    let answer = this.rowsDeclared.get(key);
    if (answer === undefined) {
      this.beginView(key);
      try {
        answer = this.askRows(isRows, params);
      } catch (error) {
        answer = { error };
      } finally {
        this.endView();
      }
      if (this.rowsDeclared.size >= MAX_ROWS_DECLARED) this.rowsDeclared.clear();
      this.rowsDeclared.set(key, answer);
    }
    if (typeof answer !== 'boolean') throw answer.error;
    return !answer;
  }

  /** viewIsRows' answer for `params`; what it throws fails the query as the view's would, and is counted so. */
  private askRows(isRows: ErasedViewIsRows, params: Readonly<Record<string, unknown>>): boolean {
    try {
      return rowsDeclared(isRows, params) === true;
    } catch (err) {
      this.rowsFailures++;
      throw err;
    }
  }

  /** Rows the view serves with default parameters: the row count, or the custom view's output. */
  defaultRowCount(): number {
    try {
      if (!this.isCustom({})) return this.state.rows.size;
      return this.customRows({}, false).size;
    } catch {
      // A view that needs parameters to answer: the stored rows are the honest count.
      return this.state.rows.size;
    }
  }

  /** Custom views computed (calls of the plugin's `view()`) and answers that shared one already computed. */
  get viewStats(): { readonly computed: number; readonly shared: number } {
    return this.views.stats;
  }

  /**
   * Calls of the custom view or its viewIsRows that failed (threw, gave too many rows, or a
   * promise): each failed a query, `500 view_failed` over HTTP or `view_failed` for a live view.
   * One per state and parameters (viewIsRows: per parameters), as the failure is remembered for
   * them; every failed viewIsRows call when views are not watched (nothing is remembered then).
   */
  get viewFailures(): number {
    return this.views.failures + this.rowsFailures;
  }

  /**
   * Parameters (viewParamsText) the view hung on in earlier runs, with when: calls with them
   * throw ViewHungBefore instead of calling it.
   */
  override refuseHungViews(hung: ReadonlyMap<string, HungView>): void {
    // An answer kept would pass parameters now refused.
    this.rowsDeclared.clear();
    super.refuseHungViews(hung);
  }

  /**
   * The plugin's view is failing now by view-failing.ts's rule: how many parameter sets, and the
   * latest one's error; null when none (or the plugin has no view).
   */
  get viewFailing(): ViewFailingNow | null {
    return this.failing.current(this.log.position, this.clock);
  }

  /** The custom view's rows for `params`; `told` false for the row count, which is not a client's answer. */
  private customRows(params: Readonly<Record<string, unknown>>, told = true) {
    let rows: ReturnType<ViewCache['get']>;
    try {
      rows = this.views.get(this.log.position, this.state.counters.lastMessageAt, params, () =>
        notPromise(
          (this.view as ErasedView)(this.viewContext(), params),
          "view returned a promise: a plugin's view must return its rows (an iterable) at once",
        ),
      );
    } catch (err) {
      if (told) this.answerFailed(params, err);
      throw err;
    }
    if (told && !this.failing.empty) this.failing.succeeded(paramsKey(params));
    return rows;
  }

  /** An answer failed in the view (or its viewIsRows): marked, unless refused for an earlier run's hang (view_hung). */
  private answerFailed(params: Readonly<Record<string, unknown>>, err: unknown): void {
    if (err instanceof ViewHungBefore) return;
    this.failing.failed(paramsKey(params), err, this.log.position, this.clock);
  }

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
}
