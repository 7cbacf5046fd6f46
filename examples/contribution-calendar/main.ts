/**
 * A GitHub-style calendar of one user's messages per UTC day over the last year
 * (contribution-calendar-1d, `user=`), the user picked from a search box fed by top-users.
 * The year is read over HTTP (every page); one live view of the newest days keeps it current.
 */
import { max, scaleThreshold, select } from 'd3';
import { type CountsView, countsView } from '../web-shared/counts-view.js';
import { Live } from '../web-shared/live.js';
import { allRows, apiBase, getJson, statusBadge, type Row } from '../web-shared/statscache.js';

const IDENT = 'contribution-calendar-1d';
const DAY = 86_400;
const DAYS = 371; // 53 full weeks
const CELL = 13;
const GAP = 3;
const COLORS = ['#ebedf0', '#9be9a8', '#40c463', '#30a14e', '#216e39'];
const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];

const live = new Live(statusBadge());
let view: CountsView | null = null;
let user = '';

const dateOf = (t: number) => new Date(t * 1000).toISOString().slice(0, 10);
const keyOf = (r: Row) => String(r['date']);

function show(name: string): void {
  user = name;
  const url = new URL(location.href);
  url.searchParams.set('user', name);
  history.replaceState(null, '', url);
  (document.getElementById('user') as HTMLInputElement).value = name;
  (document.getElementById('title') as HTMLElement).textContent = name;
  view?.close();
  view = countsView(
    live,
    IDENT,
    { user: name, rows_per_page: 100 },
    () => allRows(IDENT, { user: name, days: DAYS }),
    keyOf,
    draw,
    draw,
    { refused: draw },
  );
}

function draw(): void {
  const days = view?.rows() ?? new Map<string, Row>();
  // Columns are weeks starting on Sunday (UTC); the last column holds today.
  const today = Math.floor(Date.now() / 1000 / DAY) * DAY;
  const weekday = new Date(today * 1000).getUTCDay();
  const start = today - (DAYS - 7 + weekday) * DAY;
  const cells: { date: string; t: number; count: number }[] = [];
  for (let t = start; t <= today; t += DAY)
    cells.push({ date: dateOf(t), t, count: Number(days.get(dateOf(t))?.['volume'] ?? 0) });
  const top = max(cells, (c) => c.count) ?? 0;
  // Four steps of the busiest day, so one user's quiet and busy days both show.
  const color = scaleThreshold<number, string>()
    .domain([1, Math.max(2, top * 0.25), Math.max(3, top * 0.5), Math.max(4, top * 0.75)])
    .range(COLORS);

  const left = 30;
  const topPad = 18;
  const weeks = Math.ceil(cells.length / 7);
  // Room on the right for a month label on the last column.
  const W = left + weeks * (CELL + GAP) + 20;
  const H = topPad + 7 * (CELL + GAP) + 24;
  const svg = select('#calendar')
    .selectAll<SVGSVGElement, null>('svg')
    .data([null])
    .join('svg')
    .attr('viewBox', `0 0 ${W} ${H}`)
    .attr('width', W)
    .attr('height', H)
    .attr('role', 'img')
    .attr('aria-label', `${user}'s messages per day`);
  svg.selectAll('*').remove();
  const col = (t: number) => Math.floor((t - start) / DAY / 7);
  const row = (t: number) => new Date(t * 1000).getUTCDay();
  svg
    .append('g')
    .selectAll('rect')
    .data(cells)
    .join('rect')
    .attr('class', 'day')
    .attr('x', (c) => left + col(c.t) * (CELL + GAP))
    .attr('y', (c) => topPad + row(c.t) * (CELL + GAP))
    .attr('width', CELL)
    .attr('height', CELL)
    .attr('rx', 2)
    .attr('fill', (c) => color(c.count))
    .attr('data-date', (c) => c.date)
    .attr('data-count', (c) => c.count)
    .append('title')
    .text((c) => `${c.count === 0 ? 'No' : c.count} message${c.count === 1 ? '' : 's'} on ${c.date}`);
  const months = cells.filter((c) => new Date(c.t * 1000).getUTCDate() === 1);
  svg
    .append('g')
    .selectAll('text')
    .data(months)
    .join('text')
    .attr('x', (c) => left + col(c.t) * (CELL + GAP))
    .attr('y', topPad - 6)
    .text((c) => MONTHS[new Date(c.t * 1000).getUTCMonth()] ?? '');
  svg
    .append('g')
    .selectAll('text')
    .data([1, 3, 5])
    .join('text')
    .attr('x', 0)
    .attr('y', (d) => topPad + d * (CELL + GAP) + CELL - 2)
    .text((d) => ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'][d] ?? '');
  const legend = svg.append('g').attr('transform', `translate(${W - 20 - 5 * (CELL + GAP) - 60},${H - 16})`);
  legend.append('text').attr('x', 0).attr('y', 10).text('Less');
  legend
    .selectAll('rect')
    .data(COLORS)
    .join('rect')
    .attr('x', (_, i) => 28 + i * (CELL + GAP))
    .attr('width', CELL)
    .attr('height', CELL)
    .attr('rx', 2)
    .attr('fill', (c) => c);
  legend
    .append('text')
    .attr('x', 30 + 5 * (CELL + GAP))
    .attr('y', 10)
    .text('More');

  const total = cells.reduce((a, c) => a + c.count, 0);
  const active = cells.filter((c) => c.count > 0).length;
  const summary = document.getElementById('summary') as HTMLElement;
  // What keeps the calendar from being /api's (a failed read, a refused live view) is said here, in its place.
  const problem = view?.problem() ?? null;
  const counted = `${total} messages on ${active} day${active === 1 ? '' : 's'} in the last year; busiest day: ${top}.`;
  summary.textContent = problem === null ? counted : `${problem} (${counted})`;
  summary.className = problem === null ? 'muted' : 'error';
  if (problem === null) delete document.body.dataset['problem'];
  else document.body.dataset['problem'] = problem;
  document.body.dataset['total'] = String(total);
  document.body.dataset['user'] = user;
}

async function main(): Promise<void> {
  (document.getElementById('source') as HTMLElement).textContent = apiBase();
  const top = await getJson<{ user: string; volume: number }[]>('/api/top-users?window=week&n=100');
  const list = document.getElementById('users') as HTMLDataListElement;
  for (const t of top) {
    const option = document.createElement('option');
    option.value = t.user;
    option.label = `${t.volume} messages this week`;
    list.append(option);
  }
  (document.getElementById('top') as HTMLElement).textContent =
    top.length === 0 ? 'no active users yet' : `${top.length} most active users this week in the list`;
  document.getElementById('pick')?.addEventListener('submit', (event) => {
    event.preventDefault();
    const name = (document.getElementById('user') as HTMLInputElement).value.trim();
    if (name !== '') show(name);
  });
  const asked = new URLSearchParams(location.search).get('user');
  const first = asked ?? top[0]?.user;
  if (first) show(first);
  else
    (document.getElementById('title') as HTMLElement).textContent = 'No user yet: pick one above once messages arrive.';
}

function fail(err: Error): void {
  const summary = document.getElementById('summary') as HTMLElement;
  summary.textContent = `Could not read the calendar: ${err.message}`;
  summary.className = 'error';
}
main().catch(fail);
