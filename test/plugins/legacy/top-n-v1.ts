/** Version 1 of top-users/top-packages, kept verbatim (imports aside) so test/plugins/top-n-migrate.test.ts can write real v1 snapshots. */
import { definePlugin, store, type PluginDefinition, type PluginMessage } from '../../../actors/plugin-api.js';
import {
  addToWindows,
  topOf,
  WINDOWS,
  type SliceEntry,
  type SliceHead,
  type WindowName,
  type WindowStores,
} from './sliding-window-v1.js';

export interface TopUserRow {
  /** Time of the newest message seen: the windows end there. */
  readonly timestamp: number;
  readonly window: WindowName;
  readonly rank: number;
  readonly user: string;
  readonly volume: number;
}
export interface TopPackageRow {
  readonly timestamp: number;
  readonly window: WindowName;
  readonly rank: number;
  readonly package: string;
  readonly volume: number;
}

const DEFAULT_N = 10;
const MAX_N = 100;

type Column = 'user' | 'package';
type RowOf<C extends Column> = {
  readonly timestamp: number;
  readonly window: WindowName;
  readonly rank: number;
  readonly volume: number;
} & { readonly [K in C]: string };

const stores = {
  entries: store<SliceEntry>(),
  slices: store<SliceHead>(),
  hour: store<number>(),
  day: store<number>(),
  week: store<number>(),
  clock: store<number>(),
};

function topN<C extends Column>(
  name: string,
  column: C,
  what: string,
  namesOf: (m: PluginMessage) => readonly string[],
): PluginDefinition<RowOf<C>, typeof stores> {
  return definePlugin<
    RowOf<C>,
    typeof stores,
    {
      window: { type: 'string'; enum: readonly string[]; description: string };
      n: { type: 'integer'; min: number; max: number; description: string };
    }
  >({
    name,
    summary: `The most active ${what}s over the last hour, day or week`,
    description:
      `Ranks ${what}s by the number of messages involving them (message meta \`${column === 'user' ? 'usernames' : 'packages'}\`) over a ` +
      'sliding window that ends at the newest message seen: the last hour (per-minute steps), day or week (per-hour steps). ' +
      'Windows move with message time, not the wall clock, so a replay ranks exactly like live traffic. Rows: rank 1 is the most active.',
    columns: ['window', 'rank', column, 'volume'],
    key: ['window', 'rank'],
    stores,
    params: {
      window: {
        type: 'string',
        enum: WINDOWS,
        description: 'hour, day (default) or week: how far back from the newest message to count',
      },
      n: { type: 'integer', min: 1, max: MAX_N, description: `how many ${what}s to rank (default ${DEFAULT_N})` },
    },
    update(message, { stores: s }) {
      const names = namesOf(message);
      addToWindows(s as WindowStores, message.timestamp, names);
    },
    view({ stores: s }, params) {
      const now = s.clock.get('now');
      if (now === undefined) return [];
      const window = (params.window ?? 'day') as WindowName;
      return topOf(s[window], params.n ?? DEFAULT_N).map(
        (r) => ({ timestamp: now, window, rank: r.rank, volume: r.volume, [column]: r.name }) as RowOf<C>,
      );
    },
  });
}

export const topUsers = (): PluginDefinition<TopUserRow, typeof stores> =>
  topN('Top users', 'user', 'user', (m) => m.meta.usernames);
export const topPackages = (): PluginDefinition<TopPackageRow, typeof stores> =>
  topN('Top packages', 'package', 'package', (m) => m.meta.packages);
