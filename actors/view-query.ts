import type { PluginRuntime } from './plugin-runtime.js';
import type { Row, RowStore } from './row-store.js';

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

/** One page of rows: time window, order, limit, then paging; `view` is the plugin's custom view, if any. */
export function queryRows(
  rowStore: RowStore<Row>,
  view: ((params: Readonly<Record<string, unknown>>) => Iterable<Row>) | undefined,
  q: ViewQuery,
): ViewPage {
  const range = { start: q.start, stop: q.stop };
  let total: number;
  let source: (skip: number) => Iterable<Row>;
  if (view) {
    // Custom views are small derived tables; filter and order them here so every plugin pages alike.
    const all = [...view(q.params)].filter(
      (r) => (q.start === undefined || r.timestamp >= q.start) && (q.stop === undefined || r.timestamp <= q.stop),
    );
    all.sort(q.order === 'asc' ? (a, b) => a.timestamp - b.timestamp : (a, b) => b.timestamp - a.timestamp);
    total = all.length;
    source = function* (skip) {
      for (let i = skip; i < all.length; i++) yield all[i] as Row;
    };
  } else {
    total = rowStore.count(range);
    source = (skip) => rowStore.scan({ ...range, order: q.order }, skip);
  }
  if (q.limit !== undefined) total = Math.min(total, q.limit);
  const pages = Math.max(1, Math.ceil(total / q.rowsPerPage));
  if (q.page > pages) throw new PageOutOfRange(q.page, pages);
  const from = (q.page - 1) * q.rowsPerPage;
  const to = Math.min(total, from + q.rowsPerPage);
  const rows: Row[] = [];
  // The rows before the page are skipped in the source, not walked one by one.
  for (const row of source(from)) {
    if (rows.length >= to - from) break;
    rows.push(row);
  }
  return { rows, total, pages, page: q.page };
}
