/**
 * Windows of message time (windowed counters, stores with expireAfter) end at the newest message
 * the plugin saw. One message dated --max-clock-skew ahead moves them that far: when that is
 * more than the window holds, every count of the present leaves it, and every message of the
 * present lands behind it and goes uncounted until the clock catches up. Start-up refuses such
 * a skew, naming the plugin, the window and the setting; the defaults and the largest skew each
 * window allows still start, and there a message dated the whole skew ahead leaves the present
 * counted.
 */
import { describe, expect, it } from 'vitest';
import { definePlugin, rowsOf, store } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { loadConfig } from '../../src/config.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { buildPluginHost } from '../../src/plugin-host-builder.js';
import { builtinPlugins } from '../../plugins/index.js';
import { messagesLast24h } from '../../plugins/messages-last-24h.js';
import { topUsers } from '../../plugins/top-n.js';

const build = (flags: Record<string, unknown>, plugins: readonly unknown[] = builtinPlugins()) =>
  buildPluginHost(loadConfig({ env: {}, flags }), plugins, () => {});

const NOW = 1_800_000_000;
const edit = (t: number, user: string) =>
  createPluginMessage({ topic: 'org.fedoraproject.prod.wiki.article.edit', timestamp: t, msg: { user } }, deriveMeta);

/** Remembers each user for a minute of message time; its view lists who is remembered. */
const recent = definePlugin({
  name: 'Recent editors',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; user: string }>(),
  columns: ['user'],
  key: ['user'],
  stores: { seen: store<true>({ expireAfter: '1m' }) },
  update(m, { stores }) {
    for (const u of m.meta.usernames) stores.seen.set(u, true);
  },
  view: ({ stores, newest }) => [...stores.seen.keys()].map((user) => ({ timestamp: newest ?? 0, user })),
});

const hourOf = (host: ReturnType<typeof build>) =>
  host
    .get('top-users')!
    .query({ order: 'asc', page: 1, rowsPerPage: 100, params: { window: 'hour' } })
    .rows.map((r) => (r as unknown as { user: string }).user);

describe('windows against --max-clock-skew', () => {
  it('refuses a skew one future message could empty a window with, naming the plugin, the window and the setting', () => {
    // Within what every built-in retention accepts (up to 21 598 s), so only the windows refuse it.
    expect(() => build({ maxClockSkew: 3600 })).toThrow(
      /SC_CONFIG_INVALID: window "hour" of top-users \(3600 s in 60 s slices\), window "hour" of top-packages \(3600 s in 60 s slices\) cannot hold --max-clock-skew \(3600 s\): a window must be at least the skew plus one slice.*Lower --max-clock-skew to at most 3540 s$/,
    );
    // The bound: 3600 s less one 60 s slice.
    expect(() => build({ maxClockSkew: 3541 }, [topUsers()])).toThrow(/window "hour" of top-users/);
    expect(() => build({ maxClockSkew: 85_501 }, [messagesLast24h()])).toThrow(
      /window "day" of messages-last-24h \(86400 s in 900 s slices\)/,
    );
    // An expiring store: a write dated further behind the newest message than expireAfter is deleted.
    expect(() => build({ maxClockSkew: 61 }, [recent])).toThrow(
      /SC_CONFIG_INVALID: store "seen" of recent-editors \(expireAfter 60 s\) cannot hold --max-clock-skew \(61 s\).*at most 60 s$/,
    );
  });

  it('starts with the defaults and at the largest skew each window allows', () => {
    expect(build({}).runtimes.length).toBeGreaterThan(20);
    expect(build({ maxClockSkew: 3540 }, [topUsers()]).runtimes).toHaveLength(1);
    expect(build({ maxClockSkew: 85_500 }, [messagesLast24h()]).runtimes).toHaveLength(1);
    expect(build({ maxClockSkew: 60 }, [recent]).runtimes).toHaveLength(1);
  });

  it('is what keeps the present counted: a message dated the largest accepted skew ahead leaves it in the window, one second more does not', () => {
    // Unchecked hosts: the skew one past the bound is refused by build().
    const topUsersHost = () => new PluginHost(registerPlugins([topUsers()]), () => {});
    const recentHost = () => new PluginHost(registerPlugins([recent]), () => {});
    // The present at the end of a minute (the worst case: its slice leaves first) and at its start.
    for (const now of [NOW + 59, NOW]) {
      const host = topUsersHost();
      for (const [t, who] of [
        [now, 'earlier'],
        [now + 3540, 'ahead'],
        [now, 'present'],
      ] as const)
        host.get('top-users')!.send(edit(t, who));
      expect(hourOf(host)).toEqual(['ahead', 'earlier', 'present']);
    }
    const past = topUsersHost();
    for (const [t, who] of [
      [NOW + 59, 'earlier'],
      [NOW + 59 + 3541, 'ahead'],
      [NOW + 59, 'present'],
    ] as const)
      past.get('top-users')!.send(edit(t, who));
    expect(hourOf(past)).toEqual(['ahead']);

    const remembered = (skew: number) => {
      const rt = recentHost().get('recent-editors')!;
      rt.send(edit(NOW, 'earlier'));
      rt.send(edit(NOW + skew, 'ahead'));
      rt.send(edit(NOW, 'present'));
      return rt
        .query({ order: 'asc', page: 1, rowsPerPage: 10, params: {} })
        .rows.map((r) => (r as unknown as { user: string }).user)
        .sort();
    };
    expect(remembered(60)).toEqual(['ahead', 'earlier', 'present']);
    expect(remembered(61)).toEqual(['ahead']);
  });
});
