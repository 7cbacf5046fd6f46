import type { PluginRuntime } from './plugin-runtime.js';
import type { Row, RowStore } from './row-store.js';
import type { SortedView } from './view-cache.js';

export interface ViewQuery {
  readonly start?: number | undefined;
  readonly stop?: number | undefined;
  readonly order: 'asc' | 'desc';
  /** Cap on the rows considered before paging. */
  readonly limit?: number | undefined;
  /** 1-based. */
  readonly page: number;
  readonly rowsPerPage: number;
  /** The plugin's own parameters, already validated. */
  readonly params: Readonly<Record<string, unknown>>;
}

/**
 * The parameters a view receives: the parsed values copied onto an object without a prototype,
 * frozen. A plain object answered an unset `constructor` (a valid parameter name) with
 * Object.prototype's function, so a view reading `params.constructor` saw a value the client
 * never sent; and one view's result is shared by every subscriber of those parameters.
 */
export function viewParams(parsed: Readonly<Record<string, unknown>>): Readonly<Record<string, unknown>> {
  const out = Object.create(null) as Record<string, unknown>;
  for (const name of Object.keys(parsed)) out[name] = parsed[name];
  return Object.freeze(out);
}

export interface ViewPage {
  readonly rows: readonly Row[];
  /** Rows matching the query (after `limit`), over all pages. */
  readonly total: number;
  /** Number of pages; at least 1, so page 1 of nothing is an empty page, not an error. */
  readonly pages: number;
  readonly page: number;
}

export class PageOutOfRange extends Error {
  constructor(
    readonly page: number,
    readonly pages: number,
  ) {
    super(`page ${page} is past the last page (${pages})`);
  }
}

/** Rows of one page of a plugin's view (the runtime's query()). */
export function queryView(runtime: PluginRuntime, q: ViewQuery): ViewPage {
  return runtime.query(q);
}

/**
 * One page of rows from the row store: time window, order, limit, then paging. `tiesByValue`:
 * rows of one timestamp in ascending order of their key values whatever the order (RowStore.scan).
 */
export function queryRows(rowStore: RowStore<Row>, q: ViewQuery, tiesByValue = false): ViewPage {
  const range = { start: q.start, stop: q.stop };
  return pageOf(rowStore.count(range), q, (skip) => rowStore.scan({ ...range, order: q.order }, skip, tiesByValue));
}

/** One page of a custom view's rows, computed once for its state (view-cache.ts). */
export function querySorted(view: SortedView, q: ViewQuery): ViewPage {
  const { rows, from, to } = view.range(q.order, q.start, q.stop);
  return pageOf(to - from, q, function* (skip) {
    for (let i = from + skip; i < to; i++) yield rows[i] as Row;
  });
}

/** The page of `source` (rows in order; `skip` of them left out) that `q` asks for, of `total` in range. */
function pageOf(inRange: number, q: ViewQuery, source: (skip: number) => Iterable<Row>): ViewPage {
  let total = inRange;
  if (q.limit !== undefined) total = Math.min(total, q.limit);
  const pages = Math.max(1, Math.ceil(total / q.rowsPerPage));
  if (q.page > pages) throw new PageOutOfRange(q.page, pages);
  const from = (q.page - 1) * q.rowsPerPage;
  const to = Math.min(total, from + q.rowsPerPage);
  const rows: Row[] = [];
  // The rows before the page are skipped in the source, not walked one by one.
  if (from < to)
    for (const row of source(from)) {
      if (rows.length >= to - from) break;
      rows.push(row);
    }
  return { rows, total, pages, page: q.page };
}
