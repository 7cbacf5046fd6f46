import { DASHBOARD_CARDS_SCRIPT } from './dashboard-cards-script.js';
import { DASHBOARD_ROWS } from './dashboard-rows.js';

/**
 * Client code of /dashboard. It paints the rows the server embedded (#boot) before anything
 * else, so the first paint holds data; then subscribes to every plugin over /ws and merges
 * update frames by each plugin's key columns. Reconnects with backoff on close, and asks again,
 * with backoff, for a card refused for now (load shedding); a refused card says why, and the
 * badge is live only when every card is (partial otherwise). Cells are set
 * through textContent only, so row values can never become markup. How a card is painted is
 * dashboard-cards-script.ts, spliced in; its order rule mirrors dashboardOrder in
 * dashboard-rows.ts.
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
${DASHBOARD_CARDS_SCRIPT}

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
