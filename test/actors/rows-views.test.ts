import { describe, expect, it } from 'vitest';
import { definePlugin, rowsOf, type AnyPluginDefinition, type ViewContext } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { registerPlugins } from '../../actors/registry.js';
import { SEP, rowKeyOf } from '../../actors/row-key.js';
import { RowStore, type Row } from '../../actors/row-store.js';
import { SORTED_KEYS_MIN, SortedKeys, compareKeyValues, compareKeys } from '../../actors/sorted-keys.js';
import { MAX_VIEW_ROWS, SortedView, ViewTooLarge } from '../../actors/view-cache.js';
import { PageOutOfRange, type ViewQuery } from '../../actors/view-query.js';
import { contributionCalendar } from '../../plugins/contribution-calendar.js';
import { latestEventPerCategory, latestEventPerTopic } from '../../plugins/latest-event.js';
import { createPluginMessage } from '../../src/message.js';
import type { Meta } from '../../src/envelope.js';
import { deriveMeta } from '../../src/meta/index.js';
import { mulberry32 } from '../helpers/seeded-random.js';

/** Names whose keys are escaped (`\`, U+001F) or sort differently from their key, plus plain ones. */
const ODD = ['a\\b', `a${SEP}b`, 'a]', 'a[', 'a\\', 'a', '', 'é', 'Z', 'a\\\\c', `${SEP}`, 'b'];

/** What a query answered before views could be declared their rows: the whole view, filtered, stably sorted, paged. */
function oldAnswer(rt: PluginRuntime, q: ViewQuery): string {
  const def = rt.plugin.definition as AnyPluginDefinition;
  const state = rt.inspect();
  const ctx = {
    rows: state.rows,
    stores: state.stores,
    interval: rt.plugin.intervalSeconds,
    newest: state.counters.lastMessageAt,
  } as unknown as ViewContext<Row, never>;
  const all = [...(def.view?.(ctx, q.params as never) ?? state.rows.values())].filter(
    (r) => (q.start === undefined || r.timestamp >= q.start) && (q.stop === undefined || r.timestamp <= q.stop),
  );
  all.sort(q.order === 'asc' ? (a, b) => a.timestamp - b.timestamp : (a, b) => b.timestamp - a.timestamp);
  const total = Math.min(all.length, q.limit ?? Number.POSITIVE_INFINITY);
  const pages = Math.max(1, Math.ceil(total / q.rowsPerPage));
  if (q.page > pages) return `page ${q.page} past ${pages}`;
  const from = (q.page - 1) * q.rowsPerPage;
  return JSON.stringify({ rows: all.slice(from, Math.min(total, from + q.rowsPerPage)), total, pages });
}

function newAnswer(rt: PluginRuntime, q: ViewQuery): string {
  try {
    const { rows, total, pages } = rt.query(q);
    return JSON.stringify({ rows, total, pages });
  } catch (err) {
    if (err instanceof PageOutOfRange) return `page ${err.page} past ${err.pages}`;
    throw err;
  }
}

/** Queries every way a client pages: both orders, time windows, limits, deep and small pages. */
function queries(random: () => number, params: Record<string, unknown>, times: readonly number[]): ViewQuery[] {
  const pick = () => times[Math.floor(random() * times.length)];
  const out: ViewQuery[] = [];
  for (const order of ['desc', 'asc'] as const)
    for (const rowsPerPage of [1, 7, 100]) {
      out.push({ order, page: 1, rowsPerPage, params });
      out.push({ order, page: 1 + Math.floor(random() * 6), rowsPerPage, params, limit: 40 });
      const [a, b] = [pick(), pick()];
      out.push({
        order,
        page: 2,
        rowsPerPage,
        params,
        start: a,
        stop: b !== undefined && a !== undefined ? Math.max(a, b) : b,
      });
    }
  return out;
}

/** Rows per (minute, name) with names a key must escape; the view without `name` is every row, a minute's rows by name. */
const oddNames = definePlugin({
  name: 'Odd names',
  interval: '1m',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; name: string; n: number }>(),
  columns: ['name', 'n'],
  key: ['timestamp', 'name'],
  params: { name: { type: 'string', description: 'only this name' } },
  update(m, { rows, bucket }) {
    const { names, drop } = m.body as { names: string[]; drop?: boolean };
    for (const name of names) {
      const key = rows.keyOf({ timestamp: bucket, name });
      if (drop) rows.delete(key);
      else rows.put({ timestamp: bucket, name, n: (rows.get(key)?.n ?? 0) + 1 });
    }
  },
  viewIsRows: (params) => params.name === undefined,
  view({ rows }, params) {
    const all = [...rows.values()].filter((r) => params.name === undefined || r.name === params.name);
    return all.sort((a, b) => a.timestamp - b.timestamp || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },
});

/** The newest message per name (key: the name alone), moving between timestamps; many share one. */
const newestByName = definePlugin({
  name: 'Newest by name',
  summary: 's',
  description: 'd',
  rows: rowsOf<{ timestamp: number; name: string }>(),
  columns: ['name'],
  key: ['name'],
  update(m, { rows }) {
    const { names, drop } = m.body as { names: string[]; drop?: boolean };
    for (const name of names) {
      if (drop) rows.delete(rows.keyOf({ name }));
      else rows.put({ timestamp: m.timestamp, name });
    }
  },
  viewIsRows: () => true,
  view({ rows }) {
    return [...rows.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  },
});

const bodyMessage = (timestamp: number, body: unknown) =>
  createPluginMessage({ topic: 'org.test.names', timestamp, msg: body }, deriveMeta);

describe('views declared to be their rows are paged from the row store, answering byte for byte what the view gave', () => {
  it('for names a key escapes, in big and small timestamps, through adds and deletes between reads', () => {
    const host = new PluginHost(registerPlugins([oddNames, newestByName]), () => {});
    const random = mulberry32(21);
    let t = 60_000;
    let compared = 0;
    for (let round = 0; round < 60; round++) {
      // Many names at once: one minute (and, for the other plugin, one timestamp) holds more than SORTED_KEYS_MIN rows.
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
        if (random() < 0.3) t += 60 * Math.floor(random() * 3);
        const names = Array.from({ length: 1 + Math.floor(random() * 40) }, () =>
          random() < 0.3 ? (ODD[Math.floor(random() * ODD.length)] as string) : `n${Math.floor(random() * 300)}`,
        );
        const message = bodyMessage(t + (random() < 0.5 ? 0 : 1), { names, drop: random() < 0.2 });
        for (const rt of host.runtimes) rt.send(message);
      }
      for (const rt of host.runtimes) {
        const times = [...new Set([...rt.inspect().rows.values()].map((r) => r.timestamp))];
        for (const q of queries(random, {}, times)) {
          expect(newAnswer(rt, q), `${rt.ident} round ${round} ${JSON.stringify(q)}`).toBe(oldAnswer(rt, q));
          compared++;
        }
      }
    }
    expect(compared).toBeGreaterThan(1000);
    // Not vacuous: big groups, escaped names among them.
    const minutes = new Map<number, number>();
    for (const r of host.get('odd-names-1m')!.inspect().rows.values())
      minutes.set(r.timestamp, (minutes.get(r.timestamp) ?? 0) + 1);
    expect(Math.max(...minutes.values())).toBeGreaterThan(SORTED_KEYS_MIN);
    host.stop();
  });

  it('for the built-in contribution calendar and latest-event plugins, with and without their filters', () => {
    const host = new PluginHost(
      registerPlugins([contributionCalendar(), latestEventPerTopic(), latestEventPerCategory()]),
      () => {},
    );
    const random = mulberry32(22);
    const day = 86_400;
    let t = 1_700_000_000;
    for (let round = 0; round < 25; round++) {
      for (let i = 0; i < 40; i++) {
        t += random() < 0.05 ? day : Math.floor(random() * 3);
        const users = Array.from({ length: 1 + Math.floor(random() * 5) }, () => `u${Math.floor(random() * 150)}`);
        const category = ['bodhi', 'buildsys', 'copr', 'meetbot'][Math.floor(random() * 4)] as string;
        const topic = `org.fedoraproject.prod.${category}.t${Math.floor(random() * 120)}`;
        const meta = {
          category,
          usernames: users,
          packages: [],
          agent: null,
          link: null,
          subtitle: null,
        } as unknown as Meta;
        // Many messages share a timestamp: topics tie.
        const message = createPluginMessage({ topic, timestamp: t, msg: {} }, deriveMeta, meta);
        for (const rt of host.runtimes) rt.send(message);
      }
      for (const rt of host.runtimes) {
        const rows = [...rt.inspect().rows.values()] as unknown as Record<string, unknown>[];
        const times = [...new Set(rows.map((r) => r['timestamp'] as number))];
        const paramSets: Record<string, unknown>[] = [{}];
        if (rt.ident.startsWith('contribution')) paramSets.push({ user: 'u7' }, { user: 'u7', days: 3 });
        else paramSets.push({ category: 'bodhi' });
        if (rt.ident === 'latest-event-per-topic') paramSets.push({ prefix: 'org.fedoraproject.prod.copr.t1' });
        for (const params of paramSets)
          for (const q of queries(random, params, times))
            expect(newAnswer(rt, q), `${rt.ident} round ${round} ${JSON.stringify(q)}`).toBe(oldAnswer(rt, q));
      }
    }
    expect(host.get('contribution-calendar-1d')!.stats().rows).toBeGreaterThan(500);
    host.stop();
  });

  it('registration refuses viewIsRows for a key it cannot order by', () => {
    const bad = { ...newestByName, name: 'Two columns', key: ['name', 'timestamp'] };
    expect(() => registerPlugins([bad])).toThrow(/viewIsRows.*needs a "key" of one column/);
    const fn = { ...newestByName, name: 'Not a function', viewIsRows: true };
    expect(() => registerPlugins([fn])).toThrow(/"viewIsRows" must be a function/);
  });
});

describe('custom views are computed once per state and parameters', () => {
  it('however many queries read them, and again only when the state moves', () => {
    const seen: string[] = [];
    const probe = definePlugin({
      name: 'Probe',
      summary: 's',
      description: 'd',
      rows: rowsOf<{ timestamp: number; name: string }>(),
      columns: ['name'],
      key: ['name'],
      params: {
        name: { type: 'string', description: 'only this name' },
        fail: { type: 'boolean', description: 'throw' },
      },
      update(m, { rows }) {
        for (const name of (m.body as { names: string[] }).names) rows.put({ timestamp: m.timestamp, name });
      },
      view({ rows }, params) {
        seen.push(JSON.stringify(params));
        if (params.fail) throw new Error('view failed');
        return [...rows.values()].filter((r) => params.name === undefined || r.name === params.name);
      },
    });
    const host = new PluginHost(registerPlugins([probe]), () => {});
    const rt = host.get('probe')!;
    rt.send(bodyMessage(100, { names: ['a', 'b', 'c'] }));
    const q = (params: Record<string, unknown>, rowsPerPage: number, order: 'asc' | 'desc' = 'desc') =>
      rt.query({ order, page: 1, rowsPerPage, params });
    for (let k = 1; k <= 20; k++) {
      q({}, k);
      q({}, k, 'asc');
      q({ name: 'a' }, k);
      expect(() => q({ fail: true }, k)).toThrow('view failed');
    }
    expect(rt.defaultRowCount()).toBe(3);
    expect(seen.sort()).toEqual(['{"fail":true}', '{"name":"a"}', '{}']);
    // 80 queries and a count: three calls (one a failure, remembered too), the rest shared.
    expect(rt.viewStats).toEqual({ computed: 3, shared: 78 });
    rt.send(bodyMessage(101, { names: ['d'] }));
    expect(q({}, 5).total).toBe(4);
    expect(q({}, 6).total).toBe(4);
    expect(seen.length).toBe(4);
    host.stop();
  });
});

describe('a custom view past MAX_VIEW_ROWS', () => {
  it('fails that query (an endless generator is stopped), remembered for the state; other parameters and the plugin go on', () => {
    let calls = 0;
    const runaway = definePlugin({
      name: 'Runaway',
      summary: 's',
      description: 'd',
      rows: rowsOf<{ timestamp: number; name: string }>(),
      columns: ['name'],
      key: ['name'],
      params: { endless: { type: 'boolean', description: 'a view that never ends' } },
      update(m, { rows }) {
        for (const name of (m.body as { names: string[] }).names) rows.put({ timestamp: m.timestamp, name });
      },
      *view({ rows }, params) {
        calls++;
        if (!params.endless) {
          yield* rows.values();
          return;
        }
        // A bug: a generator that never returns. Before the bound, the query never returned either.
        for (let i = 0; ; i++) yield { timestamp: i, name: `n${i}` };
      },
    });
    const host = new PluginHost(registerPlugins([runaway]), () => {});
    const rt = host.get('runaway')!;
    rt.send(bodyMessage(100, { names: ['a', 'b'] }));
    const q = (params: Record<string, unknown>) => rt.query({ order: 'desc', page: 1, rowsPerPage: 10, params });
    expect(() => q({ endless: true })).toThrow(ViewTooLarge);
    expect(() => q({ endless: true })).toThrow(`more than ${MAX_VIEW_ROWS} rows`);
    expect(calls).toBe(1);
    expect(q({}).total).toBe(2);
    rt.send(bodyMessage(101, { names: ['c'] }));
    expect(rt.inspect().counters.applied).toBe(2);
    expect(q({}).total).toBe(3);
    host.stop();
  });

  it('refuses an array past it at once, and takes one at it', () => {
    const at = Array.from({ length: 10 }, (_, i) => ({ timestamp: i }));
    expect(new SortedView(at, 10).size).toBe(10);
    expect(() => new SortedView([...at, { timestamp: 11 }], 10)).toThrow(ViewTooLarge);
    // The view's own array is not sorted in place (the plugin may keep it).
    const given = [{ timestamp: 3 }, { timestamp: 1 }];
    new SortedView(given, 10);
    expect(given.map((r) => r.timestamp)).toEqual([3, 1]);
  });
});

describe('the kept order of a timestamp’s keys', () => {
  it('equals sorting afresh after any mix of adds and deletes, in key order and in value order', () => {
    const random = mulberry32(23);
    for (const byValue of [false, true]) {
      const cmp = byValue ? compareKeyValues : compareKeys;
      const model = new Set<string>();
      const pool = [...ODD, ...Array.from({ length: 400 }, (_, i) => `k${i}`), ...ODD.map((o) => `x${o}y`)];
      for (let i = 0; i < 100; i++) model.add(pool[Math.floor(random() * pool.length)] as string);
      const kept = new SortedKeys(byValue, model);
      for (let step = 0; step < 400; step++) {
        // From one change to more than the keys between reads (the kept order then sorts afresh).
        const changes = [1, 3, 40, 300][Math.floor(random() * 4)] as number;
        for (let c = 0; c < changes; c++) {
          const key = pool[Math.floor(random() * pool.length)] as string;
          if (model.has(key) && random() < 0.5) {
            model.delete(key);
            kept.remove(key);
          } else if (!model.has(key)) {
            model.add(key);
            kept.add(key);
          }
        }
        expect([...kept.keys(() => model)], `step ${step}`).toEqual([...model].sort(cmp));
      }
    }
  });

  it('pages a RowStore with big timestamps exactly as sorting each read would, grouped and flat, in both tie orders', () => {
    const random = mulberry32(24);
    for (const key of [['timestamp', 'user'], ['user']]) {
      const store = new RowStore<{ timestamp: number; user: string }>(key);
      const model = new Map<string, { timestamp: number; user: string }>();
      for (let step = 0; step < 300; step++) {
        for (let i = 0; i < 20; i++) {
          const user =
            random() < 0.2 ? (ODD[Math.floor(random() * ODD.length)] as string) : `u${Math.floor(random() * 500)}`;
          const row = { timestamp: 1000 + 10 * Math.floor(random() * 3), user };
          const k = rowKeyOf(key, row);
          if (random() < 0.25) {
            store.delete(k);
            model.delete(k);
          } else {
            store.set(k, row);
            model.set(k, row);
          }
        }
        for (const tiesByValue of [false, true])
          for (const order of ['asc', 'desc'] as const) {
            const skip = Math.floor(random() * 150);
            const expected = [...model.entries()]
              .sort(([ka, a], [kb, b]) => {
                const ts = order === 'asc' ? a.timestamp - b.timestamp : b.timestamp - a.timestamp;
                if (tiesByValue) return ts || compareKeys(a.user, b.user);
                return ts || (order === 'asc' ? compareKeys(ka, kb) : compareKeys(kb, ka));
              })
              .slice(skip)
              .map(([, r]) => r);
            expect([...store.scan({ order }, skip, tiesByValue)], `${key} step ${step}`).toEqual(expected);
          }
      }
    }
  });
});
