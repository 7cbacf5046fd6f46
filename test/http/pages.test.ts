import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { escapeHtml, html } from '../../src/http/pages/html.js';
import { eventually } from '../helpers/service-process.js';
import { feed, fedWithSamples, serve, type Served } from './harness.js';

const CHROMIUM_ARGS = ['--headless', '--no-sandbox', '--disable-gpu', '--disable-background-networking', '--disable-component-update', '--no-first-run', '--disable-sync'];

describe('the documentation page and the dashboard in headless Chromium', () => {
  let s: Served;
  let browser: Browser;
  beforeAll(async () => {
    s = await serve();
    await fedWithSamples(s);
    browser = await chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
  }, 60_000);
  afterAll(async () => {
    await browser?.close();
    await s?.close();
  });

  /** A page that records console errors, page errors and failed requests. */
  async function open(path: string): Promise<{ page: Page; problems: string[] }> {
    const page = await browser.newPage();
    const problems: string[] = [];
    page.on('console', (m) => {
      if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
    });
    page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
    page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()}`));
    page.on('response', (r) => {
      if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
    });
    const res = await page.goto(`${s.base}${path}`);
    expect(res?.status()).toBe(200);
    return { page, problems };
  }

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
    for (const phrase of ['What is this?', 'rows_per_page', 'X-Link-Count', 'If-None-Match', "op: 'subscribe'", '"type":"snapshot"', '"type":"update"', '"seq"']) {
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
    expect(problems).toEqual([]);
    await page.close();
  });

  it('/dashboard shows the newest 8 rows of every plugin and updates them live over the WebSocket', async () => {
    const { page, problems } = await open('/dashboard');
    const idents = s.service.host.idents;
    await page.waitForSelector(`body[data-plugins="${idents.length}"]`, { timeout: 10_000 });
    await page.waitForFunction((n) => document.querySelectorAll('section.card[data-seq]').length === n, idents.length, { timeout: 10_000 });
    expect(await page.textContent('#status')).toBe('live');
    const cards = await page.$$eval('section.card', (cs) => cs.map((c) => ({ ident: c.getAttribute('data-ident'), rows: c.querySelectorAll('tbody tr').length })));
    expect(cards.map((c) => c.ident)).toEqual(idents);
    for (const c of cards) {
      const newest = (await (await fetch(`${s.base}/api/${c.ident}?rows_per_page=8`)).json()) as unknown[];
      // An empty plugin shows one "no rows yet" line.
      expect(c.rows, c.ident ?? '').toBe(Math.max(1, newest.length));
    }

    // The newest minute's count as the page shows it, then after more messages.
    const cellOf = () => page.$eval('section.card[data-ident="volume-1m"] tbody tr td:nth-child(2)', (td) => td.textContent);
    const before = Number(await cellOf());
    const api = async () => ((await (await fetch(`${s.base}/api/volume-1m?rows_per_page=1`)).json()) as { volume: number }[])[0]?.volume;
    expect(before).toBe(await api());
    const more = feed(Math.floor(Date.now() / 1000)).slice(-30);
    await s.publish(more);
    const after = await eventually(async () => {
      const v = Number(await cellOf());
      return v !== before && v === (await api()) ? v : undefined;
    }, 10_000, 'the dashboard to show the new count');
    expect(after).toBe(await api());
    expect(Number(await page.getAttribute('section.card[data-ident="volume-1m"]', 'data-seq'))).toBeGreaterThan(0);
    expect(problems).toEqual([]);
    await page.close();
  });
});

describe('HTML escaping of the page templates', () => {
  it('escapes every interpolated value', () => {
    expect(escapeHtml(`<script>alert("x")</script>&'`)).toBe('&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt;&amp;&#39;');
    const evil = '"><img src=x onerror=alert(1)>';
    expect(html`<a title="${evil}">${evil}</a>`.value).toBe('<a title="&quot;&gt;&lt;img src=x onerror=alert(1)&gt;">&quot;&gt;&lt;img src=x onerror=alert(1)&gt;</a>');
  });
});
