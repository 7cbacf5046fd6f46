import type { PluginHost } from '../../../actors/plugin-host.js';
import { queryView, viewParams } from '../../../actors/view-query.js';
import { MAX_ROWS_PER_PAGE } from '../query-params.js';
import { defaultStop } from '../ws-view-spec.js';

/** Rows shown per plugin, as on the original dashboard. */
export const DASHBOARD_ROWS = 8;

type Row = Readonly<Record<string, unknown>> & { readonly timestamp: number };

/**
 * The dashboard's order: newest first and, within one bucket, the busiest first (the first
 * numeric column counting from the last, descending: top-n's volume rather than its rank), so a category card leads with bodhi rather than zanata. The
 * page's script sorts with the same rule (dashboard-script.ts), so its first paint from these
 * rows and its render of the live snapshot agree.
 */
export function dashboardOrder(columns: readonly string[]): (a: Row, b: Row) => number {
  return (a, b) => {
    if (b.timestamp !== a.timestamp) return b.timestamp - a.timestamp;
    for (const c of [...columns].reverse()) {
      const x = a[c];
      const y = b[c];
      if (typeof x === 'number' && typeof y === 'number' && x !== y) return y - x;
    }
    return 0;
  };
}

/**
 * The first rows of every plugin for the page's first paint: the same default view a live
 * subscription starts from (newest page, HTTP's moving stop), ordered and cut as the page shows them.
 */
export function dashboardRows(host: PluginHost, nowSeconds: number): Record<string, readonly Row[]> {
  const out: Record<string, readonly Row[]> = {};
  for (const runtime of host.runtimes) {
    let rows: Row[];
    try {
      const page = queryView(runtime, {
        order: 'desc',
        page: 1,
        rowsPerPage: MAX_ROWS_PER_PAGE,
        stop: defaultStop(runtime, nowSeconds),
        params: viewParams({}),
      });
      rows = [...(page.rows as Iterable<Row>)]
        .sort(dashboardOrder(runtime.plugin.definition.columns))
        .slice(0, DASHBOARD_ROWS);
      // The page embeds every plugin's rows in one JSON document: a row JSON cannot hold (a
      // BigInt, a cycle, a throwing toJSON) must cost this card, not the whole page.
      JSON.stringify(rows);
    } catch {
      // A view that cannot answer without parameters, or not in JSON: the live snapshot will say so; paint it empty.
      rows = [];
    }
    out[runtime.ident] = rows;
  }
  return out;
}
