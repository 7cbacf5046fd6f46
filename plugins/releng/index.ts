import { definePlugin, rowsOf, store, type PluginDefinition, type StoredState } from '../../actors/plugin-api.js';
import { compareText, joinKey } from '../fields.js';
import { amisSource } from './amis.js';
import { artifactsSource } from './artifacts.js';
import { composeSource } from './compose.js';
import { boundedEvent, type ReleaseSource } from './event.js';
import { LAYOUT_CATEGORIES, RELEASE_LAYOUT } from './layout.js';
import { updatesSource } from './updates.js';
import { withRetention } from '../retention.js';

export interface ReleaseEngineeringRow {
  readonly timestamp: number;
  readonly category: string;
  readonly category_constraint: string;
  /** JSON text of a ReleaseMessage, as the dashboard expects. */
  readonly message: string;
}

const SOURCES: readonly ReleaseSource[] = [composeSource, updatesSource, amisSource, artifactsSource];

/** The dashboard shows 8 entries per component and reads a single 100-row JSON-P page. */
const DASHBOARD_PER_COMPONENT = 8;
/**
 * Entries kept per category. Compose steps and repositories are a small fixed set, but AMI
 * image names carry a date, so without a cap the AMI categories would grow for ever; the
 * oldest entry of a full category makes room. A cap rather than a time retention keeps a
 * compose component that has been quiet for a long time on the dashboard.
 */
export const MAX_PER_CATEGORY = 256;
/**
 * Categories kept. An arch is the publisher's word (any plain token), so a flood of made-up
 * arches made a category each, for good: up to the runtime's million-key cap, where the oldest
 * rows, the quiet compose entries the dashboard shows, gave way, and every read of the view
 * walked them all. Fedora has a few dozen categories; past the bound, the category whose newest
 * event is oldest gives way, never one the layout shows.
 */
export const MAX_CATEGORIES = 256;

/**
 * Newest event per (category, constraint) from composes, bodhi repository syncs, AMI
 * uploads and masher image builds, with the dashboard layout at `/layout`.
 *
 * The default view holds only what the dashboard can show (the newest 8 per layout
 * component), because its one JSON-P call gets the 100 newest rows and a burst of AMI
 * uploads must not push the compose entries out of that page. `scope=all` and
 * `per_category` give every stored row.
 */
/** constraints: each category's constraints; newest: each category's newest event time (which category gives way). */
const stores = { constraints: store<readonly string[]>(), newest: store<number>() };

/** Version 1 kept no `newest`: it is each category's newest row. */
function migrate(stored: StoredState): StoredState {
  const newest = new Map<string, unknown>();
  for (const value of stored.rows.values()) {
    const row = value as ReleaseEngineeringRow;
    const known = newest.get(row.category) as number | undefined;
    if (known === undefined || row.timestamp > known) newest.set(row.category, row.timestamp);
  }
  return { rows: stored.rows, stores: { ...stored.stores, newest } };
}

export function releaseEngineering(retention?: string): PluginDefinition<ReleaseEngineeringRow, typeof stores> {
  return definePlugin({
    name: 'Release engineering event logs',
    version: 2,
    ...withRetention(retention),
    summary: 'Newest release-engineering events per dashboard component',
    description:
      'Keeps, per (category, category_constraint), only the newest event of four sources: rawhide/branched composes and their ' +
      'mash, pungify and rsync steps (compose-<branch>_<arch>), bodhi repository syncs (updates-<fedora|epel>), completed AMI ' +
      'uploads and tests (ami-<rawhide|branched>), and masher appliance/live-CD tasks (artifact-<method>_<arch>). `message` is a ' +
      'JSON string {name, status, link?, extra_text?, extra_link?}; `category` is a component id of the layout.',
    topics: [
      'org.fedoraproject.prod.compose.',
      'org.fedoraproject.prod.bodhi.updates.',
      'org.fedoraproject.prod.fedimg.image.',
      'org.fedoraproject.prod.buildsys.task.',
    ],
    rows: rowsOf<ReleaseEngineeringRow>(),
    columns: ['category', 'category_constraint', 'message'],
    key: ['category', 'category_constraint'],
    layout: RELEASE_LAYOUT,
    stores,
    params: {
      scope: {
        type: 'string',
        enum: ['layout', 'all'],
        description:
          'layout (default): only categories that are components of the layout; all: every category, including ones the layout does not show',
      },
      per_category: {
        type: 'integer',
        min: 1,
        max: 10_000,
        description: `newest rows kept per category (default ${DASHBOARD_PER_COMPONENT} with scope=layout, unlimited with scope=all)`,
      },
    },
    update(message, { rows, stores: s }) {
      let event = null;
      for (const source of SOURCES) {
        event = source(message);
        if (event) break;
      }
      if (!event) return;
      event = boundedEvent(event);
      const key = joinKey(event.category, event.constraint);
      const previous = rows.get(key);
      // Older: a replayed or late message must not replace what is newer. Of two with an equal
      // timestamp, the greater event text, whichever came first: the earlier arrival won, so
      // replicas that got them in another order (live, backfill) kept different rows for good.
      if (previous !== undefined && message.timestamp < previous.timestamp) return;
      const text = JSON.stringify(event.message);
      if (previous !== undefined && message.timestamp === previous.timestamp && text <= previous.message) return;
      if (previous === undefined) {
        const known = s.constraints.get(event.category);
        // A new category past the bound: the non-layout one whose newest event is oldest goes, rows and all (O(categories)).
        if (known === undefined && s.constraints.size >= MAX_CATEGORIES) {
          const victim = staleCategory(s.newest.entries());
          if (victim !== undefined) {
            for (const c of s.constraints.get(victim) ?? []) rows.delete(joinKey(victim, c));
            s.constraints.delete(victim);
            s.newest.delete(victim);
          }
        }
        // A new entry: record it in its category, evicting that category's oldest when full (O(cap), cap constant).
        let list = known ?? [];
        if (list.length >= MAX_PER_CATEGORY) {
          const oldest = oldestOf(list, (c) => rows.get(joinKey(event.category, c))?.timestamp ?? -Infinity);
          rows.delete(joinKey(event.category, oldest));
          list = list.filter((c) => c !== oldest);
        }
        s.constraints.set(event.category, [...list, event.constraint]);
      }
      const newest = s.newest.get(event.category);
      if (newest === undefined || message.timestamp > newest) s.newest.set(event.category, message.timestamp);
      rows.set(key, {
        timestamp: message.timestamp,
        category: event.category,
        category_constraint: event.constraint,
        message: text,
      });
    },
    view({ rows }, params) {
      const all = params.scope === 'all';
      const limit = params.per_category ?? (all ? Infinity : DASHBOARD_PER_COMPONENT);
      const byCategory = new Map<string, ReleaseEngineeringRow[]>();
      for (const row of rows.values()) {
        if (!all && !LAYOUT_CATEGORIES.has(row.category)) continue;
        const list = byCategory.get(row.category);
        if (list) list.push(row);
        else byCategory.set(row.category, [row]);
      }
      const out: ReleaseEngineeringRow[] = [];
      for (const list of byCategory.values()) {
        if (list.length > limit)
          list.sort((a, b) => b.timestamp - a.timestamp || (a.category_constraint < b.category_constraint ? -1 : 1));
        out.push(...list.slice(0, limit));
      }
      // A canonical order, so rows with equal timestamps page alike before and after a restore.
      return out.sort(
        (a, b) => compareText(a.category, b.category) || compareText(a.category_constraint, b.category_constraint),
      );
    },
    migrate,
  });
}

/** The category the layout does not show whose newest event is oldest (ties: the first by name), if any. */
function staleCategory(newest: Iterable<[string, number]>): string | undefined {
  let best: string | undefined;
  let bestTime = Infinity;
  for (const [category, time] of newest) {
    if (LAYOUT_CATEGORIES.has(category)) continue;
    if (time < bestTime || (time === bestTime && best !== undefined && category < best)) {
      best = category;
      bestTime = time;
    }
  }
  return best;
}

function oldestOf(list: readonly string[], timeOf: (c: string) => number): string {
  let best = list[0] as string;
  let bestTime = timeOf(best);
  for (const c of list) {
    const t = timeOf(c);
    if (t < bestTime || (t === bestTime && c < best)) {
      best = c;
      bestTime = t;
    }
  }
  return best;
}
