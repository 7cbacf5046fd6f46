import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import type { Row } from '../../actors/row-store.js';
import { queryView } from '../../actors/view-query.js';
import { builtinPlugins } from '../../plugins/index.js';
import type { Envelope } from '../../src/envelope.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { createRouter } from '../../src/router.js';
import { getJson } from './service-process.js';

/** Far bounds so every row of every view is compared, whatever its bucket. */
const WINDOW = { start: 0, stop: 1e12 };

/** Every plugin's full view after seeing each message exactly once, in order: the truth to compare with. */
export function referenceViews(
  envelopes: readonly Envelope[],
  definitions: readonly unknown[] = builtinPlugins(),
): Map<string, Row[]> {
  const host = new PluginHost(registerPlugins(definitions), () => {});
  const route = createRouter(host.runtimes.map((r) => r.plugin));
  for (const e of envelopes) host.dispatch(createPluginMessage(e, deriveMeta), route(e.topic));
  const out = hostViews(host);
  host.stop();
  return out;
}

/** Every plugin's full view, read in-process. */
export function hostViews(host: PluginHost): Map<string, Row[]> {
  const out = new Map<string, Row[]>();
  for (const rt of host.runtimes) {
    const rows: Row[] = [];
    for (let page = 1; ; page++) {
      const p = queryView(rt, { ...WINDOW, order: 'asc', page, rowsPerPage: 100, params: {} });
      rows.push(...p.rows);
      if (page >= p.pages) break;
    }
    out.set(rt.ident, rows);
  }
  return out;
}

/**
 * The same views read over HTTP from a running service. `headers` go with each request: a test
 * that compares pages many times and is not about compression can ask for them uncompressed
 * (`accept-encoding: identity`), sparing the gzip and gunzip of every page.
 */
export async function servedViews(
  base: string,
  idents: Iterable<string>,
  headers: Record<string, string> = {},
): Promise<Map<string, Row[]>> {
  const out = new Map<string, Row[]>();
  for (const ident of idents) {
    const rows: Row[] = [];
    for (let page = 1; ; page++) {
      const res = await getJson(
        `${base}/api/${ident}?order=asc&start=${WINDOW.start}&stop=${WINDOW.stop}&rows_per_page=100&page=${page}`,
        headers,
      );
      if (res.status !== 200) throw new Error(`${ident} page ${page}: ${res.status} ${JSON.stringify(res.body)}`);
      rows.push(...(res.body as Row[]));
      if (page >= Number(res.headers.get('x-link-count'))) break;
    }
    out.set(ident, rows);
  }
  return out;
}
