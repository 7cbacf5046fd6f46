import { join } from 'node:path';
import { build } from 'esbuild';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { builtinPlugins } from '../../plugins/index.js';
import { type VolumeByCategoryRow, volumeByCategory } from '../../plugins/volume-by-category.js';
import { loadConfig } from '../../src/config.js';
import {
  checkWidthsAndShoot,
  releaseChromium,
  sharedChromium,
  openPage,
  SCREENSHOTS,
  SHOOT,
} from '../helpers/browser.js';
import type { RawEnvelope } from '../helpers/fixtures.js';
import { freePort } from '../helpers/free-port.js';
import { eventually, fat, perCategory, samplesBatch, startLive as harnessStartLive, type Live } from '../ws/harness.js';

/**
 * The services here with the bus on the main thread: the pages are under test, not how messages
 * arrive, and the bus thread cost each of the nine in-process starts ~0.2 s of CPU and 1-2 s of
 * wall on the loaded 2-core box (its worker loading ZeroMQ and the decoder).
 */
const startLive: typeof harnessStartLive = (flags = {}, opts = {}) =>
  harnessStartLive({ busThread: false, ...flags }, opts);

type VolumeRow = { timestamp: number; category: string; volume: number };
type ReleaseRow = { timestamp: number; category: string; category_constraint: string; message: string };
type Layout = { groups: { id: string; name?: string; components: { id: string; name: string }[] }[] };

/** Every row of a view over HTTP, walking the pages. */
async function every<T>(base: string, ident: string, query: string): Promise<T[]> {
  const out: T[] = [];
  for (let page = 1; ; page++) {
    const res = await fetch(`${base}/api/${ident}?${query}&rows_per_page=100&page=${page}`);
    expect(res.status).toBe(200);
    out.push(...((await res.json()) as T[]));
    if (page >= Number(res.headers.get('x-link-count'))) return out;
  }
}

/** The volume page's 1 m window (60 buckets to the current minute) summed over /api. */
async function volumeTotalOf(base: string): Promise<{ total: number }> {
  const newest = Math.ceil(Date.now() / 1000 / 60) * 60;
  const rows = (await every<VolumeRow>(base, 'volume-by-category-1m', `start=${newest - 60 * 60}`)).filter(
    (r) => r.timestamp > newest - 60 * 60,
  );
  return { total: rows.reduce((a, r) => a + r.volume, 0) };
}

/**
 * The three browser examples, built by `npm run build` and served by `--examples`, in headless
 * Chromium against a real service fed the real fixture messages; a second service, fed too,
 * is read cross-origin with `?api=`.
 */
describe('the browser examples in headless Chromium', () => {
  let live: Live;
  let other: Live;
  let browser: Browser;
  beforeAll(async () => {
    [live, other] = await Promise.all([startLive({ examples: true }), startLive()]);
    await Promise.all([live.publish(samplesBatch()), other.publish(samplesBatch())]);
    browser = await sharedChromium();
  }, 60_000);
  afterAll(async () => {
    await releaseChromium(browser);
    await Promise.all([live?.close(), other?.close()]);
  });

  const open = (path: string, before?: (page: Page) => Promise<void>) =>
    openPage(browser, `${live.base}${path}`, before ? { before } : {});

  it('/examples/ links every example; files are served with their types and policy, nothing else is', async () => {
    const { page, problems } = await open('/examples/');
    const links = await page.$$eval('main a', (as) => as.map((a) => (a as HTMLAnchorElement).href));
    for (const name of ['releng-dashboard', 'contribution-calendar', 'volume'])
      expect(links).toContain(`${live.base}/examples/${name}/`);
    const js = await fetch(`${live.base}/examples/volume/main.js`);
    expect(js.status).toBe(200);
    // Served before the API handler that adds it elsewhere: every answer here says it too.
    expect(js.headers.get('x-content-type-options')).toBe('nosniff');
    for (const [path, init] of [
      ['/examples/nope.js', {}],
      ['/examples/volume', { redirect: 'manual' }],
      ['/examples/volume/main.js', { method: 'POST' }],
    ] as const) {
      const r = await fetch(`${live.base}${path}`, init);
      expect([r.status, r.headers.get('x-content-type-options')], path).toEqual([
        { '/examples/nope.js': 404, '/examples/volume': 308, '/examples/volume/main.js': 405 }[path],
        'nosniff',
      ]);
    }
    expect(js.headers.get('content-type')).toBe('text/javascript; charset=utf-8');
    expect(js.headers.get('content-security-policy')).toContain("script-src 'self'");
    const redirect = await fetch(`${live.base}/examples/volume?api=x`, { redirect: 'manual' });
    expect([redirect.status, redirect.headers.get('location')]).toEqual([308, '/examples/volume/?api=x']);
    for (const path of [
      '/examples/nope.js',
      '/examples/%2e%2e/package.json',
      '/examples/../package.json',
      '/examples/volume/main.ts',
    ]) {
      expect((await fetch(`${live.base}${path}`)).status, path).toBe(404);
    }
    // Off unless asked for.
    expect((await fetch(`${other.base}/examples/`)).status).toBe(404);
    expect(problems).toEqual([]);
    await page.close();
  });

  it('releng-dashboard: groups and components from the layout, the newest events of each, relative times, live', async () => {
    const { page, problems } = await open('/examples/releng-dashboard/');
    await page.waitForSelector('body[data-seq]', { timeout: 10_000 });
    const layout = (await (await fetch(`${live.base}/api/release-engineering-event-logs/layout`)).json()) as Layout;
    const rows = await every<ReleaseRow>(live.base, 'release-engineering-event-logs', 'order=desc');
    expect(rows.length).toBeGreaterThan(0);
    expect(await page.$$eval('section.group', (s) => s.map((g) => g.getAttribute('data-group')))).toEqual(
      layout.groups.map((g) => g.id),
    );
    const shown = await page.$$eval('article.component', (cs) =>
      cs.map((c) => ({
        id: c.getAttribute('data-component'),
        name: c.querySelector('h3')?.textContent,
        events: [...c.querySelectorAll('li.event')].map((li) => ({
          name: li.querySelector('.name')?.textContent,
          when: li.querySelector('time')?.getAttribute('datetime'),
          ago: li.querySelector('time')?.textContent,
          old: li.classList.contains('old'),
        })),
      })),
    );
    expect(shown.map((c) => [c.id, c.name])).toEqual(
      layout.groups.flatMap((g) => g.components.map((c) => [c.id, c.name])),
    );
    for (const c of shown) {
      const mine = rows
        .filter((r) => r.category === c.id)
        .sort((a, b) => b.timestamp - a.timestamp)
        .slice(0, 8);
      expect(
        c.events.map((e) => [e.name, e.when]),
        c.id ?? '',
      ).toEqual(
        mine.map((r) => [(JSON.parse(r.message) as { name: string }).name, new Date(r.timestamp * 1000).toISOString()]),
      );
      for (const e of c.events)
        expect([e.ago, e.old]).toEqual([expect.stringMatching(/^(just now|\d+ min ago)/), false]);
    }
    const withEvents = shown.filter((c) => c.events.length > 0);
    expect(withEvents.length).toBeGreaterThan(1);
    await checkWidthsAndShoot(page, 'example-releng-dashboard');

    // Newer releng messages move the components' newest entries, without a reload.
    const target = withEvents[0]?.id ?? '';
    const before = withEvents[0]?.events[0]?.when;
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000) + 1));
    const newest = async () =>
      (await every<ReleaseRow>(live.base, 'release-engineering-event-logs', 'order=desc'))
        .filter((r) => r.category === target)
        .sort((a, b) => b.timestamp - a.timestamp)[0]?.timestamp ?? 0;
    const want = new Date((await newest()) * 1000).toISOString();
    expect(want).not.toBe(before);
    await eventually(
      async () =>
        (await page.$eval(`article[data-component="${target}"] li.event time`, (t) => t.getAttribute('datetime'))) ===
        want
          ? true
          : undefined,
      5_000,
      'the newer event on the page',
    );
    expect(problems).toEqual([]);
    await page.close();

    // A day later (the page's clock only), everything is past the layout's 24 h threshold: greyed.
    const later = await open('/examples/releng-dashboard/', (p) =>
      p.clock.setFixedTime(new Date(Date.now() + 25 * 3600 * 1000)),
    );
    await later.page.waitForSelector('body[data-seq]', { timeout: 10_000 });
    const old = await later.page.$$eval('li.event', (lis) =>
      lis.map((li) => [li.classList.contains('old'), li.querySelector('time')?.textContent]),
    );
    expect(old.length).toBeGreaterThan(0);
    for (const o of old) expect(o).toEqual([true, expect.stringMatching(/h ago|days ago/)]);
    expect(later.problems).toEqual([]);
    await later.page.close();
  });

  async function volumeTotal(base: string, width: string): Promise<{ total: number; busiest: string }> {
    const step = { '1m': 60, '1h': 3600, '1d': 86_400 }[width] ?? 60;
    const buckets = { '1m': 60, '1h': 48, '1d': 30 }[width] ?? 60;
    const newest = Math.ceil(Date.now() / 1000 / step) * step;
    const rows = (
      await every<VolumeRow>(base, `volume-by-category-${width}`, `start=${newest - buckets * step}`)
    ).filter((r) => r.timestamp > newest - buckets * step);
    const per = new Map<string, number>();
    for (const r of rows) per.set(r.category, (per.get(r.category) ?? 0) + r.volume);
    return {
      total: rows.reduce((a, r) => a + r.volume, 0),
      busiest: [...per].sort((a, b) => b[1] - a[1] || (a[0] < b[0] ? -1 : 1))[0]?.[0] ?? '',
    };
  }

  it('volume: stacked counts per category for 1 m, 1 h and 1 d that add up to the API, live', async () => {
    const { page, problems } = await open('/examples/volume/');
    for (const width of ['1m', '1h', '1d']) {
      if (width !== '1m') await page.click(`button[data-interval="${width}"]`);
      const api = await volumeTotal(live.base, width);
      expect(api.total).toBeGreaterThan(0);
      await eventually(
        async () =>
          (await page.getAttribute('body', 'data-total')) === String(api.total) &&
          (await page.getAttribute('body', 'data-interval')) === width
            ? true
            : undefined,
        5_000,
        `${width}: total ${api.total}`,
      );
      const drawn = await page.$$eval('#chart rect[data-volume]', (rs) =>
        rs.reduce((a, r) => a + Number(r.getAttribute('data-volume')), 0),
      );
      expect(drawn, `${width}: the bars add up`).toBe(api.total);
      expect(
        await page.$eval('#legend span', (s) => s.getAttribute('data-category')),
        'the busiest category first',
      ).toBe(api.busiest);
      await checkWidthsAndShoot(page, `example-volume-${width}`);
    }
    await page.click('button[data-interval="1m"]');
    const before = (await volumeTotal(live.base, '1m')).total;
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000)).slice(-40));
    const after = (await volumeTotal(live.base, '1m')).total;
    expect(after).toBeGreaterThan(before);
    await eventually(
      async () => ((await page.getAttribute('body', 'data-total')) === String(after) ? true : undefined),
      5_000,
      `the live total ${after}`,
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it("contribution-calendar: the busiest user's year as day cells matching the API, picked from top-users, live", async () => {
    const { page, problems } = await open('/examples/contribution-calendar/');
    const top = (await (await fetch(`${live.base}/api/top-users?window=week&n=100`)).json()) as { user: string }[];
    const first = top[0]?.user ?? '';
    await page.waitForSelector(`body[data-user="${first}"][data-total]`, { timeout: 10_000 });
    expect(await page.$$eval('#users option', (os) => os.map((o) => (o as HTMLOptionElement).value))).toEqual(
      top.map((t) => t.user),
    );
    const cells = async () =>
      page.$$eval('rect.day', (rs) =>
        rs.map((r) => [r.getAttribute('data-date') ?? '', Number(r.getAttribute('data-count'))] as const),
      );
    const apiDays = async (user: string) =>
      new Map(
        (
          await every<{ date: string; volume: number }>(
            live.base,
            'contribution-calendar-1d',
            `user=${encodeURIComponent(user)}&days=371`,
          )
        ).map((r) => [r.date, r.volume]),
      );
    const shown = await cells();
    expect(shown.length).toBeGreaterThanOrEqual(365);
    expect(shown.length).toBeLessThanOrEqual(371);
    const want = await apiDays(first);
    expect(want.size).toBeGreaterThan(0);
    expect(new Map(shown.filter(([, n]) => n > 0))).toEqual(want);
    expect(shown.at(-1)?.[0]).toBe(new Date().toISOString().slice(0, 10));
    await checkWidthsAndShoot(page, 'example-contribution-calendar');

    // Another user from the search box.
    const second = top[1]?.user ?? '';
    await page.fill('#user', second);
    await page.click('#pick button[type="submit"]');
    await page.waitForSelector(`body[data-user="${second}"]`, { timeout: 5_000 });
    await eventually(
      async () => {
        const now = new Map((await cells()).filter(([, n]) => n > 0));
        const api = await apiDays(second);
        return now.size > 0 && JSON.stringify([...now]) === JSON.stringify([...api].sort()) ? true : undefined;
      },
      5_000,
      `${second}'s days`,
    );

    // Their messages published again: today's cell grows to the API's count.
    const today = new Date().toISOString().slice(0, 10);
    const before = (await apiDays(second)).get(today) ?? 0;
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000)));
    const after = (await apiDays(second)).get(today) ?? 0;
    expect(after).toBeGreaterThan(before);
    await eventually(
      async () =>
        (await page.getAttribute(`rect[data-date="${today}"]`, 'data-count')) === String(after) ? true : undefined,
      5_000,
      `today's cell at ${after}`,
    );
    expect(problems).toEqual([]);
    await page.close();
  });

  it('every example reads another statscache when given ?api= (CORS), live included', async () => {
    const api = encodeURIComponent(other.base);
    const checks: [string, string][] = [
      ['releng-dashboard', 'body[data-seq] li.event'],
      ['volume', `body[data-total="${(await volumeTotal(other.base, '1m')).total}"]`],
      ['contribution-calendar', 'body[data-user][data-total] rect.day'],
    ];
    for (const [name, ready] of checks) {
      const { page, problems } = await open(`/examples/${name}/?api=${api}`);
      await page.waitForSelector(ready, { timeout: 10_000 });
      expect(await page.textContent('#source')).toBe(other.base);
      expect(await page.textContent('#status')).toBe('live');
      expect(problems, name).toEqual([]);
      await page.close();
    }
    const res = await fetch(`${other.base}/api/volume-by-category-1m`, { headers: { Origin: 'http://example.org' } });
    expect(res.headers.get('access-control-allow-origin')).toBe('*');
  });

  it('volume: counts past 8 digits label the y axis in full view (12.3M, not a cut 12,345,678)', async () => {
    // A service whose 1 m volume plugin counts 12,345,678 per message (the built-in counts 1).
    const third = await startLive({}, { plugins: [bigVolume] });
    try {
      const now = Math.floor(Date.now() / 1000) - 2;
      await third.publish(
        Array.from({ length: 5 }, (_, i) => ({
          topic: 'org.fedoraproject.prod.buildsys.thing',
          msg_id: `big-volume-${process.pid}-${i}`,
          timestamp: now,
          msg: {},
        })),
      );
      const api = await volumeTotal(third.base, '1m');
      expect(api.total).toBe(5 * 12_345_678);
      const { page, problems } = await open(`/examples/volume/?api=${encodeURIComponent(third.base)}`);
      await page.waitForSelector(`body[data-total="${api.total}"]`, { timeout: 10_000 });
      const ticks = await page.$$eval('#chart g.axis:nth-of-type(2) .tick text', (ts) => {
        const svg = document.querySelector('#chart svg')?.getBoundingClientRect();
        return ts.map((t) => ({ text: t.textContent ?? '', left: t.getBoundingClientRect().left - (svg?.left ?? 0) }));
      });
      expect(ticks.length).toBeGreaterThanOrEqual(3);
      // Before: '60,000,000' and its like, wider than the 44 px margin, their first digits cut off.
      for (const t of ticks) {
        expect(t.text).toMatch(/^(0|\d+(\.\d+)?[kMG]?)$/);
        expect(t.left, `${t.text} starts inside the chart`).toBeGreaterThanOrEqual(0);
      }
      expect(ticks.some((t) => /M$/.test(t.text))).toBe(true);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await third.close();
    }
  });

  it('volume: categories named like the page\'s own keys ("other", "end") are drawn once, as themselves', async () => {
    const third = await startLive();
    try {
      const now = Math.floor(Date.now() / 1000) - 2;
      // Twelve categories, more than the page draws on their own: the busiest is called "other".
      const counts: [string, number][] = [
        ['other', 31],
        ['end', 20],
        ...Array.from({ length: 10 }, (_, i): [string, number] => [`cat${i}`, 12 - i]),
      ];
      let n = 0;
      await third.publish(
        counts.flatMap(([category, k]) =>
          Array.from({ length: k }, () => ({
            topic: `org.fedoraproject.prod.${category}.thing`,
            msg_id: `names-${process.pid}-${n++}`,
            timestamp: now,
            msg: {},
          })),
        ),
      );
      const api = await volumeTotal(third.base, '1m');
      expect(api.total).toBe(n);
      const { page, problems } = await open(`/examples/volume/?api=${encodeURIComponent(third.base)}`);
      await page.waitForSelector(`body[data-total="${api.total}"]`, { timeout: 10_000 });
      const drawn = await page.$$eval('#chart rect[data-volume]', (rs) =>
        rs.reduce((a, r) => a + Number(r.getAttribute('data-volume')), 0),
      );
      expect(drawn, 'the bars add up to the API').toBe(api.total);
      const legend = await page.$$eval('#legend span', (spans) =>
        spans.map((sp) => ({
          category: sp.getAttribute('data-category'),
          rest: sp.hasAttribute('data-rest'),
          text: sp.textContent,
        })),
      );
      expect(legend[0]).toEqual({ category: 'other', rest: false, text: 'other (31)' });
      expect(legend.filter((l) => l.category === 'end')).toEqual([{ category: 'end', rest: false, text: 'end (20)' }]);
      // Nine drawn on their own, the three quietest summed: 5 + 4 + 3.
      expect(legend.filter((l) => l.rest)).toEqual([{ category: null, rest: true, text: 'other 3 more (12)' }]);
      const layers = await page.$$eval('#chart g[data-category="other"]', (gs) =>
        gs.map((g) =>
          [...g.querySelectorAll('rect[data-volume]')].reduce((a, r) => a + Number(r.getAttribute('data-volume')), 0),
        ),
      );
      expect(layers, 'one layer for the category "other", holding its own count').toEqual([31]);
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await third.close();
    }
  });
});

describe('the examples setting', () => {
  it('is off by default and read from flags and the environment', () => {
    const base = { flags: { dataDir: '/tmp/unused' } };
    expect(loadConfig(base).examples).toBe(false);
    expect(loadConfig({ ...base, flags: { ...base.flags, examples: true } }).examples).toBe(true);
    expect(loadConfig({ ...base, env: { STATSCACHE_EXAMPLES: 'true' } }).examples).toBe(true);
    expect(loadConfig({ ...base, env: { STATSCACHE_EXAMPLES: 'false' } }).examples).toBe(false);
    expect(() => loadConfig({ ...base, env: { STATSCACHE_EXAMPLES: 'maybe' } })).toThrow(/examples/);
  });
});

/** Counts past 8 digits: one column of them, and a card with two (one below zero). */
const bigCount = definePlugin({
  name: 'Big count',
  summary: 'test plugin with a count past 8 digits',
  description: 'One row per message: its category and a count of 12 digits.',
  rows: rowsOf<{ timestamp: number; label: string; count: number }>(),
  columns: ['label', 'count'],
  key: ['timestamp', 'label'],
  update(message, { rows }) {
    rows.put({ timestamp: message.timestamp, label: message.category, count: 123_456_789_012 });
  },
});
const bigPair = definePlugin({
  name: 'Big pair',
  summary: 'test plugin with two number columns past 8 digits',
  description: 'One row per message: its category, the largest safe integer and a negative 13-digit total.',
  rows: rowsOf<{ timestamp: number; label: string; count: number; total: number }>(),
  columns: ['label', 'count', 'total'],
  key: ['timestamp', 'label'],
  update(message, { rows }) {
    rows.put({
      timestamp: message.timestamp,
      label: message.category,
      count: Number.MAX_SAFE_INTEGER,
      total: -1_234_567_890_123,
    });
  },
});

/** Named as the built-in 1 m volume (volume-by-category-1m, the page's default) but counting 12,345,678 a message. */
const bigVolume = definePlugin<VolumeByCategoryRow>({
  ...volumeByCategory('1m'),
  update(message, { rows, bucket }) {
    const key = rows.keyOf({ timestamp: bucket, category: message.category });
    rows.put({ timestamp: bucket, category: message.category, volume: (rows.get(key)?.volume ?? 0) + 12_345_678 });
  },
});

/** Every plugin but volume-by-category-1h: what an operator who turned that one off serves. */
const without1h = () => builtinPlugins().filter((p) => !(p.name === 'Volume by category' && p.interval === '1h'));

const badge = (page: Page) => page.$eval('#status', (b) => [b.className, b.textContent ?? ''] as const);

describe('what the pages show when /api serves more than the easy case, in headless Chromium', () => {
  let browser: Browser;
  beforeAll(async () => {
    browser = await sharedChromium();
  }, 60_000);
  afterAll(async () => {
    await releaseChromium(browser);
  });

  it('/dashboard: numbers past 8 digits are shown whole, never cut, and nothing grows past 1280 px', async () => {
    const t = await startLive({}, { plugins: [...builtinPlugins(), bigCount, bigPair] });
    try {
      await t.publish(samplesBatch());
      const { page, problems } = await openPage(browser, `${t.base}/dashboard`);
      await page.waitForSelector('section.card[data-ident="big-pair"][data-seq]', { timeout: 10_000 });
      await page.waitForSelector('section.card[data-ident="big-count"][data-seq]', { timeout: 10_000 });
      const cells = await page.$$eval('section.card td.num', (tds) =>
        tds.map((td) => ({
          ident: td.closest('section')?.getAttribute('data-ident') ?? '',
          text: td.textContent ?? '',
          cut: td.scrollWidth > td.clientWidth,
          right: td.getBoundingClientRect().right,
          card: td.closest('section')?.getBoundingClientRect().right ?? 0,
        })),
      );
      const big = cells.filter((c) => c.ident === 'big-count' || c.ident === 'big-pair');
      expect(big.length).toBeGreaterThanOrEqual(3 * 8);
      expect(new Set(big.map((c) => c.text))).toEqual(
        new Set(['123456789012', String(Number.MAX_SAFE_INTEGER), '-1234567890123']),
      );
      for (const c of cells) {
        expect(c.cut, `${c.ident}: ${c.text} is cut`).toBe(false);
        expect(c.right, `${c.ident}: ${c.text} spills out of its card`).toBeLessThanOrEqual(c.card);
      }
      // The one number column of a card widens to hold 12 digits on one line.
      const lines = await page.$$eval('section.card[data-ident="big-count"] td.num', (tds) =>
        tds.map((td) => {
          const range = document.createRange();
          range.selectNodeContents(td);
          return new Set([...range.getClientRects()].map((r) => Math.round(r.top))).size;
        }),
      );
      expect(new Set(lines)).toEqual(new Set([1]));
      await checkWidthsAndShoot(page, 'dashboard-big-numbers');
      if (SHOOT)
        await page
          .locator('section.card[data-ident="big-pair"]')
          .screenshot({ path: join(SCREENSHOTS, 'dashboard-big-pair.png') });
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await t.close();
    }
  }, 40_000);

  it('a live view refused for good (the plugin turned off) is said in its place; the badge is neither all live nor all down', async () => {
    const port = await freePort();
    let t = await startLive({ examples: true, port });
    try {
      await t.publish(samplesBatch());
      const volume = (await openPage(browser, `${t.base}/examples/volume/`)).page;
      const dashboard = (await openPage(browser, `${t.base}/dashboard`)).page;
      await volume.click('button[data-interval="1h"]');
      await volume.waitForSelector('body[data-interval="1h"][data-total]', { timeout: 10_000 });
      await dashboard.waitForSelector('section.card[data-ident="volume-by-category-1h"][data-seq]', {
        timeout: 10_000,
      });
      // The operator restarts it without volume-by-category-1h.
      await t.close();
      t = await startLive({ examples: true, port }, { plugins: [...without1h(), perCategory, fat] });
      await t.publish(samplesBatch());
      const card = 'section.card[data-ident="volume-by-category-1h"]';
      await dashboard.waitForSelector(`${card}[data-error="unknown_ident"]`, { timeout: 15_000 });
      expect(await dashboard.textContent(`${card} .meta`)).toMatch(/^server said: no plugin with ident/);
      await eventually(
        async () => ((await badge(dashboard))[0] === 'status partial' ? true : undefined),
        5_000,
        'the dashboard badge partial',
      );
      expect((await badge(dashboard))[1]).toMatch(/^live, 1 of \d+ cards not: volume-by-category-1h \(unknown_ident\)/);
      // The volume page's one view is the refused one: its chart says why, and the badge is not live.
      await volume.waitForSelector('body[data-problem]', { timeout: 15_000 });
      expect(await volume.getAttribute('#summary', 'class')).toBe('error');
      expect(await volume.textContent('#summary')).toMatch(/volume-by-category-1h/);
      expect((await badge(volume))[0]).toBe('status down');
      // Back to a view the server has: live again, the complaint gone.
      await volume.click('button[data-interval="1m"]');
      await eventually(
        async () =>
          (await badge(volume))[0] === 'status live' &&
          (await volume.getAttribute('body', 'data-problem')) === null &&
          (await volume.getAttribute('#summary', 'class')) === 'muted'
            ? true
            : undefined,
        10_000,
        'the volume page live on 1m',
      );
      await volume.close();
      await dashboard.close();
    } finally {
      await t.close();
    }
  }, 50_000);

  it('two live views of one page on the same view both stay current, and the one the server holds may leave', async () => {
    const t = await startLive({ examples: true });
    try {
      await t.publish(samplesBatch());
      const bundle = await build({
        entryPoints: ['examples/web-shared/live.ts'],
        bundle: true,
        write: false,
        format: 'iife',
        globalName: '__liveModule',
        target: 'chrome110',
        logLevel: 'silent',
      });
      const page = await browser.newPage({ bypassCSP: true });
      await page.goto(`${t.base}/examples/`);
      // Run as a script, not an expression: the bundle's global must outlive the evaluation.
      await page.evaluate(`${bundle.outputFiles[0]?.text ?? ''}\nglobalThis.__liveModule = __liveModule;`);
      await page.evaluate(() => {
        type Sub = { rows: Map<string, unknown>; seq: number | null };
        const w = window as unknown as {
          __liveModule: { Live: new (s: () => void) => { subscribe(...a: unknown[]): Sub; unsubscribe(s: Sub): void } };
          __live: { subscribe(...a: unknown[]): Sub; unsubscribe(s: Sub): void };
          __subs: Sub[];
        };
        w.__live = new w.__liveModule.Live(() => {});
        const params = { rows_per_page: 5 };
        w.__subs = [
          w.__live.subscribe('volume-by-category-1m', params, () => {}),
          w.__live.subscribe('volume-by-category-1m', params, () => {}),
        ];
      });
      /** Each subscription's rows, in the API's order, once both are at least at `seq`. */
      const held = () =>
        page.evaluate(() =>
          (
            window as unknown as {
              __subs: { rows: Map<string, { timestamp: number; category: string }>; seq: number | null }[];
            }
          ).__subs.map((s) => ({
            seq: s.seq,
            rows: [...s.rows.values()].sort((a, b) => b.timestamp - a.timestamp || (a.category < b.category ? -1 : 1)),
          })),
        );
      const api = async () =>
        (
          (await (await fetch(`${t.base}/api/volume-by-category-1m?rows_per_page=5`)).json()) as {
            timestamp: number;
            category: string;
          }[]
        ).sort((a, b) => b.timestamp - a.timestamp || (a.category < b.category ? -1 : 1));
      const agree = async (count: number, what: string) => {
        const want = JSON.stringify(await api());
        await eventually(
          async () => {
            const subs = (await held()).slice(0, count);
            return subs.every((s) => JSON.stringify(s.rows) === want) ? true : undefined;
          },
          5_000,
          what,
        );
      };
      await agree(2, 'both served');
      const first = (await held()).map((s) => s.seq);
      await t.publish(samplesBatch(Math.floor(Date.now() / 1000)).slice(-30));
      await agree(2, 'both updated');
      const second = (await held()).map((s) => s.seq);
      expect(second[0]).toBeGreaterThan(first[0] ?? 0);
      expect(second[1]).toBe(second[0]);
      // The second leaves: the first keeps the server's subscription, and its updates.
      await page.evaluate(() => {
        const w = window as unknown as { __live: { unsubscribe(s: unknown): void }; __subs: unknown[] };
        w.__live.unsubscribe(w.__subs.pop());
      });
      await t.publish(samplesBatch(Math.floor(Date.now() / 1000) + 1).slice(-30));
      await agree(1, 'the first updated after the second left');
      expect((await held())[0]?.seq).toBeGreaterThan(second[0] ?? 0);
      await page.close();
    } finally {
      await t.close();
    }
  }, 40_000);

  it('volume: rows changed outside the live page (a backfill of old messages) reach the page without a reload', async () => {
    const t = await startLive({ examples: true });
    try {
      const now = Math.floor(Date.now() / 1000);
      const categories = Array.from({ length: 8 }, (_, i) => `recent${i}`);
      let n = 0;
      const message = (category: string, timestamp: number): RawEnvelope => ({
        topic: `org.fedoraproject.prod.${category}.x`,
        msg_id: `backfill-${process.pid}-${n++}`,
        timestamp,
        msg: {},
      });
      // 104 rows of the last 13 minutes: more than the live view's 100, so older ones are not in it.
      await t.publish(Array.from({ length: 13 }, (_, m) => categories.map((c) => message(c, now - 60 * m - 5))).flat());
      let sockets = 0;
      const { page, problems } = await openPage(browser, `${t.base}/examples/volume/`, {
        before: async (p) => {
          await p.clock.install();
          p.on('websocket', () => sockets++);
        },
      });
      const apiTotal = async () => (await volumeTotalOf(t.base)).total;
      const before = await apiTotal();
      await page.waitForSelector(`body[data-total="${before}"]`, { timeout: 10_000 });
      // The outage's messages arrive: dated 40 minutes ago, inside the page's hour, outside the live page.
      const old = now - 40 * 60;
      await t.publish([
        ...Array.from({ length: 7 }, () => message('recent3', old)),
        ...Array.from({ length: 5 }, () => message('backfilled', old - 60)),
      ]);
      const newest = (await (await fetch(`${t.base}/api/volume-by-category-1m?rows_per_page=100`)).json()) as {
        timestamp: number;
      }[];
      expect(newest.length).toBe(100);
      expect(Math.min(...newest.map((r) => r.timestamp))).toBeGreaterThan(old);
      const after = await apiTotal();
      expect(after).toBe(before + 12);
      // Within the page's re-read time (its own clock, moved on), without a reload or a new socket.
      await page.clock.fastForward(160_000);
      await eventually(
        async () => ((await page.getAttribute('body', 'data-total')) === String(after) ? true : undefined),
        10_000,
        `the page's total at /api's ${after}`,
      );
      expect(
        await page.$$eval('#chart g[data-category="backfilled"] rect[data-volume]', (rs) =>
          rs.map((r) => Number(r.getAttribute('data-volume'))),
        ),
      ).toEqual([5]);
      expect(sockets).toBe(1);
      expect(await page.textContent('#status')).toBe('live');
      expect(problems).toEqual([]);
      await page.close();
    } finally {
      await t.close();
    }
  }, 40_000);
});
