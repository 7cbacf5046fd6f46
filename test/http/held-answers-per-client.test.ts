/**
 * One client cannot take the whole budget of answers held for slow readers
 * (--http-max-held-bytes-per-client). Through the real server and real sockets from two
 * loopback addresses: a client at 127.0.0.1 asks for large /raw pages on many connections and
 * reads nothing; a client at 127.0.0.2 asking for the same size of page still gets it whole,
 * while the first one's connections past its share are closed.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually } from '../helpers/service-process.js';
import { gc, type HeldService, heldService } from './held-harness.js';

const MAX_HELD = 48 * 1024 * 1024;
const PER_CLIENT = 20 * 1024 * 1024;
const HOG_CONNECTIONS = 6;

/** GET `path` from `localAddress`, reading the whole answer: its status and length, or the error that ended it. */
function getFrom(port: number, path: string, localAddress: string): Promise<{ status: number; bytes: number } | Error> {
  return new Promise((resolve) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      let bytes = 0;
      res.on('data', (chunk: Buffer) => (bytes += chunk.byteLength));
      res.on('end', () => resolve(res.complete ? { status: res.statusCode ?? 0, bytes } : new Error('cut short')));
      res.on('error', resolve);
    });
    req.on('error', resolve);
    req.end();
  });
}

describe('HTTP answers held per client', () => {
  let held: HeldService;
  let port = 0;
  beforeAll(async () => {
    held = await heldService('statscache-held-client-', {
      httpMaxHeldBytes: MAX_HELD,
      httpMaxHeldBytesPerClient: PER_CLIENT,
      // The pages (over 4 MiB) share the scan gate: all of them built together, so they are held together.
      historyScanConcurrency: HOG_CONNECTIONS + 2,
    });
    ({ port } = held);
  });
  afterAll(async () => held?.close());
  const metric = (name: string) => held.metric(name);

  it('keep one client to its share, so another client at another address is still served', async () => {
    // Twenty messages of 800 KB: one /raw page of 16 MB.
    const page = await held.bigPage(20);
    expect(page).toBeGreaterThan(16_000_000);
    // Two pages fit the total but not one client's share.
    expect(2 * page).toBeLessThan(MAX_HELD);
    expect(2 * page).toBeGreaterThan(PER_CLIENT);
    gc();
    const before = process.memoryUsage().arrayBuffers;
    const heldTotal = () => metric('statscache_http_held_answers_total');
    const heldBefore = await heldTotal();
    const hog = await held.unreadRequests(HOG_CONNECTIONS, '127.0.0.1');
    // Before the per-client share: three pages held (the total's worth) and the other client's answer closed (ECONNRESET).
    expect((await heldTotal()) - heldBefore, 'answers held for the first client').toBe(1);
    const hogHeld = await metric('statscache_http_held_bytes');
    expect(hogHeld).toBeLessThanOrEqual(PER_CLIENT);
    gc();
    gc();
    const grown = process.memoryUsage().arrayBuffers - before;
    expect(grown, `${(grown / 1e6).toFixed(1)} MB held for ${HOG_CONNECTIONS} connections`).toBeLessThan(
      PER_CLIENT + page,
    );
    // The other client, while the first still holds its share: its large answers are held and read whole.
    expect(await metric('statscache_http_held_bytes')).toBe(hogHeld);
    for (let n = 0; n < 2; n++) {
      const got = await getFrom(port, `/raw?rows_per_page=100&other=${n}`, '127.0.0.2');
      expect(got).toEqual({ status: 200, bytes: page });
    }
    expect((await heldTotal()) - heldBefore, 'answers held for both clients').toBeGreaterThanOrEqual(2);
    for (const s of hog) s.destroy();
    await eventually(
      async () => ((await metric('statscache_http_held_bytes')) === 0 ? true : undefined),
      10_000,
      'held answers let go',
    );
  }, 60_000);
});
