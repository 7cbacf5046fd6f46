import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, type AnyPluginDefinition, type ViewContext } from '../../actors/plugin-api.js';
import type { Row } from '../../actors/row-store.js';
import { builtinPlugins } from '../../plugins/index.js';
import type { RawEnvelope } from '../helpers/fixtures.js';
import {
  eventually,
  httpRows,
  keyOf,
  perCategory,
  RawClient,
  startLive,
  type Frame,
  type Live,
  canon,
} from './harness.js';

const CALENDAR = 'contribution-calendar-1d';
const COUNTED = 'view-counter-1m';

/** Messages per category per minute, served by a custom view filtering by `category` (a view that is not its rows): the ws harness's plugin under its own name. */
const viewCounter = definePlugin({ ...perCategory, name: 'View counter' });

/** Every call of a plugin's view: its parameters and the plugin's change-log position at the time. */
const calls = new Map<string, { params: string; position: number }[]>();
let live: Live | undefined;

/** The definition with its view wrapped to record each call (the definition is otherwise the plugin's own). */
function counted(def: AnyPluginDefinition, ident: string): AnyPluginDefinition {
  const view = def.view as (ctx: ViewContext<Row, never>, params: Record<string, unknown>) => Iterable<Row>;
  calls.set(ident, []);
  return {
    ...def,
    view(ctx: ViewContext<Row, never>, params: Record<string, unknown>) {
      const position = live?.service.host.get(ident)?.position ?? -1;
      calls.get(ident)?.push({ params: JSON.stringify(params), position });
      return view(ctx, params);
    },
  };
}

/** Calls that repeated an earlier call's parameters at the same position: work done twice for one state. */
function repeats(ident: string): string[] {
  const seen = new Map<string, number>();
  for (const c of calls.get(ident) ?? []) {
    const k = `${c.params} at position ${c.position}`;
    seen.set(k, (seen.get(k) ?? 0) + 1);
  }
  return [...seen].filter(([, n]) => n > 1).map(([k, n]) => `${n} calls with ${k}`);
}

let batch = 0;
/** Meetbot messages naming `alice`, a few regulars and a fresh user each: every one writes to both plugins. */
function meetings(n: number): RawEnvelope[] {
  const b = ++batch;
  const now = Math.floor(Date.now() / 1000) - 5;
  return Array.from({ length: n }, (_, i) => ({
    topic: 'org.fedoraproject.prod.meetbot.meeting.complete',
    msg_id: `view-sharing-${process.pid}-${b}-${i}`,
    // One a minute: a row per message in the per-minute plugin, all on one or two days in the calendar.
    timestamp: now - 60 * (n - i),
    msg: { owner: 'alice', attendees: { alice: 1, Zoë: 1, [`u${b}-${i}`]: 1, [`a${i % 3}`]: 1 } },
  }));
}

/** What a client holds for one subscription: the snapshot, then every update applied by the key columns. */
class Held {
  readonly rows = new Map<string, Record<string, unknown>>();
  key: readonly string[] = [];
  seq = -1;
  view = '';

  apply(f: Frame): void {
    if (f.type === 'snapshot') {
      this.key = f.key;
      this.seq = f.seq;
      this.view = f.view;
      this.rows.clear();
      for (const r of f.rows) this.rows.set(keyOf(this.key, r), r);
    } else if (f.type === 'update' && f.view === this.view && f.seq > this.seq) {
      this.seq = f.seq;
      for (const k of f.removed) this.rows.delete(JSON.stringify(k));
      for (const r of f.rows) this.rows.set(keyOf(this.key, r), r);
    }
  }
}

describe('custom views are computed once per state and shared; views that are their rows are never built', () => {
  beforeAll(async () => {
    const plugins = builtinPlugins().map((d) =>
      d.name === 'Contribution calendar' ? counted(d as AnyPluginDefinition, CALENDAR) : d,
    );
    live = await startLive({}, { plugins: [...plugins, counted(viewCounter as AnyPluginDefinition, COUNTED)] });
    await live.publish(meetings(20));
  });
  afterAll(async () => {
    await live?.close();
  });

  it('M live views (WebSocket and SSE), K HTTP reads and N ticks per state call each view at most once per (parameters, position)', async () => {
    const server = live as Live;
    const hub = server.service.hub;
    const client = await RawClient.open(server.wsUrl);
    const subscriptions: { ident: string; params: Record<string, unknown> }[] = [
      // One custom view's parameters, six pagings: six live views.
      ...[1, 2, 3, 4, 5, 6].map((k) => ({ ident: COUNTED, params: { category: 'meetbot', rows_per_page: k } })),
      // The calendar without `user`: its rows. With `user`: its own view.
      ...[1, 2, 3, 4, 5, 6].map((k) => ({ ident: CALENDAR, params: { rows_per_page: k } })),
      { ident: CALENDAR, params: { order: 'asc', rows_per_page: 4 } },
      ...[1, 2, 3].map((k) => ({ ident: CALENDAR, params: { user: 'alice', rows_per_page: k } })),
    ];
    const held = subscriptions.map(() => new Held());
    subscriptions.forEach((s, i) => client.send({ op: 'subscribe', ident: s.ident, params: s.params, id: i }));
    await eventually(
      () => (client.of('snapshot').length === subscriptions.length ? true : undefined),
      10_000,
      'a snapshot per subscription',
    );
    // And one SSE stream on the custom view's parameters.
    const sse = new AbortController();
    const stream = await fetch(`${server.base}/api/${COUNTED}/stream?category=meetbot&rows_per_page=7`, {
      headers: { Accept: 'text/event-stream' },
      signal: sse.signal,
    });
    expect(stream.status).toBe(200);
    void stream.body?.pipeTo(new WritableStream()).catch(() => {});

    const reads = [
      ...[1, 2, 5].flatMap((n) => [`rows_per_page=${n}`, `rows_per_page=${n}&page=2`, `rows_per_page=${n}&order=asc`]),
      'limit=3',
      `start=${Math.floor(Date.now() / 1000) - 3600}`,
    ];
    const positions = new Set<number>();
    for (let round = 0; round < 3; round++) {
      await server.publish(meetings(12));
      positions.add(server.service.host.get(COUNTED)?.position ?? -1);
      // N ticks at this state: every watched view refreshed several times.
      const refreshed = hub.viewStats().refreshed;
      await eventually(
        () => (hub.viewStats().refreshed >= refreshed + 5 * subscriptions.length ? true : undefined),
        10_000,
        'five ticks',
      );
      // K HTTP reads of each view, paged every way.
      for (const q of reads) {
        for (const path of [`${COUNTED}?category=meetbot&${q}`, `${CALENDAR}?user=alice&${q}`, `${CALENDAR}?${q}`]) {
          const res = await fetch(`${server.base}/api/${path}`);
          // A page past the end is a 400, computed like any other read.
          const text = await res.text();
          if (res.status !== 200) expect(text, path).toContain('past the last page');
        }
      }
      for (const page of ['/plugins', '/', '/dashboard'])
        expect((await fetch(`${server.base}${page}`)).status).toBe(200);
    }
    // The default stop moves each second: more ticks, across a second, at the last state.
    const at = Date.now();
    await eventually(() => (Date.now() - at > 1_200 ? true : undefined), 5_000, 'a second of ticks');

    // The calendar without `user` is its rows: served from the row store, its view never built.
    expect(calls.get(CALENDAR)?.filter((c) => !c.params.includes('user'))).toEqual([]);
    // The others: at most one call per parameters and position, however many views, reads and ticks.
    expect(repeats(COUNTED)).toEqual([]);
    expect(repeats(CALENDAR)).toEqual([]);
    const meetbot = calls.get(COUNTED)?.filter((c) => c.params === '{"category":"meetbot"}') ?? [];
    expect(meetbot.length).toBeGreaterThan(0);
    for (const p of positions) expect(meetbot.filter((c) => c.position === p).length).toBeLessThanOrEqual(1);
    const perUser = calls.get(CALENDAR)?.filter((c) => c.params.includes('alice')) ?? [];
    expect(perUser.length).toBeGreaterThan(0);

    // And every live view holds exactly its HTTP answer (the calendar's rows through the change log included).
    for (const f of client.frames) {
      const id = f['id'];
      if (f.type === 'snapshot' && typeof id === 'number') held[id]?.apply(f);
      else if (f.type === 'update') for (const h of held) h.apply(f);
    }
    for (const [i, s] of subscriptions.entries()) {
      const query = new URLSearchParams(Object.entries(s.params).map(([k, v]) => [k, String(v)])).toString();
      const answer = await httpRows(server.base, s.ident, query);
      expect(canon(held[i]?.rows.values() ?? []), `${s.ident}?${query}`).toBe(canon(answer));
      expect(answer.length, `${s.ident}?${query}`).toBeGreaterThan(0);
    }
    sse.abort();
    client.close();
  }, 60_000);

  it('/plugins, / and /dashboard never build the calendar, and count a custom view with the one call its state needs', async () => {
    const server = live as Live;
    await server.publish(meetings(5));
    const position = server.service.host.get(COUNTED)?.position;
    const calendarCalls = calls.get(CALENDAR)?.length ?? 0;
    for (const page of ['/plugins', '/', '/dashboard', '/plugins?callback=cb']) {
      expect((await fetch(`${server.base}${page}`)).status, page).toBe(200);
    }
    const { plugins } = (await (await fetch(`${server.base}/plugins`)).json()) as {
      plugins: { ident: string; rows: number }[];
    };
    const calendar = plugins.find((p) => p.ident === CALENDAR);
    expect(calendar?.rows).toBe(server.service.host.get(CALENDAR)?.stats().rows);
    expect(calls.get(CALENDAR)?.length).toBe(calendarCalls);
    const defaults = calls.get(COUNTED)?.filter((c) => c.params === '{}' && c.position === position) ?? [];
    expect(defaults.length).toBeLessThanOrEqual(1);
    expect(plugins.find((p) => p.ident === COUNTED)?.rows).toBe(server.service.host.get(COUNTED)?.stats().rows);
  });
});
