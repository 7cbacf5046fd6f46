import type { AnyPluginDefinition } from '../actors/plugin-api.js';
import { contributionCalendar } from './contribution-calendar.js';
import { latestEventPerCategory, latestEventPerTopic } from './latest-event.js';
import { messagesLast24h } from './messages-last-24h.js';
import { pagureContribution, pagureProjectContribution, pagureUserContribution } from './pagure-contributions.js';
import { releaseEngineering } from './releng/index.js';
import { topPackages, topUsers } from './top-n.js';
import { volume } from './volume.js';
import { volumeByCategory } from './volume-by-category.js';
import { volumeByPackage, volumeByTopic, volumeByUser } from './volume-by-key.js';

export { applyRetention } from './retention.js';

/**
 * Retention per bucket width: fine buckets are only interesting recently, coarse ones for
 * years. Rows are evicted relative to the newest row as messages arrive (no timer per bucket).
 *
 * Memory per tracked key, measured by test/plugins/memory.test.ts under `npm run test:soak` (100 000 distinct keys into
 * one plugin, heapUsed delta after forced GC, Node 20, x64), name strings included:
 *   volume-by-user-1m   ~127 B per (bucket, user) row       (rows grouped per bucket, no key string: grouped-rows.ts)
 *   volume-by-topic-1m  ~169 B per (bucket, topic) row
 *   volume-1s           ~104 B per bucket (rows by the timestamp as a number, no key string: number-keyed-rows.ts)
 *   top-users           ~464 B per active user (a slice count per window: hour, day, week; three totals)
 * (measured 2026-12-01; volume-1s 2026-12-05).
 * So volume-by-user-1s keeping 6 h holds at most 21 600 buckets × the users active in each,
 * bounded by traffic over the retention, not by the number of users ever seen.
 */
export const DEFAULT_RETENTION: Readonly<Record<string, string>> = {
  '1s': '6h',
  '5s': '1d',
  '15s': '2d',
  '1m': '7d',
  '1h': '365d',
  '1d': '3650d',
};

/** Latest-event plugins keep a row per topic or category; one quiet this long behind the newest message is dropped. */
export const LATEST_RETENTION = '3650d';

const retention = (interval: string): string | undefined => DEFAULT_RETENTION[interval];

/** The plugins every statscache serves, in the order `/api/` lists them. */
/**
 * The `update` functions of the definitions builtinPlugins() made: what onlyBuiltins() knows them
 * by, as a retention override copies a definition but keeps its functions.
 */
const BUILTIN_UPDATES = new WeakSet<object>();

/**
 * Whether every definition is one of the built-in plugins, which never keep a value a snapshot
 * cannot store or change one in place (every plugin's contract tests check it, with the check
 * on): the service then skips that check on every write, ~7% of the apply path.
 */
export function onlyBuiltins(definitions: readonly unknown[]): boolean {
  return definitions.every((d) => {
    const update: unknown = (d as { update?: unknown } | null)?.update;
    return typeof update === 'function' && BUILTIN_UPDATES.has(update);
  });
}

export function builtinPlugins(): AnyPluginDefinition[] {
  const made = builtinDefinitions();
  for (const d of made) BUILTIN_UPDATES.add(d.update);
  return made;
}

function builtinDefinitions(): AnyPluginDefinition[] {
  return [
    ...['1s', '5s', '1m'].map((i) => volume(i, retention(i))),
    ...['1s', '15s', '1m', '1h', '1d'].map((i) => volumeByCategory(i, retention(i))),
    ...['1s', '5s', '1m'].map((i) => volumeByTopic(i, retention(i))),
    ...['1s', '5s', '1m'].map((i) => volumeByUser(i, retention(i))),
    ...['1s', '5s', '1m'].map((i) => volumeByPackage(i, retention(i))),
    pagureContribution(retention('1d')),
    pagureProjectContribution(retention('1d')),
    pagureUserContribution(retention('1d')),
    releaseEngineering(),
    contributionCalendar(retention('1d')),
    latestEventPerTopic(LATEST_RETENTION),
    latestEventPerCategory(LATEST_RETENTION),
    topUsers(),
    topPackages(),
    messagesLast24h(),
  ];
}
