/**
 * The key budget (--max-keys-total) as an operator meets it, on the real service process: a
 * flood of meetbot messages naming thousands of new users fills every per-user container at
 * once; the operator restarts with a budget below what the data dir holds. The restored state
 * is cut to the budget at start (largest containers first), the health checks say so and name
 * who gives way, and the plugins with few keys go on counting every message.
 */
import { afterAll, describe, expect, it } from 'vitest';
import { joinedPublisher, metricOf, metricsText, sampleOf, waitReady } from '../helpers/probes.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';

type PluginInfo = {
  ident: string;
  counters: {
    applied: number;
    dropped: Record<string, number>;
    max_keys: number;
    keys: number;
    key_cap: number;
    cap_evicted: number;
  };
};

const USERS_PER_MESSAGE = 100;
const MESSAGES = 30;
const BUDGET = 4_000;

const meeting = (i: number, t: number) => ({
  topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
  timestamp: t,
  msg_id: `key-budget-${i}`,
  msg: { attendees: Object.fromEntries(Array.from({ length: USERS_PER_MESSAGE }, (_, u) => [`m${i}-u${u}`, 1])) },
});

const pluginsOf = async (base: string) =>
  ((await getJson(`${base}/plugins`)).body as { plugins: PluginInfo[] }).plugins;

describe('the key budget on the real service', () => {
  const dir = tempDir('statscache-key-budget-');
  let svc: RunningService | undefined;
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('cuts a restored state to a lowered --max-keys-total at start, says so, and the small plugins go on', async () => {
    svc = await startService(['--data-dir', dir.path]);
    const pub = await joinedPublisher(svc);
    // The last three a few minutes after an hour began (the latest such time already past):
    // top-users' day and week windows then hold 2700 names in the old hour's slice and 300 in
    // the new one, and the cut below must hold its cap though those windows give way past it.
    const wall = Math.floor(Date.now() / 1000);
    const afterHour = Math.floor(wall / 3600) * 3600 + 150 + 60;
    const now = afterHour <= wall ? afterHour : afterHour - 3600;
    for (let i = 0; i < MESSAGES; i++) {
      // A minute apart: each message its own bucket, so "oldest first" is the message order.
      const m = meeting(i, now - 60 * (MESSAGES - i));
      await pub.send(m.topic, JSON.stringify(m));
    }
    const names = MESSAGES * USERS_PER_MESSAGE;
    await eventually(
      async () =>
        (await metricOf(svc!.base, 'statscache_plugin_keys', 'plugin="volume-by-user-1m"')) >= names ? true : undefined,
      20_000,
      'the flood to be applied',
    );
    const before = await metricsText(svc.base);
    // Under the default budget nothing is capped: every name is held by each per-user plugin.
    expect(sampleOf(before, 'statscache_keys')).toBeGreaterThan(4 * names);
    expect(sampleOf(before, 'statscache_max_keys_total')).toBe(8_000_000);
    expect(((await getJson(`${svc.base}/readyz`)).body as { degraded?: string }).degraded).toBeUndefined();
    pub.close();
    expect(await svc.stop('SIGTERM')).toBe(0);

    svc = await startService(['--data-dir', dir.path, '--max-keys-total', String(BUDGET)]);
    // HTTP listens before the restored state is replayed and checked against the budget: ready is after.
    await waitReady(svc);
    const text = await metricsText(svc.base);
    expect(sampleOf(text, 'statscache_max_keys_total')).toBe(BUDGET);
    // Cut at start, oldest rows first, and counted. Read until the cap shows, at most 10 s; the
    // last answer is kept for the message. This read key_cap 1,000,000 in CI runs that fell a few
    // minutes after the hour: top-users' day and week windows then gave way by whole slices to
    // 300 names each, the cut left 3302 keys (under 90% of the budget), and the next check lifted
    // the cap it had just set (fixed in key-budget.ts; test/actors/key-budget.test.ts).
    const s2 = svc;
    let plugins: PluginInfo[] = [];
    const cut = await eventually(
      async () => {
        plugins = await pluginsOf(s2.base);
        const p = plugins.find((q) => q.ident === 'volume-by-user-1m');
        return p !== undefined && p.counters.key_cap < p.counters.max_keys ? p : undefined;
      },
      10_000,
      'the restored state cut to the budget',
    ).catch((err: Error) => {
      const keys = plugins.map((p) => `${p.ident} ${p.counters.keys}/${p.counters.key_cap}`).join(', ');
      throw new Error(
        `${err.message}; keys/cap per plugin: ${keys}; statscache_keys ${sampleOf(text, 'statscache_keys')}`,
      );
    });
    const byUser = cut;
    expect(byUser.counters.key_cap).toBeLessThan(byUser.counters.max_keys);
    expect(byUser.counters.keys).toBeLessThanOrEqual(byUser.counters.key_cap);
    expect(byUser.counters.cap_evicted).toBe(names - byUser.counters.keys);
    const users = new Set<string>();
    for (let page = 1; ; page++) {
      const res = await getJson(`${svc.base}/api/volume-by-user-1m?rows_per_page=100&page=${page}`);
      for (const r of res.body as { user: string }[]) users.add(r.user);
      if (page >= Number(res.headers.get('x-link-count'))) break;
    }
    expect(users.size).toBe(byUser.counters.keys);
    // The newest message's users stayed; the oldest's gave way.
    expect(users.has(`m${MESSAGES - 1}-u0`)).toBe(true);
    expect([...users].some((u) => u.startsWith('m0-'))).toBe(false);
    // Every container that can give way now fits the cap; the sum is back near the budget.
    const capped = plugins.filter((p) => p.counters.key_cap < p.counters.max_keys);
    expect(capped.length).toBe(plugins.length);
    expect(sampleOf(text, 'statscache_keys')).toBeLessThan(sampleOf(before, 'statscache_keys') / 2);
    // The health checks say why, and name who gives way.
    const ready = await getJson(`${svc.base}/readyz`);
    expect(ready.status).toBe(200);
    const degraded = (ready.body as { degraded?: string }).degraded ?? '';
    expect(degraded).toMatch(
      new RegExp(
        `key budget full: \\d+ keys held of --max-keys-total ${BUDGET}; every plugin container is held to ${byUser.counters.key_cap} keys`,
      ),
    );
    expect(degraded).toMatch(/at that cap: .*volume-by-user-1m/);
    expect(((await getJson(`${svc.base}/healthz`)).body as { degraded?: string }).degraded).toBe(degraded);
    expect(sampleOf(text, 'statscache_degraded')).toBe(1);

    // A message naming one known user: the small plugins count it, none drops it for the cap.
    const pub2 = await joinedPublisher(svc);
    const volumeBefore = (await pluginsOf(svc.base)).find((p) => p.ident === 'volume-1m')!.counters.applied;
    const late = { ...meeting(999, Math.floor(Date.now() / 1000)), msg: { attendees: { 'm29-u0': 1 } } };
    await pub2.send(late.topic, JSON.stringify(late));
    const after = await eventually(
      async () => {
        const v = (await pluginsOf(svc!.base)).find((p) => p.ident === 'volume-1m')!;
        return v.counters.applied > volumeBefore ? v : undefined;
      },
      10_000,
      'the message to reach volume-1m',
    );
    expect(after.counters.applied).toBe(volumeBefore + 1);
    expect(after.counters.dropped['key_cap']).toBe(0);
    pub2.close();
  });
});
