import { describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import type { ViewQuery } from '../../actors/view-query.js';
import { ViewRows } from '../../src/http/view-rows.js';
import type { ViewSpec } from '../../src/http/ws-view-spec.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { mulberry32 } from '../helpers/seeded-random.js';

type Row = { timestamp: number; user: string; n: number };

/** One row per user, stamped with its latest message; `drop` deletes the user's row. */
const perUser = definePlugin({
  name: 'Per user',
  summary: 's',
  description: 'd',
  rows: rowsOf<Row>(),
  columns: ['user', 'n'],
  key: ['user'],
  update(m, { rows }) {
    const { user, drop } = m.body as { user: string; drop?: boolean };
    if (drop) rows.delete(rows.keyOf({ user }));
    else rows.put({ timestamp: m.timestamp, user, n: (rows.get(rows.keyOf({ user }))?.n ?? 0) + 1 });
  },
});

/** perUser with a view that is its rows (`viewIsRows`): rows of one timestamp by user ascending, in either order. */
const perUserView = definePlugin({
  ...perUser,
  name: 'Per user view',
  viewIsRows: () => true,
  view: ({ rows }) => [...rows.values()].sort((a, b) => (a.user < b.user ? -1 : a.user > b.user ? 1 : 0)),
});

const spec = (query: Partial<ViewQuery>): ViewSpec => {
  const q = {
    order: 'desc' as const,
    page: 1,
    rowsPerPage: 100,
    params: {},
    limit: undefined,
    start: undefined,
    stop: 5_000,
    ...query,
  };
  return { ident: 'per-user', key: JSON.stringify(q), query: q };
};

type Runtime = NonNullable<ReturnType<PluginHost['get']>>;

/** What a client does with a delta: rows by their wire key (the user), changed ones set, removed ones deleted. */
function applyDelta(
  client: Map<string, string>,
  delta: { readonly changed: readonly string[]; readonly removed: readonly string[] } | null,
): void {
  for (const json of delta?.changed ?? []) client.set(JSON.stringify([(JSON.parse(json) as Row).user]), json);
  for (const wire of delta?.removed ?? []) client.delete(wire);
}

/** What a client following the view holds, and the view's own rows, are the HTTP answer now. */
function expectHttpAnswer(
  rt: Runtime,
  v: { s: ViewSpec; rows: ViewRows; client: Map<string, string> },
  where: string,
): void {
  let expected: string[] = [];
  try {
    expected = rt.query(v.s.query as ViewQuery).rows.map((r) => JSON.stringify(r));
  } catch {
    // A page past the end: the live view is empty.
  }
  expect([...v.client.values()].sort(), where).toEqual([...expected].sort());
  expect(v.rows.ordered(), where).toEqual(expected);
}

/** A live view for each spec, with the rows a client following it holds (none yet). */
const liveViews = (rt: Runtime, specs: readonly ViewSpec[]) =>
  specs.map((s) => ({ s, rows: new ViewRows(s, rt, ['user'], 0), client: new Map<string, string>() }));

/** One message at `t` from one of 60 users, deleting that user's row one time in about seven. */
function sendRandomUser(rt: Runtime, random: () => number, t: number): void {
  const user = `u${Math.floor(random() * 60)}`;
  rt.send(createPluginMessage({ topic: 'a.b.c.d', timestamp: t, msg: { user, drop: random() < 0.15 } }, deriveMeta));
}

/** Each view's delta applied to its client, then both checked against the HTTP answer. */
function refreshAndExpectHttpAnswer(rt: Runtime, views: ReturnType<typeof liveViews>, tick: number): void {
  for (const v of views) {
    applyDelta(v.client, v.rows.refresh(0));
    expectHttpAnswer(rt, v, `${v.s.key} tick ${tick}`);
  }
}

describe('live view rows from the change log', () => {
  it('hold exactly the HTTP answer after every tick, for complete views, full windows, limits, time ranges and both orders', () => {
    const host = new PluginHost(registerPlugins([perUser]), () => {});
    const rt = host.get('per-user')!;
    const random = mulberry32(10);
    const views = liveViews(rt, [
      spec({}),
      spec({ order: 'asc' }),
      spec({ rowsPerPage: 10 }),
      spec({ order: 'asc', rowsPerPage: 7 }),
      spec({ limit: 5 }),
      spec({ start: 1_200, stop: 1_600, rowsPerPage: 15 }),
      spec({ page: 2, rowsPerPage: 10 }),
    ]);
    let t = 1_000;
    for (let tick = 0; tick < 300; tick++) {
      // A few messages per tick: new users, repeat users (moving in time), and deletions.
      const n = 1 + Math.floor(random() * 4);
      for (let i = 0; i < n; i++) {
        t += Math.floor(random() * 3);
        sendRandomUser(rt, random, t);
      }
      refreshAndExpectHttpAnswer(rt, views, tick);
    }
    // Page-1 views are served from the change log on most ticks; page 2 always recomputes.
    const [all, , window10, , , , page2] = views;
    expect(all!.rows.counts.deltas).toBeGreaterThan(250);
    expect(all!.rows.counts.recomputes).toBeLessThan(30);
    expect(window10!.rows.counts.deltas).toBeGreaterThan(150);
    expect(page2!.rows.counts.deltas).toBe(0);
    for (const v of views) v.rows.close();
    host.stop();
  });

  it('follow the change log for a view declared to be its rows, with its rows of one timestamp by key value in both orders', () => {
    const host = new PluginHost(registerPlugins([perUserView]), () => {});
    const rt = host.get('per-user-view')!;
    const random = mulberry32(12);
    const views = liveViews(rt, [
      spec({}),
      spec({ order: 'asc' }),
      spec({ rowsPerPage: 10 }),
      spec({ order: 'asc', rowsPerPage: 7 }),
      spec({ limit: 5 }),
      spec({ page: 2, rowsPerPage: 10 }),
    ]);
    let t = 1_000;
    for (let tick = 0; tick < 300; tick++) {
      // Timestamps move slowly: many users share one, so the order within a timestamp decides the windows.
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
        if (random() < 0.2) t++;
        sendRandomUser(rt, random, t);
      }
      refreshAndExpectHttpAnswer(rt, views, tick);
    }
    // Served like a plugin without a view: from the change log on most ticks, not recomputed each one.
    const [all, , window10] = views;
    expect(all!.rows.counts.deltas).toBeGreaterThan(250);
    expect(all!.rows.counts.recomputes).toBeLessThan(30);
    expect(window10!.rows.counts.deltas).toBeGreaterThan(150);
    // And the desc window holds, within a timestamp, the users first by name (as the view ordered them).
    const shown = all!.rows.ordered().map((j) => JSON.parse(j) as Row);
    for (let i = 1; i < shown.length; i++) {
      const [a, b] = [shown[i - 1] as Row, shown[i] as Row];
      expect(a.timestamp > b.timestamp || (a.timestamp === b.timestamp && a.user < b.user)).toBe(true);
    }
    for (const v of views) v.rows.close();
    host.stop();
  });

  it('a suspended view does no work however much changes, and its resume delta brings a client from its old rows to the HTTP answer', () => {
    const host = new PluginHost(registerPlugins([perUser]), () => {});
    const rt = host.get('per-user')!;
    const random = mulberry32(11);
    const views = liveViews(rt, [
      spec({}),
      spec({ rowsPerPage: 10 }),
      spec({ page: 2, rowsPerPage: 10 }),
      spec({ order: 'asc', page: 3, rowsPerPage: 5 }),
    ]).map((v) => ({ ...v, suspended: false }));
    for (const v of views) applyDelta(v.client, { changed: v.rows.ordered(), removed: [] });
    let t = 1_000;
    let resumes = 0;
    for (let tick = 0; tick < 300; tick++) {
      for (let i = 0; i < 1 + Math.floor(random() * 4); i++) {
        t += Math.floor(random() * 3);
        sendRandomUser(rt, random, t);
      }
      for (const v of views) {
        // Subscribers come and go: a view is left for a few ticks, then taken up again.
        if (random() < 0.1) {
          if (v.suspended) {
            applyDelta(v.client, v.rows.resume(0));
            resumes++;
          } else v.rows.suspend();
          v.suspended = !v.suspended;
        }
        const work = { ...v.rows.counts };
        applyDelta(v.client, v.rows.refresh(0));
        if (v.suspended) {
          expect(v.rows.counts, `${v.s.key} tick ${tick}: suspended, no work`).toEqual(work);
          continue;
        }
        expectHttpAnswer(rt, v, `${v.s.key} tick ${tick}`);
      }
    }
    expect(resumes).toBeGreaterThan(20);
    for (const v of views) v.rows.close();
    host.stop();
  });
});
