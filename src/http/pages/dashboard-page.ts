import type { Discovery } from '../discovery.js';
import { DASHBOARD_ROWS } from './dashboard-rows.js';
import { DASHBOARD_SCRIPT } from './dashboard-script.js';
import { html, pagePolicy, pageShell, SafeHtml, scriptJson, type Page } from './html.js';
import { STYLE } from './style.js';

export { DASHBOARD_ROWS } from './dashboard-rows.js';

/**
 * Cards that hold real data: a card never grows past its grid cell (min-width 0, fixed table
 * layout), long text is cut with an ellipsis and kept whole in the cell's title; numbers are
 * never cut: their column widens to the longest shown, and past that they wrap.
 */
const DASHBOARD_STYLE = `${STYLE}
main.wide { max-width: none; }
.card { min-width: 0; }
.card h3 a { display: block; overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.card .summary { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.card table { table-layout: fixed; }
.card th, .card td { overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
.grid { grid-auto-flow: dense; }
.card.wide { grid-column: span 2; }
.card th.when, .card td.when { width: 9.6rem; font-variant-numeric: tabular-nums; }
.card th.num, .card td.num { width: 4.8rem; text-align: right; }
.card td.num { white-space: normal; overflow: visible; text-overflow: clip; overflow-wrap: anywhere; }
.status.partial { background: #fde2a7; }
`;

/** The page's policy: its script and style never change, only the embedded rows do. */
export const DASHBOARD_CSP = pagePolicy(DASHBOARD_SCRIPT, DASHBOARD_STYLE);

/** `/dashboard`: the newest rows of every plugin, painted from the embedded rows, then kept live over the WebSocket. */
export function dashboardPage(discovery: Discovery, rows: Readonly<Record<string, readonly unknown[]>>): Page {
  const boot = {
    plugins: discovery.plugins.map((p) => ({
      ident: p.ident,
      name: p.name,
      summary: p.summary,
      interval: p.interval,
      columns: p.columns,
      key: p.key,
      links: { rows: p.links.rows },
    })),
    rows,
  };
  const body = html`<header>
<h1>statscache dashboard</h1>
<p>The newest ${DASHBOARD_ROWS} rows of every plugin, busiest first within a period, updated live. <span id="status" class="status">connecting…</span></p>
<nav><a href="/">Documentation</a><a href="/plugins">Plugins (JSON)</a></nav>
</header>
<main class="wide"><div id="plugins" class="grid"></div></main>
<script type="application/json" id="boot">${new SafeHtml(scriptJson(boot))}</script>`;
  return pageShell('statscache dashboard', body, DASHBOARD_SCRIPT, DASHBOARD_STYLE);
}
