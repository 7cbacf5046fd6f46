import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { openPage, reconnectNow as reconnectPage, releaseChromium, sharedChromium } from '../helpers/browser.js';
import { freePort } from '../helpers/free-port.js';
import { recentSamples, type RawEnvelope } from '../helpers/fixtures.js';
import { journaledAndApplied, joinedPublisher } from '../helpers/probes.js';
import { eventually, startService, tempDir, type RunningService } from '../helpers/service-process.js';

type ReleaseRow = { timestamp: number; category: string; message: string };
const RELENG = 'release-engineering-event-logs';

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

/** What each example page shows, next to what the API serves: equal when the page tells the truth. */
const views = {
  async releng(page: Page, base: string) {
    const rows = await every<ReleaseRow>(base, RELENG, 'order=desc');
    const shown = await page.$$eval('article.component', (cs) =>
      cs.map((c) => [
        c.getAttribute('data-component') ?? '',
        [...c.querySelectorAll('li.event')].map(
          (li) => `${li.querySelector('.name')?.textContent} ${li.querySelector('time')?.getAttribute('datetime')}`,
        ),
      ]),
    );
    const api = shown.map(([id]) => [
      id,
      rows
        .filter((r) => r.category === id)
        .sort((a, b) => b.timestamp - a.timestamp)
        .slice(0, 8)
        .map(
          (r) => `${(JSON.parse(r.message) as { name: string }).name} ${new Date(r.timestamp * 1000).toISOString()}`,
        ),
    ]);
    return { shown, api };
  },
  async volume(page: Page, base: string) {
    const width = (await page.getAttribute('body', 'data-interval')) ?? '1m';
    const step = { '1m': 60, '1h': 3600, '1d': 86_400 }[width] ?? 60;
    const buckets = { '1m': 60, '1h': 48, '1d': 30 }[width] ?? 60;
    const newest = Math.ceil(Date.now() / 1000 / step) * step;
    const rows = (
      await every<{ timestamp: number; volume: number }>(
        base,
        `volume-by-category-${width}`,
        `start=${newest - buckets * step}`,
      )
    ).filter((r) => r.timestamp > newest - buckets * step);
    const total = rows.reduce((a, r) => a + r.volume, 0);
    const bars = await page.$$eval('#chart rect[data-volume]', (rs) =>
      rs.reduce((a, r) => a + Number(r.getAttribute('data-volume')), 0),
    );
    return { shown: [await page.getAttribute('body', 'data-total'), bars], api: [String(total), total] };
  },
  async calendar(page: Page, base: string) {
    const user = (await page.getAttribute('body', 'data-user')) ?? '';
    const rows = await every<{ date: string; volume: number }>(
      base,
      'contribution-calendar-1d',
      `user=${encodeURIComponent(user)}&days=371`,
    );
    const shown = await page.$$eval('rect.day', (rs) =>
      rs
        .map((r) => [r.getAttribute('data-date') ?? '', Number(r.getAttribute('data-count'))] as const)
        .filter(([, n]) => n > 0),
    );
    return { shown: [user, shown.sort()], api: [user, rows.map((r) => [r.date, r.volume] as const).sort()] };
  },
};

/** The message ids of each batch are new: the journal keeps every one. */
let batchNo = 0;
const batch = (end: number, count = 510): RawEnvelope[] => {
  const b = ++batchNo;
  return recentSamples(end)
    .slice(-count)
    .map((e, i) => ({ ...e, msg_id: `restart-page-${process.pid}-${b}-${i}` }));
};

/**
 * The browser examples across a real service process killed (SIGKILL) and restarted on the same
 * port: the badge stops saying live while it is gone; back, each page reconnects on its own and
 * ends showing what /api serves, after a restart onto another epoch with less state too; a live
 * view refused for load shedding (on /dashboard too) and reads answered 503/429 are retried, with
 * back-off.
 */
describe('the browser examples across service restarts, in headless Chromium', () => {
  const dirA = tempDir('statscache-restart-a-');
  const dirB = tempDir('statscache-restart-b-');
  const T = Math.floor(Date.now() / 1000);
  let svc: RunningService;
  let browser: Browser;
  const pages: { name: keyof typeof views; page: Page; sockets: number; subscribes: number }[] = [];

  const start = async (dir: string, port: number, extra: string[] = []) =>
    startService(['--examples', '--data-dir', dir, '--snapshot-interval', '3600', '--port', String(port), ...extra]);
  const publish = async (envelopes: RawEnvelope[], total: number) => {
    const pub = await joinedPublisher(svc);
    for (const e of envelopes) await pub.send(e.topic, JSON.stringify(e));
    pub.close();
    await eventually(
      async () => ((await journaledAndApplied(svc.base, total)) ? true : undefined),
      15_000,
      `${total} journaled`,
    );
  };
  const badge = (page: Page) => page.$eval('#status', (b) => [b.className, b.textContent ?? ''] as const);
  /** Every text the badge showed, in order (recorded in the page). */
  const badgeHistory = (page: Page) => page.evaluate(() => (window as unknown as { __badges: string[] }).__badges);
  const agree = (what: string) =>
    eventually(
      async () => {
        for (const p of pages) {
          const { shown, api } = await views[p.name](p.page, svc.base);
          if (JSON.stringify(shown) !== JSON.stringify(api))
            throw new Error(
              `${p.name}: page ${JSON.stringify(shown).slice(0, 300)} ≠ api ${JSON.stringify(api).slice(0, 300)}`,
            );
          const [cls] = await badge(p.page);
          if (cls !== 'status live') throw new Error(`${p.name}: badge ${cls}`);
        }
        return true;
      },
      20_000,
      `every page showing what /api serves, live (${what})`,
    );
  /** The service is back: each page reconnects without waiting out its back-off. */
  const reconnectNow = async () => {
    for (const p of pages) await reconnectPage(p.page);
  };
  const killAndSeeBadgesDrop = async () => {
    await svc.stop('SIGKILL');
    for (const p of pages)
      await eventually(
        async () => ((await badge(p.page))[0] !== 'status live' ? true : undefined),
        5_000,
        `${p.name}: badge no longer live`,
      );
  };

  beforeAll(async () => {
    // A port of its own from the first start: uSockets sets SO_REUSEADDR only for a given port,
    // and without it the killed process's connections would hold port 0's pick for a minute.
    svc = await start(dirA.path, await freePort());
    browser = await sharedChromium();
  }, 60_000);
  afterAll(async () => {
    await releaseChromium(browser);
    await svc?.stop('SIGKILL');
    dirA.remove();
    dirB.remove();
  });

  it('SIGKILL: badges drop; restarted: pages reconnect and match /api, also onto a new epoch with less state', async () => {
    await publish(batch(T - 1300), 510);
    const top = (await (await fetch(`${svc.base}/api/top-users?window=week&n=1`)).json()) as { user: string }[];
    const user = top[0]?.user ?? '';
    for (const [name, path] of [
      ['releng', '/examples/releng-dashboard/'],
      ['volume', '/examples/volume/'],
      ['calendar', `/examples/contribution-calendar/?user=${encodeURIComponent(user)}`],
    ] as const) {
      const entry = { name, page: null as unknown as Page, sockets: 0, subscribes: 0 };
      const { page } = await openPage(browser, `${svc.base}${path}`, {
        before: async (p) => {
          await p.clock.install();
          p.on('websocket', (ws) => {
            entry.sockets++;
            ws.on('framesent', (f) => {
              if (String(f.payload).includes('"op":"subscribe"')) entry.subscribes++;
            });
          });
          await p.addInitScript(() => {
            const w = window as unknown as { __badges: string[] };
            w.__badges = [];
            document.addEventListener('DOMContentLoaded', () => {
              const b = document.getElementById('status');
              if (!b) return;
              const note = () => w.__badges.push(`${b.className}|${b.textContent}`);
              new MutationObserver(note).observe(b, {
                childList: true,
                characterData: true,
                subtree: true,
                attributes: true,
              });
            });
          });
        },
      });
      entry.page = page;
      pages.push(entry);
    }
    await agree('first start');

    // 1. Killed: every badge stops saying live, and reconnects back off rather than hammer.
    await killAndSeeBadgesDrop();
    const before = pages.map((p) => p.sockets);
    // Each page's back-off runs on its installed clock, moved on a second at a time while the
    // page waits (badge down; as reconnectNow does, so no attempt under way is moved past its
    // limit) instead of waited out: ~3 s of real time for a second attempt at 1 s, then 2 s.
    await eventually(
      async () => {
        const waiting = pages.filter((p, i) => p.sockets < (before[i] ?? 0) + 2);
        for (const p of waiting) if ((await badge(p.page))[0] === 'status down') await p.page.clock.fastForward(1000);
        return waiting.length === 0 ? true : undefined;
      },
      10_000,
      'two reconnect attempts each',
    );
    for (const p of pages) {
      expect((await badge(p.page))[1], p.name).toMatch(/disconnected|connecting/);
      expect((await badgeHistory(p.page)).at(-1), p.name).not.toMatch(/^status live/);
    }

    // 2. Same port and data dir; messages published after: each page catches up on its own.
    svc = await start(dirA.path, svc.port);
    await reconnectNow();
    await publish(batch(T - 700), 1020);
    await agree('restarted on the same data dir');

    // 3. Another epoch holding less (an older state, another replica): pages resync to it,
    // not merge onto what the old server showed (counts must not stay at the old, larger ones).
    await killAndSeeBadgesDrop();
    svc = await start(dirB.path, svc.port);
    await reconnectNow();
    await publish(batch(T - 100, 60), 60);
    await agree('a new epoch with less state');
  }, 60_000);

  it('live views refused by load shedding (too_many_new_views) are asked again with back-off, and served', async () => {
    await killAndSeeBadgesDrop();
    svc = await start(dirB.path, svc.port, ['--ws-max-new-views-per-ip', '30']);
    await reconnectNow();
    await agree('restarted with a new-view budget');
    // This IP's burst of new views, spent at once: one more is granted every 2 s.
    const hog = new WebSocket(`ws://127.0.0.1:${svc.port}/ws`);
    await new Promise((r) => hog.once('open', r));
    const refused: string[] = [];
    hog.on('message', (d) => {
      const f = JSON.parse(String(d)) as { type: string; error?: string };
      if (f.type === 'error') refused.push(f.error ?? '');
    });
    for (let i = 1; i <= 30; i++)
      hog.send(JSON.stringify({ op: 'subscribe', id: i, ident: 'volume-1s', params: { rows_per_page: i } }));
    await eventually(() => (refused.length > 0 ? true : undefined), 5_000, 'the burst spent');
    expect(refused[0]).toBe('too_many_new_views');
    // New views the pages ask for now are refused until the budget refills.
    const volume = pages.find((p) => p.name === 'volume');
    const calendar = pages.find((p) => p.name === 'calendar');
    if (!volume || !calendar) throw new Error('pages missing');
    const sentBefore = [volume.subscribes, calendar.subscribes];
    const shownUser = await calendar.page.getAttribute('body', 'data-user');
    const top = (await (await fetch(`${svc.base}/api/top-users?window=week&n=5`)).json()) as { user: string }[];
    const other = top.find((t) => t.user !== shownUser)?.user ?? '';
    expect(other).not.toBe('');
    // Each token the budget grants meanwhile goes to the hog, until both pages were refused. Asked
    // every 25 ms (40 frames/s, under --ws-max-frames-per-second): at every 200 ms a page's
    // request sometimes came first after a refill (one token each 2 s) and was served, never refused.
    let draining = true;
    const drain = (async () => {
      for (let n = 31; draining; n++) {
        hog.send(JSON.stringify({ op: 'subscribe', id: n, ident: 'volume-5s', params: { rows_per_page: n } }));
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    await volume.page.click('button[data-interval="1h"]');
    await calendar.page.fill('#user', other);
    await calendar.page.click('#pick button[type="submit"]');
    const wasRefused = async (p: (typeof pages)[number]) =>
      (await badgeHistory(p.page)).some((b) => b.includes('too_many_new_views'));
    try {
      await eventually(
        async () => ((await wasRefused(volume)) && (await wasRefused(calendar)) ? true : undefined),
        10_000,
        'both pages refused',
      );
    } finally {
      draining = false;
      await drain;
    }
    await agree('after refusals');
    hog.close();
    for (const [i, p] of [volume, calendar].entries()) {
      // Retried, with back-off: a few subscribes, not one per tick.
      const sent = p.subscribes - (sentBefore[i] ?? 0);
      expect(sent, p.name).toBeGreaterThanOrEqual(2);
      expect(sent, p.name).toBeLessThanOrEqual(8);
    }
    expect(await volume.page.getAttribute('body', 'data-interval')).toBe('1h');
    expect(await calendar.page.getAttribute('body', 'data-user')).toBe(other);
  }, 45_000);

  it('reads answered 503 and 429 (a proxy shedding load) are retried after Retry-After, the badge saying so', async () => {
    let n = 0;
    const { page } = await openPage(browser, `${svc.base}/examples/releng-dashboard/`, {
      before: async (p) => {
        await p.route(`**/api/${RELENG}/layout`, async (route) => {
          n++;
          if (n === 1) return route.fulfill({ status: 503, headers: { 'Retry-After': '1' }, body: 'busy' });
          if (n === 2) return route.fulfill({ status: 429, headers: { 'Retry-After': '1' }, body: 'slow down' });
          return route.continue();
        });
      },
    });
    await eventually(
      async () => ((await badge(page))[1].includes('HTTP 429; retrying') ? true : undefined),
      5_000,
      'the badge naming the refusal',
    );
    await page.waitForSelector('body[data-seq]', { timeout: 10_000 });
    const { shown, api } = await views.releng(page, svc.base);
    expect(shown).toEqual(api);
    expect(await badge(page)).toEqual(['status live', 'live']);
    expect(n, 'the layout asked for three times: refused, refused, served').toBe(3);
    await page.close();
  }, 30_000);

  it('/dashboard: cards refused after a restart (too_many_new_views) are asked again and go live', async () => {
    for (const p of pages.splice(0)) await p.page.close();
    const idents = (await (await fetch(`${svc.base}/api/`)).json()) as string[];
    await svc.stop('SIGKILL');
    // One dashboard opens a view per plugin: a budget two short refuses two cards, refilled within seconds.
    svc = await start(dirB.path, svc.port, ['--ws-max-new-views-per-ip', String(idents.length - 2)]);
    const { page } = await openPage(browser, `${svc.base}/dashboard`);
    await page.waitForSelector('section.card[data-error="too_many_new_views"]', { timeout: 10_000 });
    await page.waitForFunction(
      (n) =>
        document.querySelectorAll('section.card[data-seq]').length === n &&
        document.querySelectorAll('section.card[data-error]').length === 0,
      idents.length,
      { timeout: 20_000 },
    );
    expect(await badge(page)).toEqual(['status live', 'live']);
    await page.close();
  }, 40_000);

  it('a server that stops answering without closing (SIGSTOP): the badges stop saying live, and come back', async () => {
    // Without the new-view budget of the cases above: only the silence is under test here.
    await svc.stop('SIGKILL');
    svc = await start(dirB.path, svc.port);
    const open = (path: string) => openPage(browser, `${svc.base}${path}`, { before: (p) => p.clock.install() });
    const releng = (await open('/examples/releng-dashboard/')).page;
    const dashboard = (await open('/dashboard')).page;
    await releng.waitForSelector('body[data-seq]', { timeout: 10_000 });
    await dashboard.waitForSelector('section.card[data-seq]', { timeout: 10_000 });
    for (const page of [releng, dashboard]) expect((await badge(page))[0]).toBe('status live');
    const pid = svc.child.pid ?? 0;
    process.kill(pid, 'SIGSTOP');
    try {
      for (const page of [releng, dashboard]) {
        // Quiet for 16 s (the page asks whether the server is there), then 11 s without an answer.
        await page.clock.fastForward(16_000);
        await page.clock.fastForward(11_000);
        await eventually(
          async () => ((await badge(page))[0] !== 'status live' ? true : undefined),
          5_000,
          'the badge no longer live',
        );
        expect((await badge(page))[1]).toMatch(/^no answer from the server in \d+ s; re(trying|connecting) in \d+ s$/);
      }
    } finally {
      process.kill(pid, 'SIGCONT');
    }
    for (const page of [releng, dashboard])
      await eventually(async () => ((await badge(page))[0] === 'status live' ? true : undefined), 15_000, 'live again');
    const { shown, api } = await views.releng(releng, svc.base);
    expect(shown).toEqual(api);
    await releng.close();
    await dashboard.close();
  }, 40_000);
});
