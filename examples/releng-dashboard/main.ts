/**
 * A release-engineering dashboard in the spirit of Fedora's: the groups and components come
 * from the plugin's layout (GET /api/release-engineering-event-logs/layout); the events from one
 * live subscription to the same plugin. Nothing else is read.
 */
import { Live, type Refusal, type Subscription } from '../web-shared/live.js';
import { ago, apiBase, el, getJson, safeHref, statusBadge, type Row } from '../web-shared/statscache.js';

const IDENT = 'release-engineering-event-logs';
const PER_COMPONENT = 8;

interface Component {
  id: string;
  name: string;
  show_status?: boolean;
  show_time_at?: boolean;
  link_for?: 'name' | 'message';
}
interface Group {
  id: string;
  name?: string;
  components: Component[];
}
interface Layout {
  groups: Group[];
  default_options: {
    show_time_at?: boolean;
    show_status?: boolean;
    status_verb_map?: Record<string, string>;
    status_class_map?: Record<string, string>;
    old_log_threshold?: { key: string; value: number };
  };
}
/** As published: any field may be missing or of any type. */
interface ReleaseMessage {
  name?: unknown;
  status?: unknown;
  link?: unknown;
  extra_text?: unknown;
  extra_link?: unknown;
}

const UNIT_SECONDS: Record<string, number> = { seconds: 1, minutes: 60, hours: 3600, days: 86_400, weeks: 604_800 };

/** A field of a published message as text: anything else (a number, an object) is not shown. */
const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);

/**
 * A layout map's own entry: a status is published text, and `constructor` or `__proto__` must
 * not reach Object.prototype (a function there stopped every later component's render).
 */
const entry = (map: Record<string, string> | undefined, key: string): string | undefined => {
  const value = map !== undefined && Object.hasOwn(map, key) ? map[key] : undefined;
  return typeof value === 'string' ? value : undefined;
};

function parseMessage(row: Row): ReleaseMessage {
  try {
    const m = JSON.parse(String(row['message'])) as unknown;
    return typeof m === 'object' && m !== null ? (m as ReleaseMessage) : {};
  } catch {
    return {};
  }
}

function main(layout: Layout): void {
  const root = document.getElementById('groups') as HTMLElement;
  document.getElementById('loading')?.remove();
  const opts = layout.default_options;
  const threshold = opts.old_log_threshold
    ? opts.old_log_threshold.value * (UNIT_SECONDS[opts.old_log_threshold.key] ?? 3600)
    : Infinity;
  const lists = new Map<string, { component: Component; list: HTMLOListElement }>();
  for (const group of layout.groups) {
    const section = el('section', undefined, 'group');
    section.dataset['group'] = group.id;
    section.append(el('h2', group.name ?? group.id.replace(/^./, (c) => c.toUpperCase())));
    const grid = el('div', undefined, 'components');
    for (const component of group.components) {
      const box = el('article', undefined, 'panel component');
      box.dataset['component'] = component.id;
      box.append(el('h3', component.name));
      const list = el('ol', undefined, 'events');
      box.append(list);
      grid.append(box);
      lists.set(component.id, { component, list });
    }
    section.append(grid);
    root.append(section);
  }

  const render = (sub: Subscription, changed: ReadonlySet<string>) => {
    const now = Date.now() / 1000;
    const byComponent = new Map<string, [string, Row][]>();
    for (const entry of sub.rows) {
      const list = byComponent.get(String(entry[1]['category']));
      if (list) list.push(entry);
      else byComponent.set(String(entry[1]['category']), [entry]);
    }
    for (const [id, { component, list }] of lists) {
      const rows = (byComponent.get(id) ?? []).sort((a, b) => b[1].timestamp - a[1].timestamp).slice(0, PER_COMPONENT);
      list.textContent = '';
      if (rows.length === 0) list.append(el('li', 'no events yet', 'muted empty'));
      for (const [key, row] of rows) list.append(eventItem(component, row, now, threshold, changed.has(key), opts));
    }
    document.body.dataset['seq'] = String(sub.seq);
  };

  const live = new Live(statusBadge());
  // A refused live view is said above the groups: their events are then not kept current.
  const problem = el('p', undefined, 'error');
  problem.id = 'problem';
  const refused = (r: Refusal | null) => {
    if (r === null) {
      problem.remove();
      delete document.body.dataset['problem'];
      return;
    }
    problem.textContent = r.retrying
      ? `The live events are refused for now (${r.code}) and asked for again; what is shown may be behind.`
      : `The live events are refused (${r.code}): ${r.detail}`;
    document.body.dataset['problem'] = r.code;
    root.prepend(problem);
  };
  const sub = live.subscribe(IDENT, { rows_per_page: 100 }, (changed) => render(sub, changed), refused);
  // Relative times and greying move with the clock, not only with new events.
  setInterval(() => render(sub, new Set()), 30_000);
}

function eventItem(
  component: Component,
  row: Row,
  now: number,
  threshold: number,
  fresh: boolean,
  opts: Layout['default_options'],
): HTMLLIElement {
  const m = parseMessage(row);
  const li = el('li', undefined, `event${now - row.timestamp > threshold ? ' old' : ''}${fresh ? ' flash' : ''}`);
  li.dataset['constraint'] = String(row['category_constraint'] ?? '');
  const link = safeHref(m.link);
  const name = text(m.name) ?? String(row['category_constraint'] ?? '');
  const nameEl =
    link && component.link_for === 'name'
      ? Object.assign(el('a', name, 'name'), { href: link })
      : el('span', name, 'name');
  li.append(nameEl);
  const state = text(m.status);
  if ((component.show_status ?? opts.show_status ?? true) && state) {
    const verb = entry(opts.status_verb_map, state) ?? state;
    const status =
      link && component.link_for !== 'name' ? Object.assign(el('a', verb), { href: link }) : el('span', verb);
    status.className = `state ${(entry(opts.status_class_map, state) ?? '').replace(/^text-/, '')}`;
    li.append(' ', status);
  }
  const extraText = text(m.extra_text);
  if (extraText) {
    const extra = safeHref(m.extra_link);
    li.append(
      ' ',
      extra ? Object.assign(el('a', extraText, 'extra'), { href: extra }) : el('span', extraText, 'extra'),
    );
  }
  const iso = new Date(row.timestamp * 1000).toISOString();
  const at = (component.show_time_at ?? opts.show_time_at ?? true) ? ` · ${iso.slice(11, 16)}` : '';
  const when = el('time', ago(row.timestamp, now) + at, 'when');
  when.dateTime = iso;
  when.title = iso;
  li.append(when);
  return li;
}

const source = document.getElementById('source');
if (source) source.textContent = apiBase();
getJson<Layout>(`/api/${IDENT}/layout`).then(main, (err: Error) => {
  const loading = document.getElementById('loading');
  if (loading) {
    loading.textContent = `Could not load the layout: ${err.message}`;
    loading.className = 'error';
  }
});
