// The complete example plugin of the README, kept compiling and tested (test/core/readme-plugin.test.ts).
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';

interface Row {
  readonly timestamp: number; // end of the hour bucket
  readonly owner: string;
  readonly builds: number;
}

export default definePlugin({
  name: 'Builds by owner', // ident: builds-by-owner-1h
  interval: '1h', // buckets aligned on the epoch; ctx.bucket is the bucket's end
  retention: '30d', // rows older than 30 days behind the newest are evicted
  summary: 'Completed koji builds per owner per hour',
  description: 'Counts buildsys.build.state.change messages with new == 1 (COMPLETE), per owner.',
  topics: ['org.fedoraproject.prod.buildsys.build.state.change'],
  version: 1, // bump with a migrate() when key, columns or stores change
  rows: rowsOf<Row>(), // names the row type (TypeScript infers the rest)
  columns: ['owner', 'builds'],
  key: ['timestamp', 'owner'], // what identifies a row: its storage key is derived from these
  params: {
    owner: { type: 'string', description: 'only this owner' },
  },
  stores: { totals: store<number>() }, // an extra keyed container: all-time builds per owner
  update(message, { rows, stores, bucket }) {
    const body = message.body as { owner?: unknown; new?: unknown } | null;
    if (body?.new !== 1 || typeof body.owner !== 'string') return;
    const previous = rows.get(rows.keyOf({ timestamp: bucket, owner: body.owner }));
    rows.put({ timestamp: bucket, owner: body.owner, builds: (previous?.builds ?? 0) + 1 });
    stores.totals.update(body.owner, (n) => (n ?? 0) + 1);
  },
  view({ rows }, params) {
    // optional; the runtime filters by start/stop, orders and pages
    return [...rows.values()].filter((r) => params.owner === undefined || r.owner === params.owner);
  },
  migrate(stored, _fromVersion) {
    // called on restore when the snapshot's version is older
    return stored;
  },
});
