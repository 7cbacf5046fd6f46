/**
 * Messages per category over time, stacked: volume-by-category-<1m|1h|1d>. The window's history
 * is read over HTTP (every page), then one live view (the newest page) keeps it current.
 */
import {
  axisBottom,
  axisLeft,
  format,
  max,
  scaleBand,
  scaleLinear,
  scaleOrdinal,
  schemeTableau10,
  select,
  stack,
} from 'd3';
import { type CountsView, countsView } from '../web-shared/counts-view.js';
import { Live } from '../web-shared/live.js';
import { allRows, apiBase, el, statusBadge, type Row } from '../web-shared/statscache.js';

type Width = '1m' | '1h' | '1d';
const SECONDS: Record<Width, number> = { '1m': 60, '1h': 3600, '1d': 86_400 };
/** Buckets shown per width: an hour of minutes, two days of hours, a month of days. */
const BUCKETS: Record<Width, number> = { '1m': 60, '1h': 48, '1d': 30 };
/** Categories drawn on their own; the rest are summed as "other". */
const SHOWN = 9;
/** The legend's label for the categories summed together (a label only: layers are keyed by position). */
const OTHER = 'other';

const live = new Live(statusBadge());
let width: Width = '1m';
let view: CountsView | null = null;

const keyOf = (r: Row) => `${r.timestamp}\u001f${String(r['category'])}`;
const iso = (t: number) => new Date(t * 1000).toISOString();
const grouped = format(',');
const short = format('.3~s');
/**
 * A y-axis count that fits the 44 px margin: in full up to 9,999, then with an SI suffix (12.3k,
 * 60M). In full, 10,000,000 and up was wider than the margin and lost its first digits.
 */
function countLabel(v: { valueOf(): number }): string {
  const n = v.valueOf();
  return Math.abs(n) < 10_000 ? grouped(n) : short(n);
}

function label(end: number, w: Width): string {
  const from = end - SECONDS[w];
  if (w === '1d') return iso(from).slice(5, 10);
  if (w === '1h') return `${iso(from).slice(11, 13)}h`;
  return iso(from).slice(11, 16);
}
function period(end: number, w: Width): string {
  const from = end - SECONDS[w];
  if (w === '1d') return iso(from).slice(0, 10);
  return `${iso(from).slice(0, 16).replace('T', ' ')}–${iso(end).slice(11, 16)} UTC`;
}

function show(w: Width): void {
  width = w;
  for (const b of document.querySelectorAll<HTMLButtonElement>('.switch button'))
    b.setAttribute('aria-pressed', String(b.dataset['interval'] === w));
  view?.close();
  const ident = `volume-by-category-${w}`;
  view = countsView(
    live,
    ident,
    { rows_per_page: 100 },
    () => {
      const now = Math.ceil(Date.now() / 1000 / SECONDS[w]) * SECONDS[w];
      return allRows(ident, { start: now - BUCKETS[w] * SECONDS[w] });
    },
    keyOf,
    draw,
    draw,
    { refused: draw },
  );
}

function draw(): void {
  const rows = view?.rows() ?? new Map<string, Row>();
  const step = SECONDS[width];
  const newest = Math.max(Math.ceil(Date.now() / 1000 / step) * step, ...[...rows.values()].map((r) => r.timestamp));
  const ends = Array.from({ length: BUCKETS[width] }, (_, i) => newest - (BUCKETS[width] - 1 - i) * step);
  const first = ends[0] ?? newest;
  const inWindow = [...rows.values()].filter((r) => r.timestamp >= first && r.timestamp <= newest);
  for (const [k, r] of rows) if (r.timestamp < first) rows.delete(k);

  const totals = new Map<string, number>();
  for (const r of inWindow)
    totals.set(String(r['category']), (totals.get(String(r['category'])) ?? 0) + Number(r['volume']));
  const busiest = [...totals].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1)).map(([c]) => c);
  // Layers are keyed by position, never by name: a category is whatever the publisher put in the
  // topic, so one called "other", "end" or "__proto__" would collide with the page's own keys.
  const rest = busiest.length > SHOWN + 1;
  const categories = rest ? busiest.slice(0, SHOWN) : busiest;
  const layerKeys = [...categories, ...(rest ? [OTHER] : [])].map((_, i) => `layer${i}`);
  const slot = new Map(categories.map((c, i) => [c, `layer${i}`]));
  const table = ends.map((end) => {
    const row: Record<string, number> = { end };
    for (const k of layerKeys) row[k] = 0;
    return row;
  });
  const index = new Map(ends.map((e, i) => [e, i]));
  for (const r of inWindow) {
    const row = table[index.get(r.timestamp) ?? -1];
    if (!row) continue;
    const k = slot.get(String(r['category'])) ?? `layer${categories.length}`;
    row[k] = (row[k] ?? 0) + Number(r['volume']);
  }
  const nameOf = (k: string): string => categories[Number(k.slice(5))] ?? OTHER;
  const isRest = (k: string): boolean => Number(k.slice(5)) >= categories.length;
  const total = inWindow.reduce((a, r) => a + Number(r['volume']), 0);
  const summary = document.getElementById('summary');
  // What keeps the chart from being /api's (a failed read, a refused live view) is said here, in its place.
  const problem = view?.problem() ?? null;
  if (summary) {
    const counted = `${total} messages in ${totals.size === 0 ? 'no category' : `${totals.size} categories`} over the last ${BUCKETS[width]} × ${width}`;
    summary.textContent = problem === null ? counted : `${problem} (${counted} shown)`;
    summary.className = problem === null ? 'muted' : 'error';
  }
  if (problem === null) delete document.body.dataset['problem'];
  else document.body.dataset['problem'] = problem;
  document.body.dataset['total'] = String(total);
  document.body.dataset['interval'] = width;

  const box = document.getElementById('chart') as HTMLElement;
  const W = Math.max(320, box.clientWidth);
  const H = 420;
  const m = { top: 10, right: 10, bottom: 28, left: 44 };
  const x = scaleBand<number>()
    .domain(ends)
    .range([m.left, W - m.right])
    .padding(0.15);
  const layers = stack<Record<string, number>>().keys(layerKeys)(table);
  const y = scaleLinear()
    .domain([0, Math.max(1, max(table, (d) => layerKeys.reduce((a, k) => a + (d[k] ?? 0), 0)) ?? 1)])
    .nice()
    .range([H - m.bottom, m.top]);
  const color = scaleOrdinal<string, string>()
    .domain(layerKeys)
    .range([...schemeTableau10]);

  const svg = select(box)
    .selectAll<SVGSVGElement, null>('svg')
    .data([null])
    .join('svg')
    .attr('viewBox', `0 0 ${W} ${H}`)
    .attr('role', 'img')
    .attr('aria-label', 'messages per category over time');
  svg.selectAll('*').remove();
  const every = Math.ceil(ends.length / Math.max(2, Math.floor((W - m.left) / 70)));
  svg
    .append('g')
    .attr('class', 'axis')
    .attr('transform', `translate(0,${H - m.bottom})`)
    .call(
      axisBottom(x)
        .tickValues(ends.filter((_, i) => i % every === 0))
        .tickFormat((e) => label(e, width)),
    );
  svg
    .append('g')
    .attr('class', 'axis')
    .attr('transform', `translate(${m.left},0)`)
    .call(axisLeft(y).ticks(6).tickFormat(countLabel));
  svg
    .append('g')
    .selectAll('g')
    .data(layers)
    .join('g')
    .attr('fill', (d) => color(d.key))
    .attr('data-category', (d) => (isRest(d.key) ? null : nameOf(d.key)))
    .attr('data-rest', (d) => (isRest(d.key) ? 'true' : null))
    .selectAll('rect')
    .data((d) => d.map((p) => ({ p, key: d.key })))
    .join('rect')
    .filter(({ p }) => p[1] > p[0])
    .attr('x', ({ p }) => x(p.data['end'] ?? 0) ?? 0)
    .attr('width', x.bandwidth())
    .attr('y', ({ p }) => y(p[1]))
    .attr('height', ({ p }) => y(p[0]) - y(p[1]))
    .attr('data-end', ({ p }) => p.data['end'] ?? 0)
    .attr('data-volume', ({ p }) => p[1] - p[0])
    .append('title')
    .text(({ p, key }) => `${nameOf(key)}: ${p[1] - p[0]} messages, ${period(p.data['end'] ?? 0, width)}`);

  const legend = document.getElementById('legend') as HTMLElement;
  legend.textContent = '';
  for (const k of layerKeys) {
    const item = el('span');
    const swatch = el('i');
    swatch.style.background = color(k);
    if (isRest(k)) {
      item.dataset['rest'] = 'true';
      const others = busiest.slice(SHOWN);
      item.append(swatch, `${OTHER} ${others.length} more (${others.reduce((a, c) => a + (totals.get(c) ?? 0), 0)})`);
    } else {
      const c = nameOf(k);
      item.dataset['category'] = c;
      item.append(swatch, `${c} (${totals.get(c) ?? 0})`);
    }
    legend.append(item);
  }
}

const source = document.getElementById('source');
if (source) source.textContent = apiBase();
for (const b of document.querySelectorAll<HTMLButtonElement>('.switch button')) {
  b.addEventListener('click', () => show(b.dataset['interval'] as Width));
}
window.addEventListener('resize', () => draw());
show('1m');
