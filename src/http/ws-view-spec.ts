import type * as z from 'zod';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import type { ViewQuery } from '../../actors/view-query.js';
import { parseViewQuery } from './query-params.js';
import type { WireParams } from './ws-frames.js';

/**
 * A live view: one plugin plus normalized query parameters. Two subscriptions that would get
 * the same HTTP answer share one view (and one encoding of every frame).
 */
export interface ViewSpec {
  readonly ident: string;
  /** Canonical name, e.g. `volume-by-category-1h?order=desc&page=1&rows_per_page=100&category=bodhi`. */
  readonly key: string;
  /** The query without `stop` when the client gave none: the stop then moves with the clock, as HTTP's default does. */
  readonly query: Omit<ViewQuery, 'stop'> & { readonly stop: number | undefined };
}

/**
 * Validates wire parameters exactly as the HTTP query string is validated (values become
 * strings first, as they would be in a URL); throws query-params' BadParameter.
 * `callback` and `_` mean nothing for a live view and are dropped.
 */
export function viewSpecOf(
  runtime: PluginRuntime,
  schema: z.ZodObject,
  params: WireParams | Record<string, string>,
  maxPageDepth: number,
): ViewSpec {
  // No prototype: a parameter named `constructor` is the client's or absent (query-params.ts firstValues).
  const values: Record<string, string> = Object.create(null) as Record<string, string>;
  for (const [k, v] of Object.entries(params)) if (k !== 'callback' && k !== '_') values[k] = String(v);
  const parsed = parseViewQuery(values, schema, 0, maxPageDepth);
  const stop = values['stop'] === undefined ? undefined : parsed.stop;
  const query = {
    order: parsed.order,
    limit: parsed.limit,
    start: parsed.start,
    stop,
    page: parsed.page,
    rowsPerPage: parsed.rowsPerPage,
    params: parsed.params,
  };
  const parts: string[] = [`order=${query.order}`, `page=${query.page}`, `rows_per_page=${query.rowsPerPage}`];
  if (query.limit !== undefined) parts.push(`limit=${query.limit}`);
  if (query.start !== undefined) parts.push(`start=${query.start}`);
  if (query.stop !== undefined) parts.push(`stop=${query.stop}`);
  for (const name of Object.keys(query.params).sort())
    parts.push(`${encodeURIComponent(name)}=${encodeURIComponent(String(query.params[name]))}`);
  return { ident: runtime.ident, key: `${runtime.ident}?${parts.join('&')}`, query };
}

/**
 * The default stop of every view (HTTP, WebSocket, SSE, the dashboard's first paint): now plus
 * the interval, since rows are stamped with their bucket's end, plus how far ahead of the clock
 * a message may be dated (rows stamped with such a message's time are real, and were hidden).
 * Whole seconds keep cache keys stable within a second; ceil never hides a row stamped "now".
 */
export function defaultStop(runtime: PluginRuntime, nowSeconds: number): number {
  return Math.ceil(nowSeconds) + (runtime.plugin.intervalSeconds ?? 0) + runtime.aheadSeconds;
}
