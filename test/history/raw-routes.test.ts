import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { deriveMeta } from '../../src/meta/index.js';
import type { Envelope } from '../../src/envelope.js';
import { categoryOfTopic, recentSamples } from '../helpers/fixtures.js';
import { getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { acceptedOnce, feed, type Sample } from './feed.js';

interface RawPage {
  raw_messages: (Sample & { source_name: string; source_version: string; meta?: Record<string, unknown> })[];
  total: number;
  pages: number;
  count: number;
  arguments: Record<string, unknown>;
}

/** The samples end this far in the past, so "now"-relative windows hold them all whatever the test's pace. */
const AGO = 1000;

describe('GET /raw and GET /id served from the journal (datagrepper.md)', () => {
  const dir = tempDir();
  let svc: RunningService;
  let end: number;
  let kept: Sample[];

  const raw = async (query: string) => getJson(`${svc.base}/raw?${query}`);
  const page = async (query: string): Promise<RawPage> => {
    const res = await raw(query);
    expect(res.status, JSON.stringify(res.body)).toBe(200);
    return res.body as RawPage;
  };
  const count = (pred: (e: Sample) => boolean) => kept.filter(pred).length;
  // The restamped samples are one second apart, so topic and timestamp name one message (msg_ids repeat in the capture).
  const idOf = (e: Sample) => `${e.topic}@${e.timestamp}`;
  const ids = (p: RawPage) => p.raw_messages.map(idOf);

  beforeAll(async () => {
    end = Math.floor(Date.now() / 1000) - AGO;
    const samples = recentSamples(end) as Sample[];
    kept = acceptedOnce(samples);
    svc = await startService(['--data-dir', dir.path]);
    await feed(svc, samples);
  });

  afterAll(async () => {
    await svc?.stop();
    dir.remove();
  });

  it('with nothing given answers the newest 25, all fields of the spec, float timestamps and CORS', async () => {
    const res = await fetch(`${svc.base}/raw`);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const text = await res.text();
    const body = JSON.parse(text) as RawPage;
    expect(Object.keys(body)).toEqual(['raw_messages', 'total', 'pages', 'count', 'arguments']);
    expect(body.total).toBe(kept.length);
    expect(body.pages).toBe(Math.ceil(kept.length / 25));
    expect(body.count).toBe(25);
    const newest = [...kept].sort((a, b) => b.timestamp - a.timestamp).slice(0, 25);
    expect(ids(body)).toEqual(newest.map(idOf));
    expect(body.arguments).toEqual({
      start: null,
      end: null,
      delta: null,
      users: [],
      packages: [],
      categories: [],
      topics: [],
      contains: [],
      agents: [],
      not_users: [],
      not_packages: [],
      not_categories: [],
      not_topics: [],
      not_agents: [],
      page: 1,
      rows_per_page: 25,
      order: 'desc',
      meta: [],
      grouped: false,
    });
    // Python's json writes floats with a fraction; the samples' stamps are whole seconds.
    expect(text).toContain(`"timestamp":${newest[0]?.timestamp}.0,`);
    for (const m of body.raw_messages)
      expect(m).toMatchObject({ source_name: 'statscache', source_version: expect.any(String) });
    const original = kept.find((e) => idOf(e) === idOf(body.raw_messages[0] as Sample));
    const {
      source_name: _n,
      source_version: _v,
      ...envelope
    } = body.raw_messages[0] as RawPage['raw_messages'][number];
    expect(envelope).toEqual(original);
  });

  it('resolves every time-window form of the spec', async () => {
    const inRange = (lo: number, hi: number) => count((e) => e.timestamp >= lo && e.timestamp <= hi);
    const start = end - 99;
    expect((await page(`start=${start}`)).total).toBe(inRange(start, Infinity));
    expect((await page(`start=${start}&delta=49`)).total).toBe(inRange(start, start + 49));
    expect((await page(`end=${end - 100}`)).total).toBe(inRange(end - 700, end - 100));
    expect((await page(`end=${end - 100}&delta=10`)).total).toBe(inRange(end - 110, end - 100));
    expect((await page(`start=${end - 20}&end=${end - 10}&delta=1000`)).total).toBe(inRange(end - 20, end - 10));
    const between = await page(`start=${end - 20}&end=${end - 10}`);
    expect(between.arguments).toMatchObject({ start: end - 20, end: end - 10, delta: 10 });
    expect(between.raw_messages.every((m) => m.timestamp >= end - 20 && m.timestamp <= end - 10)).toBe(true);
    // ISO-8601 UTC, with and without a zone.
    const iso = new Date(start * 1000).toISOString();
    expect((await page(`start=${encodeURIComponent(iso)}`)).total).toBe(inRange(start, Infinity));
    expect((await page(`start=${iso.replace('.000Z', '')}&end=${end}`)).total).toBe(inRange(start, end));
    // RFC 3339 5.6: a lowercase t and z are the same instant as T and Z.
    expect((await page(`start=${iso.toLowerCase()}&end=${end}`)).total).toBe(inRange(start, end));
    // delta alone is relative to the server's clock: bracket it with ours.
    const before = Date.now() / 1000;
    const d = await page(`delta=${AGO + 100}`);
    const after = Date.now() / 1000;
    expect(d.total).toBeGreaterThanOrEqual(inRange(after - AGO - 100, Infinity));
    expect(d.total).toBeLessThanOrEqual(inRange(before - AGO - 100, Infinity));
    expect(d.total).toBeGreaterThan(0);
    expect((await page(`delta=${10 * AGO}`)).total).toBe(kept.length);
  });

  it('orders by timestamp and pages through every message exactly once', async () => {
    for (const order of ['asc', 'desc'] as const) {
      const all: string[] = [];
      let stamps: number[] = [];
      for (let n = 1; ; n++) {
        const p = await page(`order=${order}&rows_per_page=100&page=${n}`);
        expect(p.pages).toBe(Math.ceil(kept.length / 100));
        all.push(...ids(p));
        stamps = stamps.concat(p.raw_messages.map((m) => m.timestamp));
        if (n >= p.pages) break;
      }
      expect(new Set(all).size).toBe(kept.length);
      expect(all.sort()).toEqual(kept.map(idOf).sort());
      const sorted = [...stamps].sort((a, b) => (order === 'asc' ? a - b : b - a));
      expect(stamps).toEqual(sorted);
    }
    const last = await page(`rows_per_page=100&page=${Math.ceil(kept.length / 100)}`);
    expect(last.count).toBe(kept.length % 100 || 100);
    const past = await page(`rows_per_page=100&page=${Math.ceil(kept.length / 100) + 1}`);
    expect(past).toMatchObject({ raw_messages: [], count: 0, total: kept.length });
  });

  it('filters: OR within a kind, AND across kinds, negations, contains, agent', async () => {
    const byCategory = new Map<string, number>();
    for (const e of kept) byCategory.set(categoryOfTopic(e.topic), (byCategory.get(categoryOfTopic(e.topic)) ?? 0) + 1);
    const [a, b] = [...byCategory.entries()].sort((x, y) => y[1] - x[1]).map(([c]) => c) as [string, string];
    expect((await page(`category=${a}`)).total).toBe(byCategory.get(a));
    expect((await page(`category=${a}&category=${b}`)).total).toBe((byCategory.get(a) ?? 0) + (byCategory.get(b) ?? 0));
    expect((await page(`not_category=${a}`)).total).toBe(kept.length - (byCategory.get(a) ?? 0));
    const fc = await page(`category=${a}&rows_per_page=100`);
    expect(fc.raw_messages.every((m) => categoryOfTopic(m.topic) === a)).toBe(true);

    const topic = (kept[0] as Sample).topic;
    expect((await page(`topic=${topic}`)).total).toBe(count((e) => e.topic === topic));
    expect((await page(`not_topic=${topic}`)).total).toBe(count((e) => e.topic !== topic));

    const metas = new Map(kept.map((e) => [e, deriveMeta(e as unknown as Envelope)]));
    const users = new Map<string, number>();
    for (const m of metas.values()) for (const u of m.usernames) users.set(u, (users.get(u) ?? 0) + 1);
    const user = [...users.entries()].sort((x, y) => y[1] - x[1])[0]?.[0] as string;
    expect((await page(`user=${encodeURIComponent(user)}`)).total).toBe(users.get(user));
    expect((await page(`not_user=${encodeURIComponent(user)}`)).total).toBe(kept.length - (users.get(user) ?? 0));
    const userAndCategory = count(
      (e) => metas.get(e)?.usernames.includes(user) === true && categoryOfTopic(e.topic) === a,
    );
    expect((await page(`user=${encodeURIComponent(user)}&category=${a}`)).total).toBe(userAndCategory);

    const pkgs = new Map<string, number>();
    for (const m of metas.values()) for (const p of m.packages) pkgs.set(p, (pkgs.get(p) ?? 0) + 1);
    const pkg = [...pkgs.entries()].sort((x, y) => y[1] - x[1])[0]?.[0] as string;
    expect((await page(`package=${encodeURIComponent(pkg)}`)).total).toBe(pkgs.get(pkg));
    expect((await page(`not_package=${encodeURIComponent(pkg)}`)).total).toBe(kept.length - (pkgs.get(pkg) ?? 0));

    const agent = [...metas.values()].find((m) => m.agent !== null)?.agent as string;
    expect((await page(`agent=${encodeURIComponent(agent)}`)).total).toBe(count((e) => metas.get(e)?.agent === agent));
    expect((await page(`not_agent=${encodeURIComponent(agent)}`)).total).toBe(
      count((e) => metas.get(e)?.agent !== agent),
    );

    expect((await page('contains=rawhide')).total).toBe(count((e) => JSON.stringify(e).includes('rawhide')));
    expect((await page('contains=rawhide&contains=koji')).total).toBe(
      count((e) => JSON.stringify(e).includes('rawhide') || JSON.stringify(e).includes('koji')),
    );
    // Filters combine with a time window and paging.
    const windowed = await page(`category=${a}&start=${end - 200}&end=${end}&rows_per_page=3&page=2&order=asc`);
    const want = kept
      .filter((e) => categoryOfTopic(e.topic) === a && e.timestamp >= end - 200)
      .sort((x, y) => x.timestamp - y.timestamp);
    expect(windowed.total).toBe(want.length);
    expect(windowed.raw_messages.map((m) => m.timestamp)).toEqual(want.slice(3, 6).map((e) => e.timestamp));
    expect(windowed.arguments).toMatchObject({ categories: [a], page: 2, rows_per_page: 3, order: 'asc' });
  });

  it('adds the requested meta fields per message', async () => {
    const p = await page('meta=usernames&meta=packages&meta=title,date&rows_per_page=50');
    expect(p.arguments['meta']).toEqual(['usernames', 'packages', 'title', 'date']);
    for (const m of p.raw_messages) {
      const want = deriveMeta(m as unknown as Envelope);
      expect(Object.keys(m.meta ?? {}).sort()).toEqual(['date', 'packages', 'title', 'usernames']);
      expect(m.meta).toMatchObject({
        usernames: [...want.usernames],
        packages: [...want.packages],
        date: new Date(m.timestamp * 1000).toISOString(),
      });
      expect(m.topic.endsWith(m.meta?.['title'] as string)).toBe(true);
    }
    expect((await page('rows_per_page=5')).raw_messages.every((m) => m.meta === undefined)).toBe(true);
  });

  it('answers JSON-P with a valid callback', async () => {
    const res = await fetch(`${svc.base}/raw?callback=jQuery123_456&rows_per_page=2`);
    expect(res.status).toBe(200);
    expect(res.headers.get('content-type')).toMatch(/^application\/javascript/);
    const text = await res.text();
    const m = /^jQuery123_456\((.*)\);$/s.exec(text);
    expect(m).not.toBeNull();
    expect((JSON.parse(m?.[1] ?? '') as RawPage).count).toBe(2);
  });

  it('rejects bad parameters with a 400 naming the parameter, and unknown routes with 404', async () => {
    const cases: [string, string][] = [
      ['rows_per_page=101', 'rows_per_page'],
      ['rows_per_page=0', 'rows_per_page'],
      ['page=0', 'page'],
      ['page=two', 'page'],
      ['order=sideways', 'order'],
      ['start=yesterday', 'start'],
      ['end=-5', 'end'],
      ['delta=-5', 'delta'],
      [`start=${end}&end=${end - 10}`, 'end'],
      // A start after now without an end: the window ends now, so the start is at fault, not an end never sent.
      ['start=99999999999999999999999', 'start'],
      ['callback=alert(1)', 'callback'],
      ['meta=colour', 'meta'],
      ['grouped=perhaps', 'grouped'],
      ['start=1&start=2', 'start'],
      // Number() reads these; no client means them as seconds.
      ['start=0x10', 'start'],
      // Days Date.parse would roll into the next month (2015-03-02, 2015-05-01).
      ['start=2015-02-30', 'start'],
      ['end=2015-04-31T10:00:00Z', 'end'],
      ['end=0b11', 'end'],
      ['delta=0o7', 'delta'],
      ['start=Infinity', 'start'],
      // An hour-only zone is ISO-8601 but not RFC 3339, and not read.
      ['start=2015-11-04T10:01:00%2B01', 'start'],
      // A window that would end at Infinity (it was answered, its end echoed as null).
      ['start=1e308&delta=1e308', 'delta'],
      // Past 15 digits: named for what is wrong (too large), not as "not a whole number".
      ['page=9007199254740993', 'page'],
      // Past V8's 250-character Boyer-Moore window a search degenerates (history-params CONTAINS_MAX_LENGTH).
      [`contains=${'a'.repeat(125)}b${'a'.repeat(125)}`, 'contains'],
    ];
    for (const [query, parameter] of cases) {
      const res = await raw(query);
      expect({ query, status: res.status }).toEqual({ query, status: 400 });
      const body = res.body as { error: string; detail: string; parameter: string; arguments: Record<string, unknown> };
      expect(body).toMatchObject({ error: 'bad_parameter', parameter });
      expect(body.detail).toContain(`"${parameter}"`);
      expect(typeof body.arguments).toBe('object');
    }
    expect(((await raw('page=9007199254740993')).body as { detail: string }).detail).toMatch(/must be at most/);
    expect(((await raw('end=2015-11-04T10:01:00%2B01')).body as { detail: string }).detail).toBe(
      'parameter "end" "2015-11-04T10:01:00+01" must be epoch seconds or an ISO-8601 date like 2015-11-04 or 2015-11-04T10:01:00Z, a zone written Z, +hh:mm or -hh:mm',
    );
    // Up to the bound the detail names, a page is a page (past the last: an empty one); 16 digits
    // within it were refused as "must be at most 9007199254740991", the largest of them included.
    for (const page of ['1000000000000000', '9007199254740991']) {
      const res = await raw(`page=${page}`);
      expect({ page, status: res.status }).toEqual({ page, status: 200 });
      expect(res.body).toMatchObject({ raw_messages: [], arguments: { page: Number(page) } });
    }
    expect(((await raw('page=9007199254740992')).body as { detail: string }).detail).toMatch(
      /"9007199254740992" must be at most 9007199254740991/,
    );
    expect(((await raw(`contains=${'a'.repeat(251)}`)).body as { detail: string }).detail).toMatch(/at most 250/);
    expect((await raw(`contains=${'a'.repeat(125)}b${'a'.repeat(124)}`)).status).toBe(200);
    expect((await raw('grouped=true')).status).toBe(200);
    expect((await raw('start=1e3&delta=5.5e1')).status).toBe(200);
    expect((await raw('start=2016-02-29&end=2016-03-01T00:00:00Z')).status).toBe(200);
    const unknown = await getJson(`${svc.base}/raw/nothing-here`);
    expect(unknown.status).toBe(404);
    expect(unknown.body).toMatchObject({ error: 'not_found' });
    const post = await fetch(`${svc.base}/raw`, { method: 'POST' });
    expect(post.status).toBe(405);
  });

  it('GET /id answers one envelope, 400 without id, 404 when unknown', async () => {
    const known = kept.find((e) => typeof e.msg_id === 'string') as Sample;
    const res = await getJson(`${svc.base}/id?id=${encodeURIComponent(known.msg_id as string)}`);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
    const { source_name: _n, source_version: _v, ...envelope } = res.body as Record<string, unknown>;
    expect(envelope).toEqual(known);
    const withMeta = await getJson(`${svc.base}/id?id=${encodeURIComponent(known.msg_id as string)}&meta=usernames`);
    expect((withMeta.body as { meta: unknown }).meta).toEqual({
      usernames: [...deriveMeta(known as unknown as Envelope).usernames],
    });
    expect((await getJson(`${svc.base}/id`)).status).toBe(400);
    expect((await getJson(`${svc.base}/id`)).body).toMatchObject({ error: 'bad_parameter', parameter: 'id' });
    const missing = await getJson(`${svc.base}/id?id=no-such-message`);
    expect(missing.status).toBe(404);
    expect(missing.body).toMatchObject({ error: 'not_found' });
    expect((await getJson(`${svc.base}/id?id=${'x'.repeat(5000)}`)).status).toBe(404);
  });
});
