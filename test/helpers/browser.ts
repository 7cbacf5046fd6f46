import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { expect } from 'vitest';

/** Debian's Chromium, headless, with nothing phoning home. */
export const CHROMIUM_ARGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export function launchChromium(): Promise<Browser> {
  return chromium.launch({ executablePath: '/usr/bin/chromium', args: CHROMIUM_ARGS });
}

let shared: Promise<Browser> | null = null;

/**
 * One Chromium per test process for every describe block that asks, launched on first use and
 * again if it was closed or crashed. The files under test/http share a worker (vitest.config.ts),
 * and each block used to launch its own: seven launches of ~1.5 s of the loaded 2-core box.
 * Pages stay apart as before: browser.newPage() gives each its own context, and
 * releaseChromium() closes every context in the block's afterAll, as browser.close() did.
 * Playwright ends the browser when the process exits.
 */
export async function sharedChromium(): Promise<Browser> {
  const current = shared;
  if (current) {
    const browser = await current.catch(() => null);
    if (browser?.isConnected()) return browser;
    if (shared === current) shared = null;
  }
  shared ??= launchChromium();
  return shared;
}

/** What closing the browser did for a block that shares it: every page and context it opened closed. */
export async function releaseChromium(browser: Browser | undefined): Promise<void> {
  if (!browser?.isConnected()) return;
  await Promise.all(browser.contexts().map((context) => context.close()));
}

/** Screenshots for review land here (gitignored). */
export const SCREENSHOTS = join(process.cwd(), 'test-output', 'screenshots');

/**
 * Whether to save them: with STATSCACHE_TEST_SCREENSHOTS=1 only. They assert nothing, and two
 * full-page PNGs per page cost Chromium more than the page itself: on the loaded 2-core box the
 * hostile-pages test of five pages took 18 s without them and ran past its 30 s timeout with them.
 */
export const SHOOT = process.env['STATSCACHE_TEST_SCREENSHOTS'] === '1';

export interface OpenedPage {
  readonly page: Page;
  /** Console errors and warnings, page errors, failed requests and HTTP errors, as they happen. */
  readonly problems: string[];
}

/** A page at `width` px that records every problem the browser reports while it lives. */
export async function openPage(
  browser: Browser,
  url: string,
  options: { width?: number; before?: (page: Page) => Promise<void> } = {},
): Promise<OpenedPage> {
  const page = await browser.newPage({ viewport: { width: options.width ?? 1280, height: 900 } });
  await options.before?.(page);
  const problems: string[] = [];
  page.on('console', (m) => {
    if (m.type() === 'error' || m.type() === 'warning') problems.push(`console ${m.type()}: ${m.text()}`);
  });
  page.on('pageerror', (e) => problems.push(`page error: ${e.message}`));
  page.on('requestfailed', (r) => problems.push(`request failed: ${r.url()} ${r.failure()?.errorText ?? ''}`));
  page.on('response', (r) => {
    if (r.status() >= 400) problems.push(`HTTP ${r.status()}: ${r.url()}`);
  });
  const res = await page.goto(url);
  expect(res?.status(), url).toBe(200);
  return { page, problems };
}

/** The longest reconnect back-off of the example pages: 15 s, jittered up to +25 %. */
const LONGEST_RECONNECT_MS = 19_000;

/**
 * The server a page lost is back: the page's pending reconnect falls due now instead of after
 * its back-off (up to 15 s); the page's own timer still fires and reconnects. Its clock moves a
 * second at a time while the badge says down, so an attempt under way is never moved past its
 * own 10 s limit (silence-watch.ts) and given up. Its wall clock is then set back to this
 * process's, so the time windows it asks for match the API's. The page needs page.clock.install()
 * before it loaded.
 */
export async function reconnectNow(page: Page): Promise<void> {
  for (let moved = 0; moved < LONGEST_RECONNECT_MS; moved += 1000) {
    if ((await page.getAttribute('#status', 'class')) !== 'status down') break;
    await page.clock.fastForward(1000);
  }
  await page.clock.setSystemTime(Date.now());
}

/** Nothing wider than the viewport: the page never scrolls sideways. */
export async function expectNoHorizontalOverflow(page: Page, what: string): Promise<void> {
  const { scroll, inner } = await page.evaluate(() => ({
    scroll: document.documentElement.scrollWidth,
    inner: window.innerWidth,
  }));
  expect(scroll, `${what}: document is ${scroll} px wide in a ${inner} px viewport`).toBeLessThanOrEqual(inner);
}

/** Checks the page at 1280 and 1400 px wide (no sideways scroll); saves a full-page screenshot of each when SHOOT. */
export async function checkWidthsAndShoot(page: Page, name: string): Promise<void> {
  if (SHOOT) mkdirSync(SCREENSHOTS, { recursive: true });
  for (const width of [1280, 1400]) {
    await page.setViewportSize({ width, height: 900 });
    await expectNoHorizontalOverflow(page, `${name} at ${width} px`);
    if (SHOOT) await page.screenshot({ path: join(SCREENSHOTS, `${name}-${width}.png`), fullPage: true });
  }
  await page.setViewportSize({ width: 1280, height: 900 });
}
