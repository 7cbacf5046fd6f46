import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { RawEnvelope } from '../helpers/fixtures.js';
import { checkWidthsAndShoot, releaseChromium, sharedChromium, openPage } from '../helpers/browser.js';
import { samplesBatch, startLive, type Live } from '../ws/harness.js';

/** Markup that runs script if any page ever parses published text as HTML. */
const XSS = '<img src=x onerror="window.__pwned=1">';
const RLO = '\u202E';
const ZWSP = '\u200B';
/** As long as a username may be (MAX_NAME), without a space to break at. */
const LONG = 'u'.repeat(255);
const CATEGORY = 'c'.repeat(200);

/** A masher live-CD task (the releng plugin's artifact source): `new` is the status the page shows. */
const livecd = (n: number, t: number, srpm: string, state: string): RawEnvelope => ({
  topic: 'org.fedoraproject.prod.buildsys.task.state.change',
  timestamp: t,
  msg_id: `hostile-page-${process.pid}-${n}`,
  msg: { owner: 'masher', method: 'livecd', srpm, new: state, id: n },
});

const pwned = (page: Page) => page.evaluate(() => (window as unknown as { __pwned?: unknown }).__pwned ?? null);

/**
 * Published text reaches the pages through plugin rows: names, statuses, usernames, titles.
 * Whatever it holds, it shows as text, runs nothing, and stops neither the page nor its layout.
 */
describe('pages showing hostile published text, in headless Chromium', () => {
  let live: Live;
  let browser: Browser;
  beforeAll(async () => {
    live = await startLive({ examples: true });
    await live.publish(samplesBatch());
    const t = Math.floor(Date.now() / 1000) - 2;
    await live.publish([
      // Statuses named like Object.prototype's members: the layout's maps must not answer for them.
      livecd(1, t, `${XSS}${RLO}foo-x86_64`, 'constructor'),
      livecd(2, t - 1, 'bar-x86_64', '__proto__'),
      // A status of 400 characters without a space.
      livecd(3, t, 'baz-i686', 'x'.repeat(400)),
      {
        topic: 'org.fedoraproject.prod.wiki.article.edit',
        timestamp: t,
        msg_id: `hostile-page-${process.pid}-wiki`,
        msg: { user: `${XSS}${RLO}${ZWSP}`, title: XSS, url: 'javascript:window.__pwned=2' },
      },
      // The busiest category of all (so the volume example names it), 200 characters long.
      ...Array.from({ length: 60 }, (_, i) => ({
        topic: `org.fedoraproject.prod.${CATEGORY}.x`,
        timestamp: t - (i % 30),
        msg_id: `hostile-page-${process.pid}-long-${i}`,
        msg: { user: LONG },
      })),
    ]);
    browser = await sharedChromium();
  }, 60_000);
  afterAll(async () => {
    await releaseChromium(browser);
    await live?.close();
  });

  it('releng-dashboard: statuses "constructor" and "__proto__" show as themselves and every component renders', async () => {
    const { page, problems } = await openPage(browser, `${live.base}/examples/releng-dashboard/`);
    await page.waitForSelector('body[data-seq]', { timeout: 10_000 });
    const events = (id: string) =>
      page.$$eval(`article[data-component="${id}"] li.event`, (lis) =>
        lis.map((li) => ({
          name: li.querySelector('.name')?.textContent,
          state: li.querySelector('.state')?.textContent,
        })),
      );
    expect(await events('artifact-livecd_x86_64')).toEqual([
      { name: `${XSS}${RLO}foo-x86_64`, state: 'constructor' },
      { name: 'bar-x86_64', state: '__proto__' },
    ]);
    // The component after them renders too (before, the first throw ended the render there).
    expect(await events('artifact-livecd_i686')).toEqual([{ name: 'baz-i686', state: 'x'.repeat(400) }]);
    await checkWidthsAndShoot(page, 'hostile-releng-dashboard');
    expect(await page.$$eval('img', (imgs) => imgs.length)).toBe(0);
    expect(await pwned(page)).toBeNull();
    expect(problems).toEqual([]);
    await page.close();
  });

  it('the dashboard, the docs page and the other examples show the hostile username as text', async () => {
    for (const [path, ready, shot] of [
      ['/dashboard', 'section.card[data-seq]', 'hostile-dashboard'],
      ['/', 'body[data-loaded="true"]', 'hostile-docs'],
      ['/examples/volume/', 'body[data-total]', 'hostile-volume'],
      [
        `/examples/contribution-calendar/?user=${encodeURIComponent(`${XSS}${RLO}${ZWSP}`)}`,
        'body[data-total]',
        'hostile-calendar-markup',
      ],
      [`/examples/contribution-calendar/?user=${LONG}`, 'body[data-total]', 'hostile-calendar-long'],
    ] as const) {
      const { page, problems } = await openPage(browser, `${live.base}${path}`);
      await page.waitForSelector(ready, { timeout: 10_000 });
      if (path === '/dashboard') {
        const users = await page.$$eval('section.card[data-ident="volume-by-user-1s"] td.text', (tds) =>
          tds.map((td) => td.textContent),
        );
        expect(users).toContain(`${XSS}${RLO}${ZWSP}`);
        expect(users).toContain(LONG);
      }
      if (path === '/examples/volume/')
        expect(
          await page.$$eval('.legend [data-category]', (es) => es.map((e) => e.getAttribute('data-category'))),
        ).toContain(CATEGORY);
      if (path.includes(encodeURIComponent(XSS))) expect(await page.textContent('#title')).toBe(`${XSS}${RLO}${ZWSP}`);
      await checkWidthsAndShoot(page, shot);
      expect(await page.$$eval('img', (imgs) => imgs.length), path).toBe(0);
      expect(await pwned(page), path).toBeNull();
      expect(problems, path).toEqual([]);
      await page.close();
    }
  });
});
