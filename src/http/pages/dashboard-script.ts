import { DASHBOARD_ROWS } from './dashboard-rows.js';

/**
 * Client code of /dashboard. It paints the rows the server embedded (#boot) before anything
 * else, so the first paint holds data; then subscribes to every plugin over /ws and merges
 * update frames by each plugin's key columns. Reconnects with backoff on close, and asks again,
 * with backoff, for a card refused for now (load shedding); a refused card says why, and the
 * badge is live only when every card is (partial otherwise). Cells are set
 * through textContent only, so row values can never become markup. The order rule mirrors
 * dashboardOrder in dashboard-rows.ts.
 */
export const DASHBOARD_SCRIPT = `
(function () {
  'use strict';
  var SHOWN = ${DASHBOARD_ROWS};
  var KEEP = 100;
  /**
   * Characters a number column holds at its narrowest (4.8rem), and the characters all number
   * columns of a card may widen to together (twice that in a wide card): a card of 22rem keeps
   * its period column and some room for text beside them.
   */
  var NARROW = 8, NUMBER_CHARS = 14;
  var boot = JSON.parse(document.getElementById('boot').textContent);
  var plugins = new Map();
  var grid = document.getElementById('plugins');
  var status = document.getElementById('status');
  var socket = null;
  var backoff = 500;

  function setStatus(text, cls) { status.textContent = text; status.className = 'status ' + cls; }
  /**
   * The badge of an open connection: live only when every card is. Cards the server refuses
   * (for now or for good; each says why) make it partial while others are live, down when none is.
   */
  function badge() {
    var refused = [];
    plugins.forEach(function (p, ident) { if (p.refused) refused.push(ident + ' (' + p.refused + ')'); });
    if (refused.length === 0) return setStatus('live', 'live');
    if (refused.length === plugins.size) return setStatus('no card is live: ' + refused[0] + (refused.length > 1 ? ' and ' + (refused.length - 1) + ' more' : ''), 'down');
    setStatus('live, ' + refused.length + ' of ' + plugins.size + ' cards not: ' + refused.slice(0, 3).join(', ') + (refused.length > 3 ? '…' : ''), 'partial');
  }
  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
  /** A timestamp no Date can hold (a plugin's odd bucket) prints as a number rather than stopping the page. */
  function iso(ts) { var d = new Date(ts * 1000); return isNaN(d.getTime()) ? String(ts) : d.toISOString(); }
  function hm(ts, secs) { return iso(ts).slice(11, secs ? 19 : 16); }
  /** Bucketed rows carry the end of their bucket: show the period, so nothing reads like the future. */
  function period(ts, interval) {
    if (!interval) return { text: iso(ts).slice(0, 10) === new Date().toISOString().slice(0, 10) ? hm(ts, true) : iso(ts).slice(0, 16).replace('T', ' '), title: iso(ts) };
    var s = interval.seconds, from = ts - s;
    var title = iso(from) + ' – ' + iso(ts);
    if (s % 86400 === 0) return { text: s === 86400 ? iso(from).slice(0, 10) : iso(from).slice(0, 10) + '–' + iso(ts - 1).slice(5, 10), title: title };
    var secs = s % 60 !== 0;
    var day = iso(from).slice(5, 10) + ' ';
    return { text: (s >= 3600 ? day : '') + hm(from, secs) + '–' + hm(ts, secs), title: title };
  }
  /**
   * A number's cell: the whole value, digits grouped by three with a break allowed between
   * groups (<wbr>, no text), so a count wider than its column wraps instead of being cut; its
   * text is still the number.
   */
  function numberCell(text) {
    var d = el('td', undefined, 'num');
    d.title = text;
    var m = /^(-?)(\\d+)$/.exec(text);
    if (!m || m[2].length <= 6) { d.textContent = text; return d; }
    var digits = m[2], head = digits.length % 3 || 3;
    d.appendChild(document.createTextNode(m[1] + digits.slice(0, head)));
    for (var i = head; i < digits.length; i += 3) {
      d.appendChild(document.createElement('wbr'));
      d.appendChild(document.createTextNode(digits.slice(i, i + 3)));
    }
    return d;
  }
  function cell(v) { return v === null || v === undefined ? '' : typeof v === 'object' ? JSON.stringify(v) : String(v); }
  function keyOf(p, row) { return p.info.key.map(function (k) { return cell(row[k]); }).join('\\u001f'); }
  function order(p) {
    return function (a, b) {
      if (b.timestamp !== a.timestamp) return b.timestamp - a.timestamp;
      for (var i = p.info.columns.length - 1; i >= 0; i--) {
        var x = a[p.info.columns[i]], y = b[p.info.columns[i]];
        if (typeof x === 'number' && typeof y === 'number' && x !== y) return y - x;
      }
      return 0;
    };
  }

  function card(info) {
    // Tables of many columns get two grid cells, so their text stays readable.
    var box = el('section', undefined, info.columns.length >= 4 ? 'card wide' : 'card');
    box.setAttribute('data-ident', info.ident);
    var h = el('h3'); var a = el('a', info.name + (info.interval ? ' (' + info.interval.spelled + ')' : ''));
    a.href = info.links.rows; a.title = info.ident; h.appendChild(a); box.appendChild(h);
    box.appendChild(el('div', info.summary, 'muted summary'));
    var meta = el('div', '', 'muted meta'); box.appendChild(meta);
    var table = el('table'); var head = el('tr');
    head.appendChild(el('th', info.interval ? 'period (UTC)' : 'time (UTC)', 'when'));
    info.columns.forEach(function (c) { var th = el('th', c); th.title = c; head.appendChild(th); });
    var thead = el('thead'); thead.appendChild(head); table.appendChild(thead);
    var body = el('tbody'); table.appendChild(body); box.appendChild(table);
    grid.appendChild(box);
    return { info: info, rows: new Map(), seq: null, body: body, meta: meta, box: box, table: table, typed: false, refused: null };
  }

  function render(p, changed) {
    var rows = Array.from(p.rows.values()).sort(order(p));
    if (rows.length > KEEP) rows.slice(KEEP).forEach(function (r) { p.rows.delete(keyOf(p, r)); });
    p.body.textContent = '';
    rows.slice(0, SHOWN).forEach(function (r) {
      var tr = el('tr');
      var w = period(r.timestamp, p.info.interval);
      var td = el('td', w.text, 'when'); td.title = w.title; tr.appendChild(td);
      p.info.columns.forEach(function (c) {
        var text = cell(r[c]);
        if (typeof r[c] === 'number') { tr.appendChild(numberCell(text)); return; }
        // Topics differ only at their end: the shared org.fedoraproject.<env>. prefix gives way to an ellipsis.
        var shown = c === 'topic' && text.split('.').length > 4 ? '\u2026' + text.split('.').slice(3).join('.') : text;
        var d = el('td', shown, 'text');
        d.title = text;
        tr.appendChild(d);
      });
      if (changed && changed.has(keyOf(p, r))) tr.className = 'flash';
      p.body.appendChild(tr);
    });
    if (rows.length === 0) { var tr = el('tr'); var td = el('td', 'no rows yet', 'muted'); td.colSpan = p.info.columns.length + 1; tr.appendChild(td); p.body.appendChild(tr); }
    // Number columns stay narrow; the text columns share what is left.
    if (!p.typed && rows.length > 0) {
      p.typed = true;
      var ths = p.table.querySelectorAll('thead th');
      p.info.columns.forEach(function (c, i) { if (typeof rows[0][c] === 'number') ths[i + 1].className = 'num'; });
    }
    // A number column is as wide as its longest value shown, within the card's share for
    // numbers, so big counts read whole on one line; past that they wrap (numberCell), never cut.
    var heads = p.table.querySelectorAll('thead th');
    var numeric = p.info.columns.filter(function (c, i) { return heads[i + 1].className === 'num'; });
    var share = Math.floor((p.box.className.indexOf('wide') >= 0 ? 2 : 1) * NUMBER_CHARS / Math.max(1, numeric.length));
    p.info.columns.forEach(function (c, i) {
      if (heads[i + 1].className !== 'num') return;
      var longest = 0;
      rows.slice(0, SHOWN).forEach(function (r) { if (typeof r[c] === 'number') longest = Math.max(longest, cell(r[c]).length); });
      var chars = Math.min(longest, share);
      heads[i + 1].style.width = chars > NARROW ? 'calc(' + chars + 'ch + 1.2rem)' : '';
    });
    p.meta.textContent = p.rows.size + ' recent rows held' + (p.seq === null ? '' : ', update #' + p.seq);
    if (p.seq !== null) p.box.setAttribute('data-seq', String(p.seq));
  }

  function onFrame(frame) {
    var p = plugins.get(frame.ident);
    if (!p) return;
    if (frame.type === 'snapshot') {
      clearTimeout(p.retryTimer);
      p.retryWait = 0;
      p.box.removeAttribute('data-error');
      if (p.refused) { p.refused = null; badge(); }
      p.rows.clear();
      frame.rows.forEach(function (r) { p.rows.set(keyOf(p, r), r); });
      p.seq = frame.seq;
      render(p, null);
    } else if (frame.type === 'update') {
      if (p.refused === 'view_failed') { p.box.removeAttribute('data-error'); p.refused = null; badge(); }
      var changed = new Set();
      (frame.removed || []).forEach(function (key) { p.rows.delete(key.map(cell).join('\\u001f')); });
      frame.rows.forEach(function (r) { var k = keyOf(p, r); changed.add(k); p.rows.set(k, r); });
      p.seq = frame.seq;
      render(p, changed);
    }
  }

  /**
   * A refusal that may pass (load shedding, as when every dashboard of one IP re-opens its
   * views after a restart; a view that failed to compute) is asked again with back-off, jittered;
   * until its snapshot comes, the card keeps data-error and says it shows older rows.
   */
  var RETRY = { too_many_new_views: 1, too_many_views: 1, too_many_subscriptions_per_ip: 1, view_failed: 1 };
  function retryLater(ident, p) {
    var wait = p.retryWait || 1000;
    p.retryWait = Math.min(wait * 2, 30000);
    var delay = Math.round(wait * (0.75 + Math.random() * 0.5));
    p.meta.textContent += ' (asking again in ' + Math.max(1, Math.round(delay / 1000)) + ' s)';
    var s = socket;
    clearTimeout(p.retryTimer);
    p.retryTimer = setTimeout(function () {
      if (socket === s && s.readyState === 1) s.send(JSON.stringify({ op: 'subscribe', ident: ident }));
    }, delay);
  }

  /**
   * A server that stops without closing (frozen, its host gone, the network cut) sends no close,
   * and the browser may wait minutes for TCP to notice, the badge saying live all along: after
   * QUIET_MS without a frame the server is pinged, and with no answer ANSWER_MS later (or no open
   * within ANSWER_MS) the connection is given up and made again.
   */
  var QUIET_MS = 15000, ANSWER_MS = 10000;

  function connect() {
    var scheme = location.protocol === 'https:' ? 'wss://' : 'ws://';
    var s = new WebSocket(scheme + location.host + '/ws');
    socket = s;
    var began = Date.now(), heard = began, pinged = null;
    var watch = setInterval(function () {
      var now = Date.now();
      if (s.readyState !== 1) { if (now - began >= ANSWER_MS) give('no answer to the connection in ' + ANSWER_MS / 1000 + ' s'); return; }
      if (pinged !== null && now - pinged >= ANSWER_MS) give('no answer from the server in ' + Math.round((now - heard) / 1000) + ' s');
      else if (pinged === null && now - heard >= QUIET_MS) { pinged = now; s.send('{"op":"ping"}'); }
    }, 1000);
    function give(why) { s.onclose = null; s.onmessage = null; s.onopen = null; s.close(); dropped(why); }
    function dropped(why) {
      clearInterval(watch);
      // Every card is subscribed again on open; jittered, so the dashboards that lost one server do not return in step.
      var delay = Math.round(backoff * (0.75 + Math.random() * 0.5));
      setStatus(why + '; reconnecting in ' + Math.max(1, Math.round(delay / 1000)) + ' s', 'down');
      setTimeout(connect, delay);
      backoff = Math.min(backoff * 2, 15000);
    }
    s.onopen = function () {
      backoff = 500;
      badge();
      plugins.forEach(function (p, ident) { s.send(JSON.stringify({ op: 'subscribe', ident: ident })); });
    };
    s.onmessage = function (event) {
      heard = Date.now();
      pinged = null;
      var frame;
      try { frame = JSON.parse(event.data); } catch (e) { return; }
      if (frame.type === 'error') {
        // One plugin's failure (its view cannot be served) belongs on its card, not on the connection.
        var failed = frame.ident ? plugins.get(frame.ident) : undefined;
        if (failed) {
          failed.meta.textContent = 'server said: ' + frame.detail;
          failed.box.setAttribute('data-error', String(frame.error));
          failed.refused = String(frame.error);
          badge();
          // One naming its view is about a card served: its view fails now and the rows shown are the last good ones, until its next update.
          if (RETRY[frame.error] && frame.view === undefined) retryLater(frame.ident, failed);
          return;
        }
        setStatus('server said: ' + frame.detail, 'down');
        return;
      }
      onFrame(frame);
    };
    s.onclose = function () { dropped('disconnected'); };
  }

  boot.plugins.forEach(function (info) {
    var p = card(info);
    plugins.set(info.ident, p);
    // One card that cannot paint must not keep the others from going live.
    try {
      (boot.rows[info.ident] || []).forEach(function (r) { p.rows.set(keyOf(p, r), r); });
      render(p, null);
    } catch (e) { if (window.console) console.error('statscache: cannot paint ' + info.ident, e); }
  });
  document.body.setAttribute('data-plugins', String(plugins.size));
  connect();
})();
`;
