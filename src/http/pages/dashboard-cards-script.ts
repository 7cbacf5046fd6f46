/**
 * The part of /dashboard's client code that paints a card: cell text, periods and numbers, the
 * card's table, and its rows in the page's order (order() mirrors dashboardOrder in
 * dashboard-rows.ts). Its own file as the page's drawing, apart from the connection and its
 * frames (dashboard-script.ts), into whose function scope it is spliced as it stands: functions
 * only, reading that scope's SHOWN, KEEP, NARROW, NUMBER_CHARS and grid.
 */
export const DASHBOARD_CARDS_SCRIPT = `  function el(tag, text, cls) { var e = document.createElement(tag); if (text !== undefined) e.textContent = text; if (cls) e.className = cls; return e; }
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
  }`;
