/**
 * An unfiltered `/raw` page of large messages costs what its bytes cost: 100 messages of 1 MiB
 * (the bus's frame cap) took seconds of the event loop to decode and encode and hundreds of MB,
 * and every client asking got one built, one after another, while /healthz and the bus waited.
 * Past LIGHT_PAGE_BYTES of stored messages such a page shares the scan gate. Through a real
 * service process fed over ZeroMQ: a burst of clients each asking for a 36 MB page gets it whole
 * or is told to retry (scan_busy), /healthz keeps answering, and the process's peak memory
 * stays within a few pages.
 */
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { LIGHT_PAGE_BYTES } from '../../src/http/history-routes.js';
import { type RunningService, startService, tempDir } from '../helpers/service-process.js';
import { feed, type Sample } from './feed.js';

const run = promisify(execFile);
const MESSAGES = 40;
const PAD = 900_000;
const CLIENTS = 12;
const CONCURRENCY = 1;
const QUEUE = 2;

/** A /proc/<pid>/status figure in bytes (VmRSS now, VmHWM the peak so far). */
const procBytes = (pid: number, field: 'VmRSS' | 'VmHWM') =>
  Number(new RegExp(`${field}:\\s+(\\d+) kB`).exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) * 1024;

describe('unfiltered /raw pages of large messages', () => {
  const dir = tempDir('statscache-raw-heavy-');
  let svc: RunningService;
  beforeAll(async () => {
    svc = await startService([
      '--data-dir',
      dir.path,
      '--snapshot-interval',
      '3600',
      '--history-scan-concurrency',
      String(CONCURRENCY),
      '--history-scan-queue',
      String(QUEUE),
      // Every client here is 127.0.0.1: its share of held answers (tested elsewhere) is not what is measured.
      '--http-max-held-bytes-per-client',
      String(1024 ** 3),
    ]);
    const now = Math.floor(Date.now() / 1000) - 600;
    const big: Sample[] = Array.from({ length: MESSAGES }, (_, i) => ({
      topic: 'org.fedoraproject.prod.test.heavy',
      msg_id: `heavy-${i}`,
      timestamp: now + i,
      msg: { i, pad: 'y'.repeat(PAD) },
    }));
    await feed(svc, big);
  }, 120_000);
  afterAll(async () => {
    await svc?.stop();
    dir.remove();
  });

  it(`${CLIENTS} clients at once: each page whole or scan_busy, /healthz answered, memory within a few pages`, async () => {
    const pid = svc.child.pid as number;
    const one = await fetch(`${svc.base}/raw?rows_per_page=100`);
    expect(one.status).toBe(200);
    const page = (await one.arrayBuffer()).byteLength;
    expect(page).toBeGreaterThan(MESSAGES * PAD);
    expect(page).toBeGreaterThan(LIGHT_PAGE_BYTES);
    const rssBefore = procBytes(pid, 'VmRSS');
    const latencies: number[] = [];
    let done = false;
    // Timed by curl in its own process: this process is busy reading the pages.
    const probe = (async () => {
      while (!done) {
        const { stdout } = await run('curl', [
          '-s',
          '-o',
          '/dev/null',
          '-w',
          '%{http_code} %{time_total}',
          `${svc.base}/healthz`,
        ]);
        const [code, seconds] = stdout.split(' ');
        expect(code).toBe('200');
        latencies.push(Number(seconds) * 1000);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const answers = await Promise.all(
      Array.from({ length: CLIENTS }, async (_, k) => {
        try {
          const res = await fetch(`${svc.base}/raw?rows_per_page=100&k=${k}`);
          const body = await res.arrayBuffer();
          return {
            status: res.status,
            bytes: body.byteLength,
            text: res.status === 200 ? '' : Buffer.from(body).toString(),
          };
        } catch {
          // Closed unread (answers held past --http-max-held-bytes): neither served nor told to retry.
          return { status: 0, bytes: 0, text: '' };
        }
      }),
    );
    done = true;
    await probe;
    const peak = procBytes(pid, 'VmHWM');
    const ok = answers.filter((a) => a.status === 200);
    const busy = answers.filter((a) => a.status === 503);
    const worst = Math.max(...latencies);
    const figures = `ok ${ok.length}, busy ${busy.length}, closed ${answers.filter((a) => a.status === 0).length}, /healthz worst ${worst.toFixed(0)} ms over ${latencies.length}, RSS ${(rssBefore / 1e6).toFixed(0)} MB before, peak ${(peak / 1e6).toFixed(0)} MB`;
    console.log(figures);
    expect(ok.length + busy.length, figures).toBe(CLIENTS);
    for (const a of ok) expect(a.bytes).toBe(page);
    for (const b of busy) expect(JSON.parse(b.text)).toMatchObject({ error: 'scan_busy' });
    // Before: none refused (every page built, one after another in the same turn of the loop; 5 of 12 then closed unread).
    expect(busy.length, figures).toBeGreaterThanOrEqual(CLIENTS - 2 * (CONCURRENCY + QUEUE));
    // Before: /healthz waited 43 s behind every page built at once, and the peak grew by 305 MB (8.5 pages).
    expect(worst, figures).toBeLessThan(10_000);
    expect(peak - rssBefore, figures).toBeLessThan(7 * page);
  }, 120_000);
});
