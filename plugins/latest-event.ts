import { definePlugin, rowsOf, type PluginDefinition, type PluginMessage } from '../actors/plugin-api.js';
import type { RowStore } from '../actors/row-store.js';
import { compareText, oneKey } from './fields.js';
import { withRetention } from './retention.js';

export interface LatestEventRow {
  /** The message's own timestamp. */
  readonly timestamp: number;
  readonly topic: string;
  readonly category: string;
  readonly msg_id: string | null;
  /** The user who caused the event, when the message meta knows one. */
  readonly agent: string | null;
  readonly link: string | null;
  /** One line of human text; left out when the meta has none. */
  readonly subtitle?: string;
}

/**
 * The row, as one of two literals of fixed shape (subtitle last or absent: JSON.stringify of a row,
 * which breaks timestamp ties, sees the same order). Spreading `{ subtitle }` in made an object
 * only to copy it, and built every row on V8's slow path for object spread.
 */
function rowOf(message: PluginMessage): LatestEventRow {
  const { agent, link, subtitle } = message.meta;
  const { timestamp, topic, category, msgId } = message;
  if (subtitle === null) return { timestamp, topic, category, msg_id: msgId, agent, link };
  return { timestamp, topic, category, msg_id: msgId, agent, link, subtitle };
}

/**
 * Rows kept: topics and categories are the publisher's choice, and a row holds up to ~9 KB (a
 * 4096-unit subtitle, a link), so a flood of made-up topics would otherwise grow the state to
 * the runtime's million-key cap (~8 GiB) and then refuse every new real topic for the
 * retention's ten years. Fedora publishes a few thousand topics; past the bound the row seen
 * longest ago gives way (it comes back with its topic's next message).
 */
export const MAX_LATEST_ROWS = 20_000;

/**
 * Keeps the newest message per key. Of two with an equal timestamp, the one whose row is greater
 * as JSON text, whichever came first: the later arrival won, so a replica that got them in
 * another order (one live, one from a backfill) kept the other row, and the replicas' views
 * and digests differed for good.
 */
function keepNewest(rows: RowStore<LatestEventRow>, key: string, message: PluginMessage): void {
  const previous = rows.get(key);
  if (previous !== undefined && message.timestamp < previous.timestamp) return;
  const row = rowOf(message);
  if (previous !== undefined && message.timestamp === previous.timestamp && !laterInText(row, previous)) return;
  if (previous === undefined && rows.size >= MAX_LATEST_ROWS)
    for (const oldest of rows.scan({ order: 'asc' })) {
      rows.delete(rows.keyOf(oldest as unknown as Readonly<Record<string, unknown>>));
      break;
    }
  rows.set(key, row);
}

/** The order of equal-timestamp rows: their JSON text (only ever computed for such a tie). */
const laterInText = (row: LatestEventRow, previous: LatestEventRow): boolean =>
  JSON.stringify(row) > JSON.stringify(previous);

const COLUMNS = ['topic', 'category', 'msg_id', 'agent', 'link', 'subtitle'];

const canonical = (a: LatestEventRow, b: LatestEventRow) => compareText(a.topic, b.topic);

/** What happened last on each topic: the "is it still alive?" view dashboards wanted. */
export function latestEventPerTopic(retention?: string): PluginDefinition<LatestEventRow> {
  return definePlugin({
    name: 'Latest event per topic',
    ...withRetention(retention),
    summary: 'The newest message of every topic',
    description:
      'One row per topic: the newest message seen on it, with its category, msg_id, and the agent, link and subtitle of its message ' +
      'meta. A topic quiet for longer than the retention behind the newest message is dropped.',
    rows: rowsOf<LatestEventRow>(),
    columns: COLUMNS,
    key: ['topic'],
    params: {
      category: {
        type: 'string',
        maxLength: 100,
        description: 'only topics of this category (the 4th topic token, e.g. buildsys)',
      },
      prefix: {
        type: 'string',
        maxLength: 255,
        description: 'only topics starting with this prefix (e.g. org.fedoraproject.prod.bodhi.)',
      },
    },
    update(message, { rows }) {
      keepNewest(rows, oneKey(message.topic), message);
    },
    // Unfiltered, the view is every row (ties by topic): served from the row store, never built here.
    viewIsRows: (params) => params.category === undefined && params.prefix === undefined,
    view({ rows }, params) {
      const out: LatestEventRow[] = [];
      for (const row of rows.values()) {
        if (params.category !== undefined && row.category !== params.category) continue;
        if (params.prefix !== undefined && !row.topic.startsWith(params.prefix)) continue;
        out.push(row);
      }
      return out.sort(canonical);
    },
  });
}

/** What happened last in each category (buildsys, bodhi, …). */
export function latestEventPerCategory(retention?: string): PluginDefinition<LatestEventRow> {
  return definePlugin({
    name: 'Latest event per category',
    ...withRetention(retention),
    summary: 'The newest message of every category',
    description:
      'One row per category (the 4th topic token): the newest message seen in it, with its topic, msg_id, and the agent, link and ' +
      'subtitle of its message meta.',
    rows: rowsOf<LatestEventRow>(),
    columns: COLUMNS,
    key: ['category'],
    params: {
      category: { type: 'string', maxLength: 100, description: 'only this category' },
    },
    update(message, { rows }) {
      keepNewest(rows, oneKey(message.category), message);
    },
    // Unfiltered, the view is every row (ties by category): served from the row store, never built here.
    viewIsRows: (params) => params.category === undefined,
    view({ rows }, params) {
      if (params.category !== undefined) {
        const row = rows.get(oneKey(params.category));
        return row === undefined ? [] : [row];
      }
      return [...rows.values()].sort((a, b) => compareText(a.category, b.category));
    },
  });
}
