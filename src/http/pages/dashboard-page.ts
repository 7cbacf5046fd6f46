import { html, pageShell, type Page } from './html.js';
import { STYLE } from './style.js';

/** Rows shown per plugin, as on the original dashboard. */
export const DASHBOARD_ROWS = 8;

/**
 * Client code: reads /plugins, subscribes to every plugin over /ws, merges update frames by
 * each plugin's key columns and re-renders its newest rows. Reconnects with backoff on close.
 * Cells are set through textContent only, so row values can never become markup.
 */
const SCRIPT = `
(function () {
  'use strict';
  var SHOWN = ${DASHBOARD_ROWS};
  var KEEP = 100;
  var plugins = new Map();
  var grid = document.getElementById('plugins');
  var status = document.getElementById('status');
  var socket = null;
  var backoff = 500;

  function setStatus(text, cls) { status.textContent = text; status.className = 'status ' + cls; }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  function when(ts) { return new Date(ts * 1000).toISOString().replace('.000Z', 'Z').replace('T', ' '); }
  function cell(v) { return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v); }
  function keyOf(p, row) { return p.info.key.map(function (k) { return cell(row[k]); }).join('\\u001f'); }

  function card(info) {
    var box = el('section', undefined, 'card');
    box.setAttribute('data-ident', info.ident);
    var h = el('h3'); var a = el('a', info.name + (info.interval ? ' (' + info.interval.spelled + ')' : ''));
    a.href = info.links.rows; h.appendChild(a); box.appendChild(h);
    box.appendChild(el('div', info.summary, 'muted'));
    var meta = el('div', '', 'muted meta'); box.appendChild(meta);
    var table = el('table'); var head = el('tr');
    ['timestamp'].concat(info.columns).forEach(function (c) { head.appendChild(el('th', c)); });
    var thead = el('thead'); thead.appendChild(head); table.appendChild(thead);
    var body = el('tbody'); table.appendChild(body); box.appendChild(table);
    grid.appendChild(box);
    return { info: info, rows: new Map(), seq: null, body: body, meta: meta, box: box };
  }

  function render(p, changed) {
    var rows = Array.from(p.rows.values()).sort(function (a, b) { return b.timestamp - a.timestamp; });
    if (rows.length > KEEP) rows.slice(KEEP).forEach(function (r) { p.rows.delete(keyOf(p, r)); });
    p.body.textContent = '';
    rows.slice(0, SHOWN).forEach(function (r) {
      var tr = el('tr');
      tr.appendChild(el('td', when(r.timestamp)));
      p.info.columns.forEach(function (c) { tr.appendChild(el('td', cell(r[c]), typeof r[c] === 'number' ? 'num' : '')); });
      if (changed && changed.has(keyOf(p, r))) tr.className = 'flash';
      p.body.appendChild(tr);
    });
    if (rows.length === 0) { var tr = el('tr'); var td = el('td', 'no rows yet', 'muted'); td.colSpan = p.info.columns.length + 1; tr.appendChild(td); p.body.appendChild(tr); }
    p.meta.textContent = p.rows.size + ' recent rows held, update #' + p.seq;
    p.box.setAttribute('data-seq', String(p.seq));
  }

  function onFrame(frame) {
    var p = plugins.get(frame.ident);
    if (!p) return;
    if (frame.type === 'snapshot') {
      p.rows.clear();
      frame.rows.forEach(function (r) { p.rows.set(keyOf(p, r), r); });
      p.seq = frame.seq;
      render(p, null);
    } else if (frame.type === 'update') {
      var changed = new Set();
      (frame.removed || []).forEach(function (key) { p.rows.delete(key.map(cell).join('\u001f')); });
      frame.rows.forEach(function (r) { var k = keyOf(p, r); changed.add(k); p.rows.set(k, r); });
      p.seq = frame.seq;
      render(p, changed);
    }
  }

  function connect() {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    socket = new WebSocket(scheme + location.host + '/ws');
    socket.onopen = function () {
      backoff = 500;
      setStatus('live', 'live');
      plugins.forEach(function (p, ident) { socket.send(JSON.stringify({ op: 'subscribe', ident: ident })); });
    };
    socket.onmessage = function (event) {
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === 'error') { setStatus('server said: ' + frame.detail, 'down'); return; }
      onFrame(frame);
    };
    socket.onclose = function () {
      setStatus('disconnected; reconnecting in ' + Math.round(backoff / 1000) + ' s', 'down');
      setTimeout(connect, backoff);
      backoff = Math.min(backoff * 2, 15000);
    };
  }

  fetch('/plugins', { headers: { Accept: 'application/json' } })
    .then(function (r) { if (!r.ok) throw new Error('HTTP ' + r.status); return r.json(); })
    .then(function (d) {
      d.plugins.forEach(function (info) { plugins.set(info.ident, card(info)); });
      document.body.setAttribute('data-plugins', String(plugins.size));
      connect();
    })
    .catch(function (e) { setStatus('could not load plugins: ' + e.message, 'down'); });
})();
`;

/** `/dashboard`: the newest rows of every plugin, kept live over the WebSocket. */
export function dashboardPage(): Page {
  const body = html`<header>
<h1>statscache dashboard</h1>
<p>The newest ${DASHBOARD_ROWS} rows of every plugin, updated live. <span id="status" class="status">connecting…</span></p>
<nav><a href="/">Documentation</a><a href="/plugins">Plugins (JSON)</a></nav>
</header>
<main><div id="plugins" class="grid"></div></main>`;
  return pageShell('statscache dashboard', body, SCRIPT, STYLE);
}
