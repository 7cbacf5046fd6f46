import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../src/http/pages/html.js';
import { checkWidthsAndShoot, releaseChromium, sharedChromium, openPage } from '../helpers/browser.js';
import { eventually } from '../helpers/service-process.js';
import { builtinPlugins } from '../../plugins/index.js';
import { feed, fedWithSamples, serve, type Served } from './harness.js';

/**
 * For the tests of one describe: a service (with `plugins`, else the built-in ones) fed the
 * samples, and the shared Chromium; `ready` hands both over before the first test.
 */
function servedInChromium(plugins: readonly unknown[] | undefined, ready: (s: Served, browser: Browser) => void): void {
  let s: Served | undefined;
  let browser: Browser | undefined;
  beforeAll(async () => {
    s = await serve(plugins);
    await fedWithSamples(s);
    browser = await sharedChromium();
    ready(s, browser);
  }, 60_000);
  afterAll(async () => {
    await releaseChromium(browser);
    await s?.close();
  });
}

describe('the documentation page and the dashboard in headless Chromium', () => {
  let s: Served;
  let browser: Browser;
  servedInChromium(undefined, (served, chromium) => {
    s = served;
    browser = chromium;
  });

  /** A page that records console errors, page errors and failed requests. */
  const open = (path: string): Promise<{ page: Page; problems: string[] }> => openPage(browser, `${s.base}${path}`);

  it('/ introduces statscache, lists every plugin with live counts, and its example links work', async () => {
    const { page, problems } = await open('/');
    await page.waitForSelector('body[data-loaded="true"]', { timeout: 10_000 });
    const idents = s.service.host.idents;
    const listed = await page.$$eval('#plugin-list tbody tr', (rows) => rows.map((r) => r.getAttribute('data-ident')));
    expect(listed).toEqual(idents);
    const counts = await page.$$eval('#plugin-list tbody tr .rows', (cells) => cells.map((c) => c.textContent));
    const discovery = (await (await fetch(`${s.base}/plugins`)).json()) as { plugins: { rows: number }[] };
    expect(counts).toEqual(discovery.plugins.map((p) => String(p.rows)));
    expect(counts.some((c) => Number(c) > 0)).toBe(true);
    const text = await page.textContent('main');
    for (const phrase of [
      'What is this?',
      'rows_per_page',
      'X-Link-Count',
      'If-None-Match',
      "op: 'subscribe'",
      '"type":"snapshot"',
      '"type":"update"',
      '"seq"',
    ]) {
      expect(text, phrase).toContain(phrase);
    }
    const examples = await page.$$eval('a.example', (as) => as.map((a) => a.getAttribute('href') ?? ''));
    expect(examples.length).toBeGreaterThan(15);
    for (const href of new Set(examples)) {
      expect(href.startsWith('/'), href).toBe(true);
      const res = await fetch(`${s.base}${href}`);
      expect(res.status, href).toBe(200);
    }
    const errors = await page.$$eval('a.example-error', (as) => as.map((a) => a.getAttribute('href') ?? ''));
    for (const href of errors) expect((await fetch(`${s.base}${href}`)).status, href).toBeGreaterThanOrEqual(400);
    await checkWidthsAndShoot(page, 'docs');
    expect(problems).toEqual([]);
    await page.close();
  });

  it('/dashboard shows the newest 8 rows of every plugin and updates them live over the WebSocket', async () => {
    const { page, problems } = await open('/dashboard');
    const idents = s.service.host.idents;
    await page.waitForSelector(`body[data-plugins="${idents.length}"]`, { timeout: 10_000 });
    await page.waitForFunction((n) => document.querySelectorAll('section.card[data-seq]').length === n, idents.length, {
      timeout: 10_000,
    });
    expect(await page.textContent('#status')).toBe('live');
    const cards = await page.$$eval('section.card', (cs) =>
      cs.map((c) => ({ ident: c.getAttribute('data-ident'), rows: c.querySelectorAll('tbody tr').length })),
    );
    expect(cards.map((c) => c.ident)).toEqual(idents);
    for (const c of cards) {
      const newest = (await (await fetch(`${s.base}/api/${c.ident}?rows_per_page=8`)).json()) as unknown[];
      // An empty plugin shows one "no rows yet" line.
      expect(c.rows, c.ident ?? '').toBe(Math.max(1, newest.length));
    }

    // The newest minute's count as the page shows it, then after more messages.
    const cellOf = () =>
      page.$eval('section.card[data-ident="volume-1m"] tbody tr td:nth-child(2)', (td) => td.textContent);
    const before = Number(await cellOf());
    const api = async () =>
      ((await (await fetch(`${s.base}/api/volume-1m?rows_per_page=1`)).json()) as { volume: number }[])[0]?.volume;
    expect(before).toBe(await api());
    const more = feed(Math.floor(Date.now() / 1000)).slice(-30);
    await s.publish(more);
    const after = await eventually(
      async () => {
        const v = Number(await cellOf());
        return v !== before && v === (await api()) ? v : undefined;
      },
      10_000,
      'the dashboard to show the new count',
    );
    expect(after).toBe(await api());
    expect(Number(await page.getAttribute('section.card[data-ident="volume-1m"]', 'data-seq'))).toBeGreaterThan(0);
    await checkWidthsAndShoot(page, 'dashboard');
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe("the dashboard's first paint, before any live frame", () => {
  let s: Served;
  let browser: Browser;
  servedInChromium(undefined, (served, chromium) => {
    s = served;
    browser = chromium;
  });

  const iso = (ts: number) => new Date(ts * 1000).toISOString();

  it("shows the server's rows: periods not end stamps, busiest first, long text cut with the whole text on hover, nothing wider than the window", async () => {
    // The socket is routed to nowhere: whatever the page shows came with the HTML.
    const { page, problems } = await openPage(browser, `${s.base}/dashboard`, {
      before: (p) => p.routeWebSocket(/\/ws$/, () => undefined),
    });
    // The routed socket opens but never answers, so no card has a live snapshot (data-seq).
    expect(await page.$$eval('section.card', (cs) => cs.length)).toBe(s.service.host.idents.length);
    expect(await page.$$eval('section.card[data-seq]', (cs) => cs.length)).toBe(0);
    const card = 'section.card[data-ident="volume-by-category-1m"]';
    const shown = await page.$$eval(`${card} tbody tr`, (trs) =>
      trs.map((tr) =>
        [...tr.querySelectorAll('td')].map((td) => ({
          text: td.textContent ?? '',
          title: td.getAttribute('title') ?? '',
        })),
      ),
    );
    const api = (await (await fetch(`${s.base}/api/volume-by-category-1m?rows_per_page=100`)).json()) as {
      timestamp: number;
      category: string;
      volume: number;
    }[];
    const expected = [...api].sort((a, b) => b.timestamp - a.timestamp || b.volume - a.volume).slice(0, 8);
    expect(expected.length).toBeGreaterThan(1);
    expect(shown.map((r) => Number(r[2]?.text))).toEqual(expected.map((r) => r.volume));
    for (const [i, row] of shown.entries()) {
      const want = expected[i];
      if (!want) throw new Error('more rows shown than expected');
      // "13:22–13:23": the minute the count covers, with the exact span on hover.
      expect(row[0]?.text).toBe(`${iso(want.timestamp - 60).slice(11, 16)}–${iso(want.timestamp).slice(11, 16)}`);
      expect(row[0]?.title).toBe(`${iso(want.timestamp - 60)} – ${iso(want.timestamp)}`);
      expect(
        api.some((r) => r.timestamp === want.timestamp && r.category === row[1]?.text && r.volume === want.volume),
        JSON.stringify(row),
      ).toBe(true);
    }
    // The busiest category of the newest minute leads, not the last one alphabetically.
    const newest = api.filter((r) => r.timestamp === expected[0]?.timestamp);
    expect(Number(shown[0]?.[2]?.text)).toBe(Math.max(...newest.map((r) => r.volume)));

    const volume = await page.$eval('section.card[data-ident="volume-1m"] tbody tr td:nth-child(2)', (td) =>
      Number(td.textContent),
    );
    expect(volume).toBe(
      ((await (await fetch(`${s.base}/api/volume-1m?rows_per_page=1`)).json()) as { volume: number }[])[0]?.volume,
    );

    const cut = await page.$$eval('section.card td.text', (tds) =>
      tds.map((td) => ({
        text: td.textContent,
        title: td.getAttribute('title'),
        cut: td.scrollWidth > td.clientWidth,
      })),
    );
    expect(cut.length).toBeGreaterThan(20);
    // The whole value is on hover; a topic may show only its distinctive end.
    for (const c of cut)
      expect(
        c.text?.startsWith('…') ? c.title?.endsWith(c.text.slice(1)) : c.title === c.text,
        `${c.text} / ${c.title}`,
      ).toBe(true);
    expect(cut.filter((c) => c.cut).length, 'long topics are cut (ellipsis), not spilled').toBeGreaterThan(0);
    const cards = await page.$$eval('section.card', (cs) =>
      cs.map((c) => ({
        ident: c.getAttribute('data-ident'),
        right: c.getBoundingClientRect().right,
        tableRight: c.querySelector('table')?.getBoundingClientRect().right ?? 0,
      })),
    );
    for (const c of cards)
      expect(c.tableRight, `${c.ident}: the table stays inside its card`).toBeLessThanOrEqual(c.right);
    await checkWidthsAndShoot(page, 'dashboard-first-paint');
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('a plugin whose rows the page cannot show costs its own card only', () => {
  let s: Served;
  let browser: Browser;
  /** Rows JSON cannot hold once a message arrived (a BigInt): /api answers 500 for it alone. */
  const bigint = {
    name: 'Big count',
    summary: 's',
    description: 'd',
    columns: ['n'],
    key: ['timestamp'],
    update: () => {},
    view: (ctx: { newest: number | null }) => (ctx.newest === null ? [] : [{ timestamp: ctx.newest, n: 1n }]),
  };
  servedInChromium([...builtinPlugins(), bigint], (served, chromium) => {
    s = served;
    browser = chromium;
  });

  it('serves the dashboard, paints every other card and goes live; the failing card says why', async () => {
    expect((await fetch(`${s.base}/api/big-count`)).status).toBe(500);
    const res = await fetch(`${s.base}/dashboard`);
    expect(res.status).toBe(200);
    const { page, problems } = await openPage(browser, `${s.base}/dashboard`);
    const idents = s.service.host.idents;
    await page.waitForSelector(`body[data-plugins="${idents.length}"]`, { timeout: 10_000 });
    // Every card but the failing one gets its live snapshot, and the connection stays live.
    await page.waitForFunction(
      (n) => document.querySelectorAll('section.card[data-seq]').length === n,
      idents.length - 1,
      { timeout: 10_000 },
    );
    // Connected and every other card live, this one not: the badge says so, not plain "live".
    expect(await page.getAttribute('#status', 'class')).toBe('status partial');
    expect(await page.textContent('#status')).toBe(`live, 1 of ${idents.length} cards not: big-count (view_failed)`);
    expect(await page.getAttribute('section.card[data-ident="big-count"]', 'data-error')).toBe('view_failed');
    expect(await page.textContent('section.card[data-ident="big-count"] .meta')).toMatch(/^server said: /);
    const volume = await page.$eval('section.card[data-ident="volume-1m"] tbody tr td:nth-child(2)', (td) =>
      Number(td.textContent),
    );
    expect(volume).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('HTML escaping of the page templates', () => {
  it('escapes every interpolated value', () => {
    expect(escapeHtml(`<script>alert("x")</script>&'`)).toBe(
      '&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;',
    );
    const evil = '"><img src=x onerror=alert(1)>';
    expect(html`<a title="${evil}">${evil}</a>`.value).toBe(
      '<a title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</a>',
    );
  });
});
