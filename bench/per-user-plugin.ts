import { definePlugin, rowsOf, store } from '../actors/plugin-api.js';

/**
 * The snapshot and restore benches' plugin (snapshot-healthz.ts, restore-stages.ts): one row and
 * one store entry per user, so 2 × KEYS tracked keys. One definition for both: its name is its
 * ident, and restore-stages.ts restores data dirs the other's state was built with.
 */
export type PerUserRow = { timestamp: number; user: string; n: number };

export const perUser = definePlugin({
  name: 'Per user bench',
  summary: 's',
  description: 'd',
  rows: rowsOf<PerUserRow>(),
  columns: ['user', 'n'],
  key: ['user'],
  stores: { totals: store<number>() },
  update(m, { rows, stores }) {
    const user = (m.body as { user?: unknown }).user;
    if (typeof user !== 'string') return;
    rows.put({ timestamp: m.timestamp, user, n: (rows.get(rows.keyOf({ user }))?.n ?? 0) + 1 });
    stores.totals.update(user, (n) => (n ?? 0) + 1);
  },
});

/**
 * Gives `service` one message per user `from`..`to` - 1 (ids unique per `round`), over 3000
 * timestamps from `now`, letting the event loop turn every 5000; resolves once all are applied.
 */
export async function feedUsers(
  service: { accept(envelope: never): unknown; settled(): Promise<unknown> },
  now: number,
  from: number,
  to: number,
  round: string,
): Promise<void> {
  for (let i = from; i < to; i++) {
    service.accept({
      topic: 'org.fedoraproject.prod.bench.user',
      timestamp: now + (i % 3000),
      msg_id: `bench-${round}-${i}`,
      msg: { user: `user-${i}` },
    } as never);
    if (i % 5000 === 0) await new Promise((r) => setImmediate(r));
  }
  await service.settled();
}
