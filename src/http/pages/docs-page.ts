import type { Discovery, PluginInfo } from '../discovery.js';
import { commonParams, typeLabel } from '../param-docs.js';
import { MAX_ROWS_PER_PAGE } from '../query-params.js';
import { html, pageShell, type Page, type SafeHtml } from './html.js';
import { STYLE } from './style.js';

/** Fills the live columns of the plugin table from /plugins; the rest of the page is static. */
const SCRIPT = `
(function () {
  var note = document.getElementById('plugins-status');
  fetch('/plugins', { headers: { Accept: 'application/json' } })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(function (d) {
      d.plugins.forEach(function (p) {
        var row = document.querySelector('tr[data-ident="' + CSS.escape(p.ident) + '"]');
        if (!row) return;
        row.querySelector('.rows').textContent = String(p.rows);
        row.querySelector('.updated').textContent = p.last_update === null ? '-' : new Date(p.last_update * 1000).toISOString().replace('.000Z', 'Z');
      });
      note.textContent = 'Row counts as of ' + new Date().toLocaleTimeString() + '.';
      document.body.setAttribute('data-loaded', 'true');
    })
    .catch(function (e) { note.textContent = 'Could not load live counts: ' + e.message; });
})();
`;

const link = (href: string, cls = 'example') => html`<a class="${cls}" href="${href}"><code>${href}</code></a>`;

function example(ident: string, name: string): string {
  switch (name) {
    case 'order':
      return `/api/${ident}?order=asc`;
    case 'limit':
      return `/api/${ident}?limit=20&rows_per_page=5`;
    case 'start':
      return `/api/${ident}?start=2015-11-04T00:00:00Z`;
    case 'stop':
      return `/api/${ident}?stop=${Math.floor(Date.UTC(2030, 0, 1) / 1000)}.5`;
    case 'page':
      return `/api/${ident}?page=1&rows_per_page=10`;
    case 'rows_per_page':
      return `/api/${ident}?rows_per_page=5`;
    case 'callback':
      return `/api/${ident}?callback=showRows`;
    default:
      return `/api/${ident}?${name}=1`;
  }
}

function pluginRow(p: PluginInfo): SafeHtml {
  return html`<tr data-ident="${p.ident}">
<td><a class="example" href="${p.links.rows}"><code>${p.ident}</code></a></td>
<td>${p.name}<div class="muted">${p.summary}</div></td>
<td>${p.interval?.spelled ?? '-'}</td>
<td>${p.columns.join(', ')}</td>
<td class="num rows">…</td>
<td class="updated">…</td>
<td>${p.links.layout === null ? '-' : link(p.links.layout)}</td>
</tr>`;
}

/** The front page: what statscache is, its plugins, every route and parameter with working examples. */
export function docsPage(discovery: Discovery): Page {
  const plugins = discovery.plugins;
  const ex =
    (plugins.find((p) => p.interval !== null && p.interval.seconds >= 3600) ?? plugins[0])?.ident ?? 'volume-1m';
  const pluginParams = plugins.flatMap((p) =>
    p.parameters.filter((q) => q.scope === 'plugin').map((q) => ({ plugin: p.ident, ...q })),
  );
  const body = html`<header>
<h1>statscache</h1>
<p>Live statistics from the Fedora message bus, served as JSON, JSON-P and CSV.</p>
<nav><a href="/dashboard">Live dashboard</a><a href="/plugins">Plugins (JSON)</a><a href="/openapi.json">OpenAPI</a><a href="/metrics">Metrics</a></nav>
</header>
<main>
<h2 id="what">What is this?</h2>
<p>Every Fedora service announces what it does on <em>fedmsg</em>, a ZeroMQ publish/subscribe bus: builds, updates,
commits, wiki edits, meetings… <a href="https://apps.fedoraproject.org/datagrepper/">datagrepper</a> keeps those
messages so you can query them one by one. <strong>statscache</strong> keeps <em>statistics</em> about them instead:
each <em>plugin</em> folds every message it cares about into a table of <em>rows</em>, as the message arrives, so a
dashboard can ask "how many messages per category per hour" and get the answer at once, without scanning history.</p>
<p>Every row has a <code>timestamp</code> (float UNIX seconds, UTC) plus the plugin's own columns. Plugins with an
interval count in fixed buckets aligned on the UNIX epoch, and stamp each row with the <strong>end</strong> of its bucket.
State lives in memory, is snapshotted to disk, and survives restarts. The API below is compatible with the original
statscache (2015), with its defects fixed; changes are also pushed live over a WebSocket.</p>
<p>Try it: ${link('/api/')} lists the plugins, ${link(`/api/${ex}`)} returns the newest rows of one of them,
and ${link('/dashboard')} shows everything updating live.</p>

<h2 id="plugins">Plugins</h2>
<p class="muted" id="plugins-status">Loading live row counts…</p>
<table id="plugin-list">
<thead><tr><th>ident</th><th>plugin</th><th>interval</th><th>columns</th><th>rows</th><th>last update (UTC)</th><th>layout</th></tr></thead>
<tbody>${plugins.map(pluginRow)}</tbody>
</table>

<h2 id="routes">Routes</h2>
<table>
<thead><tr><th>route</th><th>answer</th><th>example</th></tr></thead>
<tbody>
<tr><td><code>GET /api/</code></td><td>JSON array of every plugin ident (CSV: one per line)</td><td>${link('/api/')}</td></tr>
<tr><td><code>GET /api/&lt;ident&gt;</code></td><td>one page of the plugin's rows, newest first: a JSON array of row objects, no envelope</td><td>${link(`/api/${ex}`)}</td></tr>
<tr><td><code>GET /api/&lt;ident&gt;/layout</code></td><td>the plugin's dashboard layout (JSON or JSON-P); 404 when it has none</td><td>${plugins.find((p) => p.has_layout) ? link(`/api/${plugins.find((p) => p.has_layout)?.ident}/layout`) : html`<span class="muted">no plugin here has one</span>`}</td></tr>
<tr><td><code>GET /api/&lt;ident&gt;/stream</code></td><td>Server-Sent Events of the plugin's row changes</td><td><code>curl -N /api/${ex}/stream</code></td></tr>
<tr><td><code>GET /plugins</code></td><td>every plugin described: name, summary, interval, columns, key, parameters with JSON Schemas, formats, row count, last update, links</td><td>${link('/plugins')}</td></tr>
<tr><td><code>GET /openapi.json</code></td><td>OpenAPI 3.1 description of every route</td><td>${link('/openapi.json')}</td></tr>
<tr><td><code>GET /ws</code></td><td>WebSocket of live updates (see below)</td><td><code>ws://HOST/ws</code></td></tr>
<tr><td><code>GET /dashboard</code></td><td>the newest rows of every plugin, live</td><td>${link('/dashboard')}</td></tr>
<tr><td><code>GET /examples/</code></td><td>browser examples built on this API (release-engineering dashboard, contribution calendar, volume chart); served with <code>--examples</code>, and by <code>npm run demo</code></td><td><code>/examples/</code></td></tr>
<tr><td><code>GET /healthz</code></td><td>liveness: 200 while the process serves</td><td>${link('/healthz')}</td></tr>
<tr><td><code>GET /readyz</code></td><td>readiness: 200 when restored and consuming the bus, else 503 with <code>reason</code></td><td>${link('/readyz')}</td></tr>
<tr><td><code>GET /metrics</code></td><td>Prometheus metrics</td><td>${link('/metrics')}</td></tr>
</tbody>
</table>

<h2 id="parameters">Parameters of <code>/api/&lt;ident&gt;</code></h2>
<table>
<thead><tr><th>parameter</th><th>type</th><th>default</th><th>meaning</th><th>example</th></tr></thead>
<tbody>${commonParams()
    .filter((p) => p.name !== '_')
    .map(
      (p) =>
        html`<tr><td><code>${p.name}</code></td><td>${typeLabel(p.schema)}</td><td>${p.schema['default'] === undefined ? (p.name === 'stop' ? 'now + interval' : '-') : String(p.schema['default'])}</td><td>${p.description}</td><td>${link(example(ex, p.name))}</td></tr>`,
    )}</tbody>
</table>
<p>Rows are filtered by <code>start</code>/<code>stop</code>, ordered, cut to <code>limit</code>, then paged: <code>rows_per_page</code>
(at most ${MAX_ROWS_PER_PAGE}) rows per page. Unknown parameters are ignored (jQuery adds <code>_</code>); a bad value is a 400 naming the parameter.</p>
${
  pluginParams.length === 0
    ? html``
    : html`<h3>Plugin parameters</h3><table><thead><tr><th>plugin</th><th>parameter</th><th>type</th><th>meaning</th></tr></thead><tbody>${pluginParams.map(
        (p) =>
          html`<tr><td><code>${p.plugin}</code></td><td><code>${p.name}</code></td><td>${typeLabel(p.schema)}</td><td>${p.description}</td></tr>`,
      )}</tbody></table>`
}

<h2 id="formats">Formats</h2>
<p>The <code>Accept</code> header picks the format; <code>*/*</code> (curl, browsers) means JSON. Anything else is a 406.</p>
<table>
<thead><tr><th>Accept</th><th>answer</th></tr></thead>
<tbody>
<tr><td><code>application/json</code>, <code>text/json</code>, <code>*/*</code></td><td>JSON</td></tr>
<tr><td><code>application/javascript</code>, <code>text/javascript</code> (or <code>*/*</code>) with <code>callback</code></td><td>JSON-P: <code>callback([...])</code>; the name must be a JavaScript identifier path</td></tr>
<tr><td><code>text/csv</code>, <code>application/csv</code></td><td>CSV: header <code>timestamp,&lt;other columns sorted&gt;</code>, properly quoted (not for layouts)</td></tr>
</tbody>
</table>
<pre>curl -H 'Accept: text/csv' 'http://HOST/api/${ex}?rows_per_page=5'
$.ajax({ url: 'http://HOST/api/${ex}', dataType: 'jsonp' })   // jQuery: ?callback=jQuery…&amp;_=…</pre>

<h2 id="paging">Paging, CORS and caching</h2>
<p>Every page says where it is: <code>X-Link-Number</code> (this page), <code>X-Link-Count</code> (pages), and a GitHub-style
<code>Link: &lt;url&gt;; rel="previous", &lt;url&gt;; rel="next"</code> whose URLs keep all your parameters. Walk <code>rel="next"</code>
from page 1 to read every row once. A page past the last one is a 400.</p>
<p>Every answer allows any origin (<code>Access-Control-Allow-Origin: *</code>, with the paging headers exposed) and answers
<code>OPTIONS</code> preflights. Answers carry an <code>ETag</code>: send it back in <code>If-None-Match</code> to get a 304 when nothing
changed. Bodies are gzip-compressed when you send <code>Accept-Encoding: gzip</code>.</p>

<h2 id="errors">Errors</h2>
<p>Errors are JSON <code>{"error": "&lt;code&gt;", "detail": "&lt;what was wrong&gt;"}</code>: 400 for a bad parameter,
whose <code>"parameter"</code> names it (${link(`/api/${ex}?rows_per_page=0`, 'example-error')}), 404 for an unknown plugin or route
(${link('/api/no-such-plugin', 'example-error')}), 405 for a method other than GET/HEAD/OPTIONS, 406 for a format not offered.</p>

<h2 id="live">Live updates over WebSocket</h2>
<p>Connect to <code>/ws</code>; the server greets you with a <code>hello</code> frame. Subscribe to a plugin by its ident (optionally
with <code>params</code>, the same view parameters as the query string). The server answers with a <code>snapshot</code> frame (the newest
rows of that view, and the <code>key</code> columns that identify a row), then pushes an <code>update</code> frame with the rows that changed
(and the keys of rows that went away, in <code>removed</code>), at most once per tick. <code>seq</code> grows by one per update, so a gap
means you missed one: subscribe again (or pass <code>resume: {epoch, seq}</code>) to catch up.</p>
<pre>const ws = new WebSocket(\`ws://\${location.host}/ws\`);
ws.onopen = () =&gt; ws.send(JSON.stringify({ op: 'subscribe', ident: '${ex}' }));
ws.onmessage = (event) =&gt; {
  const frame = JSON.parse(event.data);
  // {"type":"hello","epoch":"…","tickMs":100,…}
  // {"type":"snapshot","ident":"${ex}","seq":0,"key":[…],"rows":[…newest first…],…}
  // {"type":"update","ident":"${ex}","seq":1,"rows":[…rows that changed…],"removed":[…keys…]}
  // {"type":"error","error":"unknown_ident","detail":"…"}
};
// later: ws.send(JSON.stringify({ op: 'unsubscribe', ident: '${ex}' }));</pre>
<p>Without JavaScript: <code>curl -N http://HOST/api/${ex}/stream</code> gives the same frames as Server-Sent Events.
The <a href="/dashboard">dashboard</a> is a complete example.</p>

<h2 id="operations">Operations</h2>
<p>${link('/healthz')} and ${link('/readyz')} for probes, ${link('/metrics')} for Prometheus (messages received/applied/dropped per
plugin, bus decode errors, snapshot duration and size, HTTP requests, WebSocket clients, event-loop lag), and ${link('/openapi.json')}
for code generators.</p>
</main>`;
  return pageShell('statscache: live statistics from the Fedora message bus', body, SCRIPT, STYLE);
}
