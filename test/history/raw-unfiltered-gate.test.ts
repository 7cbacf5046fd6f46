/**
 * Unfiltered `/raw` over a journal past UNGATED_JOURNAL_MAX: counting its window and reaching a
 * deep page cost tens of milliseconds of the event loop each (16 clients in a loop held /healthz
 * at 2.7 s), so such queries share the scan gate; a deep page is reached by LMDB's cursor, not
 * by stepping through the window in JavaScript, and answers exactly the same rows.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UNGATED_JOURNAL_MAX } from '../../src/http/history-routes.js';
import type { Service } from '../../src/service.js';
import { acceptSettled, startHistoryService } from '../helpers/history-service.js';
import { tempDir } from '../helpers/service-process.js';

const N = UNGATED_JOURNAL_MAX + 100;
const PARALLEL = 8;

describe('unfiltered /raw over a large journal', () => {
  const dir = tempDir('statscache-raw-gate-');
  let service: Service;
  let base = '';
  const t0 = Math.floor(Date.now() / 1000) - 3 * 86_400;
  beforeAll(async () => {
    service = await startHistoryService(dir.path, { historyScanConcurrency: 1, historyScanQueue: 1 });
    base = `http://127.0.0.1:${service.server?.port ?? 0}`;
    await acceptSettled(service, N, (i) => ({
      topic: 'org.fedoraproject.prod.test.gate',
      timestamp: t0 + i / 100,
      msg_id: `u-${i}`,
      msg: { i },
    }));
  }, 120_000);
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  it('a deep page holds exactly the rows at its offset, in both orders', async () => {
    const asc = await get('/raw?rows_per_page=100&page=400&order=asc');
    expect(asc.status).toBe(200);
    expect(asc.body['total']).toBe(N);
    const ids = (asc.body['raw_messages'] as { msg_id: string }[]).map((m) => m.msg_id);
    expect(ids).toEqual(Array.from({ length: 100 }, (_, k) => `u-${39_900 + k}`));
    const desc = await get('/raw?rows_per_page=100&page=2&order=desc');
    expect((desc.body['raw_messages'] as { msg_id: string }[]).map((m) => m.msg_id)).toEqual(
      Array.from({ length: 100 }, (_, k) => `u-${N - 101 - k}`),
    );
  });

  it(`${PARALLEL} at once share the scan gate: at most one runs, the rest wait or are told to retry`, async () => {
    let peak = 0;
    const pending = Array.from({ length: PARALLEL }, () => get('/raw?rows_per_page=1&page=3000'));
    let done = false;
    void Promise.allSettled(pending).then(() => (done = true));
    while (!done) {
      peak = Math.max(peak, service.scanGate.active + service.scanGate.queued);
      await new Promise((r) => setImmediate(r));
    }
    const answers = await Promise.all(pending);
    const ok = answers.filter((a) => a.status === 200);
    const busy = answers.filter((a) => a.status === 503);
    expect(ok.length + busy.length).toBe(PARALLEL);
    for (const a of ok) expect(a.body).toMatchObject({ total: N, count: 1 });
    for (const b of busy) expect(b.body).toMatchObject({ error: 'scan_busy' });
    // They went through the gate (ungated, none would ever be active in it), within its limits.
    expect(peak).toBeGreaterThanOrEqual(1);
    expect(peak).toBeLessThanOrEqual(2);
    expect(service.scanGate.stats.busy).toBe(busy.length);
    // /healthz is not gated.
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
  });
});
