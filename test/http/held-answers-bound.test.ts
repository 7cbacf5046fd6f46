/**
 * Answers held for clients that do not read them are bounded in bytes over all connections
 * (--http-max-held-bytes): each connection holds at most one answer, but connections are not
 * counted, and a /raw page of large messages is tens of MB. Through the real server: a dozen
 * connections asking for an 8 MB page and reading nothing hold at most the bound; the rest are
 * closed, and what they held is let go when they go.
 */
import { connect } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/service-process.js';
import { gc, type HeldService, heldService } from './held-harness.js';

const MAX_HELD = 32 * 1024 * 1024;
const CLIENTS = 12;
const TOKEN = 'held-answers-admin-token';

describe('HTTP answers held for clients that do not read', () => {
  let held: HeldService;
  let base = '';
  let port = 0;
  beforeAll(async () => {
    held = await heldService('statscache-held-', {
      httpMaxHeldBytes: MAX_HELD,
      adminToken: TOKEN,
      // Every page here is over 4 MiB, so each request takes a /raw scan place, and one client
      // holds at most half of them (5 by default): the rest were answered 503 scan_busy, neither
      // held nor closed. The gate has tests of its own (scan-gate-per-client, raw-heavy-pages).
      historyScanQueue: 2 * CLIENTS,
    });
    ({ base, port } = held);
  });
  afterAll(async () => held?.close());
  const metric = (name: string) => held.metric(name);

  it(`hold at most --http-max-held-bytes over ${CLIENTS} connections, and let it go when they close`, async () => {
    // Ten messages of 800 KB: one /raw page of 8 MB.
    const page = await held.bigPage(10);
    expect(page).toBeGreaterThan(8_000_000);
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const heldTotal = () => metric('statscache_http_held_answers_total');
    const heldBefore = await heldTotal();
    const sockets = await held.unreadRequests(CLIENTS, '127.0.0.1');
    // Four pages fit the bound, the rest were closed (counters, so a slow run's 10 s closes do not blur them).
    const heldNow = (await heldTotal()) - heldBefore;
    expect(heldNow).toBeGreaterThanOrEqual(Math.floor(MAX_HELD / page) - 1);
    expect(heldNow).toBeLessThanOrEqual(Math.floor(MAX_HELD / page) + 2);
    expect(await metric('statscache_http_held_bytes')).toBeLessThanOrEqual(MAX_HELD);
    gc();
    gc();
    const grown = process.memoryUsage().arrayBuffers - before;
    // Before the bound: every answer held (12 × 8 MB = 96 MB), and more connections held more.
    expect(grown, `${(grown / 1e6).toFixed(1)} MB held by ${CLIENTS} connections`).toBeLessThan(MAX_HELD + 2 * page);
    // The admin export (authenticated) is held for its slow reader whatever the others hold.
    const auth = { authorization: `Bearer ${TOKEN}` };
    expect((await fetch(`${base}/admin/snapshot`, { method: 'POST', headers: auth })).status).toBe(200);
    const exported = (await (await fetch(`${base}/admin/export`, { headers: auth })).arrayBuffer()).byteLength;
    const heldBeforeExport = await heldTotal();
    const exporter = connect(port, '127.0.0.1');
    exporter.on('error', () => {});
    exporter.pause();
    exporter.write(`GET /admin/export HTTP/1.1\r\nHost: test\r\nAuthorization: Bearer ${TOKEN}\r\n\r\n`);
    sockets.push(exporter);
    await eventually(
      async () => ((await heldTotal()) > heldBeforeExport ? true : undefined),
      10_000,
      `the ${exported}-byte export held`,
    );
    expect(await metric('statscache_http_held_bytes')).toBeGreaterThanOrEqual(exported);
    for (const s of sockets) s.destroy();
    await eventually(
      async () => ((await metric('statscache_http_held_bytes')) === 0 ? true : undefined),
      10_000,
      'held answers let go',
    );
  }, 60_000);
});
