import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { builtinPlugins } from '../../plugins/index.js';
import { type Clock, systemClock } from '../../src/clock.js';
import type { Envelope } from '../../src/envelope.js';
import type { Service } from '../../src/service.js';
import { startHistoryService } from '../helpers/history-service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

const CONCURRENCY = 2;
const QUEUE = 3;
const PARALLEL = 10;
const TIMEOUT_S = 30;
/** Copies of the 510 samples in the journal: enough that a filtered scan spans many event-loop slices. */
const COPIES = 30;

/**
 * The system time, plus `step` ms more on every read once stepping is switched on: a scan then
 * sees its budget run out after a few slices, whatever the machine's speed (no wall-clock assertion).
 */
class SteppingClock implements Clock {
  step = 0;
  private offset = 0;
  now(): number {
    this.offset += this.step;
    return Date.now() + this.offset;
  }
  every(ms: number, fn: () => void): () => void {
    const t = setInterval(fn, ms);
    t.unref();
    return () => clearInterval(t);
  }
  aligned(ms: number, fn: () => void): () => void {
    return systemClock.aligned(ms, fn);
  }
}

type Answer = { status: number; body: Record<string, unknown>; retryAfter: string | null; done: number };

describe('filtered /raw scans are bounded in concurrency and time, and /api keeps answering', () => {
  const dir = tempDir('statscache-scans-');
  const clock = new SteppingClock();
  let service: Service;
  let base: string;
  let journaled = 0;
  let order = 0;

  const get = async (path: string): Promise<Answer> => {
    const res = await fetch(`${base}${path}`);
    const text = await res.text();
    return {
      status: res.status,
      body: JSON.parse(text) as Record<string, unknown>,
      retryAfter: res.headers.get('retry-after'),
      done: ++order,
    };
  };
  const refusals = async (limit: string) =>
    Number(
      new RegExp(`^statscache_limit_refusals_total\\{limit="${limit}"\\} (\\d+)$`, 'm').exec(
        await (await fetch(`${base}/metrics`)).text(),
      )?.[1],
    );

  beforeAll(async () => {
    // The one plugin /api is read from below: applying every built-in was most of filling the journal.
    const volume1m = builtinPlugins().filter((p) => p.name === 'Volume' && p.interval === '1m');
    expect(volume1m.length).toBe(1);
    service = await startHistoryService(
      dir.path,
      { historyScanConcurrency: CONCURRENCY, historyScanQueue: QUEUE, historyScanTimeoutSeconds: TIMEOUT_S },
      { plugins: volume1m, clock },
    );
    base = `http://127.0.0.1:${service.server?.port}`;
    // Into the intake as the bus hands messages over (de-duplicated, journaled, applied): the
    // scans read the journal, and no ZeroMQ socket is under test here.
    const end = Math.floor(Date.now() / 1000) - 60;
    let accepted = 0;
    for (let copy = 0; copy < COPIES; copy++) {
      const batch = recentSamples(end - copy * 600);
      for (const [i, e] of batch.entries())
        if (service.accept({ ...e, msg_id: `scan-${process.pid}-${copy}-${i}` } as Envelope)) accepted++;
      await service.settled();
    }
    journaled = COPIES * 510;
    expect(accepted).toBe(journaled);
    expect((await get('/raw?rows_per_page=1')).body['total']).toBe(journaled);
  }, 120_000);
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  it(`${PARALLEL} parallel filtered scans: ${CONCURRENCY} run, ${QUEUE} wait, the rest get 503 scan_busy; /api answers meanwhile`, async () => {
    let peakActive = 0;
    let peakQueued = 0;
    const scans = Array.from({ length: PARALLEL }, () => get('/raw?user=ralph&rows_per_page=5'));
    let scansDone = false;
    void Promise.allSettled(scans).then(() => (scansDone = true));
    const api: Answer[] = [];
    while (!scansDone) {
      peakActive = Math.max(peakActive, service.scanGate.active);
      peakQueued = Math.max(peakQueued, service.scanGate.queued);
      api.push(await get('/api/volume-1m?rows_per_page=5'));
    }
    const answers = await Promise.all(scans);
    const ok = answers.filter((a) => a.status === 200);
    const busy = answers.filter((a) => a.status === 503);
    expect(ok.length + busy.length).toBe(PARALLEL);
    expect(ok.length).toBeLessThanOrEqual(CONCURRENCY + QUEUE);
    expect(ok.length).toBeGreaterThanOrEqual(CONCURRENCY);
    expect(busy.length).toBeGreaterThanOrEqual(PARALLEL - CONCURRENCY - QUEUE);
    for (const b of busy) {
      expect(b.body).toMatchObject({ error: 'scan_busy', arguments: { user: 'ralph' } });
      expect(String(b.body['detail'])).toMatch(/--history-scan-concurrency/);
      expect(Number(b.retryAfter)).toBeGreaterThanOrEqual(1);
    }
    // Every scan that ran gives the whole, same answer: 94 of the 510 samples name ralph, per copy.
    for (const a of ok) expect(a.body).toMatchObject({ total: 94 * COPIES, count: 5 });
    expect(peakActive).toBeLessThanOrEqual(CONCURRENCY);
    expect(peakQueued).toBeLessThanOrEqual(QUEUE);
    // /api interleaves: several answers came back before the last scan did.
    const lastScan = Math.max(...ok.map((a) => a.done));
    expect(api.every((a) => a.status === 200)).toBe(true);
    expect(api.filter((a) => a.done < lastScan).length).toBeGreaterThanOrEqual(3);
    expect(await refusals('raw_scan_busy')).toBe(busy.length);
  }, 60_000);

  it('a scan past its time budget answers 503 scan_timeout, never a partial page; unfiltered /raw is not gated', async () => {
    clock.step = TIMEOUT_S * 250; // four reads of the clock use up the budget
    try {
      const answers = await Promise.all([get('/raw?contains=nothing-matches-this'), get('/raw?user=ralph')]);
      for (const a of answers) {
        expect(a.status).toBe(503);
        expect(a.body).toMatchObject({ error: 'scan_timeout' });
        expect(String(a.body['detail'])).toMatch(/--history-scan-timeout-seconds/);
        expect(a.body['raw_messages']).toBeUndefined();
        expect(a.retryAfter).toBe(String(TIMEOUT_S));
      }
      const plain = await get('/raw?rows_per_page=3');
      expect(plain.status).toBe(200);
      expect(plain.body['total']).toBe(journaled);
    } finally {
      clock.step = 0;
    }
    expect(await refusals('raw_scan_timeout')).toBe(2);
    expect(service.scanGate.active).toBe(0);
    expect((await get('/raw?user=ralph&rows_per_page=1')).body['total']).toBe(94 * COPIES);
  }, 60_000);
});
