import { definePlugin, type PluginMessage, rowsOf, store, type UpdateContext } from '../../actors/plugin-api.js';

export type PerUserRow = { timestamp: number; user: string; n: number };

const specs = () => ({ totals: store<number>() });

/**
 * One row per user (keyed by `user`) and a number per user in the store `totals`: two
 * containers keyed by username, for the snapshot and restore tests; `update` says what a
 * message does to them.
 */
export function perUserPlugin(
  name: string,
  update: (m: PluginMessage, ctx: UpdateContext<PerUserRow, ReturnType<typeof specs>>) => void,
) {
  return definePlugin({
    name,
    summary: 's',
    description: 'd',
    rows: rowsOf<PerUserRow>(),
    columns: ['user', 'n'],
    key: ['user'],
    stores: specs(),
    update,
  });
}
