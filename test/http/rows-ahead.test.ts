import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { eventually } from '../helpers/service-process.js';
import { allRows, serve, type Served } from './harness.js';

/**
 * A message may be dated up to --max-clock-skew (300 s) ahead of the clock, and some plugins
 * stamp every row with their newest message time (top-users, top-packages, messages-last-24h).
 * The default view must reach as far as the intake lets a message be dated, or one message a
 * minute ahead hides all of their rows until the clock catches up.
 */
describe('rows stamped ahead of the clock, within the clock skew', () => {
  let s: Served;
  beforeAll(async () => {
    s = await serve(builtinPlugins());
  });
  afterAll(async () => s?.close());

  it('stay in the default view of every plugin', async () => {
    const now = Math.floor(Date.now() / 1000);
    const koji = (i: number, timestamp: number) => ({
      topic: 'org.fedoraproject.prod.buildsys.build.state.change',
      timestamp,
      msg_id: `ahead-${i}`,
      msg: { owner: `user${i}`, name: `pkg${i}`, version: '1', release: '1', new: 1, instance: 'primary' },
    });
    await s.publish([koji(0, now - 30), koji(1, now - 20), koji(2, now + 120)]);
    await eventually(
      async () => ((await allRows(s.base, 'volume-by-category-1d')).length > 0 ? true : undefined),
      10_000,
      'messages applied',
    );
    const total = await eventually(
      async () => {
        const rows = await allRows<{ volume: number }>(s.base, 'messages-last-24h');
        return rows[0]?.volume === 3 ? rows : undefined;
      },
      10_000,
      'messages-last-24h counting all three',
    );
    expect(total).toHaveLength(1);
    const users = await allRows<{ user: string }>(s.base, 'top-users');
    expect(users.map((r) => r.user).sort()).toEqual(['user0', 'user1', 'user2']);
    const latest = await allRows<{ category: string; timestamp: number }>(s.base, 'latest-event-per-category');
    expect(latest).toEqual([expect.objectContaining({ category: 'buildsys', timestamp: now + 120 })]);
  });
});
