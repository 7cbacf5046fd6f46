/**
 * The scan gate's places (--history-scan-concurrency running, --history-scan-queue waiting)
 * are shared by every client, and one client sending as many filtered /raw scans at once took
 * them all: everyone else was told scan_busy until its scans were done. Through the real
 * server, from two loopback addresses: 127.0.0.1 sends ten scans at once and gets at most half
 * the places; 127.0.0.2, asking while those run, is served.
 */
import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Service } from '../../src/service.js';
import { acceptSettled, startHistoryService } from '../helpers/history-service.js';
import { eventually, tempDir } from '../helpers/service-process.js';

const MESSAGES = 20_000;
const HOG = 10;
const CONCURRENCY = 2;
const QUEUE = 8;

/** GET `path` from `localAddress`: its status and the `error` of a JSON refusal. */
function getFrom(port: number, path: string, localAddress: string): Promise<{ status: number; error?: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ host: '127.0.0.1', port, path, localAddress, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => {
        const status = res.statusCode ?? 0;
        if (status === 200) return resolve({ status });
        resolve({ status, error: (JSON.parse(Buffer.concat(chunks).toString()) as { error?: string }).error });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end();
  });
}

describe('the scan gate shared between clients', () => {
  const dir = tempDir('statscache-gate-client-');
  let service: Service;
  let port = 0;
  const t0 = Math.floor(Date.now() / 1000) - 86_400;
  beforeAll(async () => {
    service = await startHistoryService(dir.path, {
      historyScanConcurrency: CONCURRENCY,
      historyScanQueue: QUEUE,
      historyScanTimeoutSeconds: 120,
    });
    port = service.server?.port ?? 0;
    await acceptSettled(service, MESSAGES, (i) => ({
      topic: 'org.fedoraproject.prod.test.gate',
      timestamp: t0 + i,
      msg_id: `g-${i}`,
      msg: { i, text: `message number ${i} `.repeat(20) },
    }));
  }, 120_000);
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  it(`one client's ${HOG} scans at once take at most half the places; another client is served`, async () => {
    const gate = service.scanGate;
    const scan = (n: number) => `/raw?contains=never-there-${n}&rows_per_page=1`;
    const hog = Array.from({ length: HOG }, (_, n) => getFrom(port, scan(n), '127.0.0.1'));
    const refused: { status: number; error?: string }[] = [];
    for (const h of hog) void h.then((a) => a.status === 503 && refused.push(a));
    // Every one of the first client's scans has a place or was refused.
    await eventually(
      () => (gate.active + gate.queued + refused.length >= HOG ? true : undefined),
      20_000,
      'all placed',
    );
    const placed = gate.active + gate.queued;
    expect(placed, 'places the first client holds').toBeLessThanOrEqual(Math.floor((CONCURRENCY + QUEUE) / 2));
    // Before: all ten places taken, and this one was refused (scan_busy).
    const other = await getFrom(port, scan(99), '127.0.0.2');
    expect(other).toEqual({ status: 200 });
    const answers = await Promise.all(hog);
    expect(answers.filter((a) => a.status === 200).length).toBe(placed);
    for (const a of answers.filter((x) => x.status !== 200)) expect(a).toEqual({ status: 503, error: 'scan_busy' });
    expect(gate.clients).toBe(0);
  }, 120_000);
});
