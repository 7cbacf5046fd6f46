import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import WebSocket from 'ws';
import { categoryOfTopic, recentSamples, type RawEnvelope } from '../helpers/fixtures.js';
import { eventually, getJson, startService, tempDir, type RunningService } from '../helpers/service-process.js';
import { joinedPublisher } from '../helpers/probes.js';

const TOKEN = 'e2e-admin-token-0123456789';

type CategoryRow = { timestamp: number; category: string; volume: number };

/** Every row of a view, walking the pages the server reports. */
async function allRows<T>(base: string, ident: string): Promise<T[]> {
  const rows: T[] = [];
  for (let page = 1; ; page++) {
    const res = await getJson(`${base}/api/${ident}?page=${page}`);
    expect(res.status).toBe(200);
    rows.push(...(res.body as T[]));
    if (page >= Number(res.headers.get('x-link-count'))) return rows;
  }
}

/** What volume-by-category-1d must say, computed from the envelopes without the service's code. */
function expectedDaily(envelopes: readonly RawEnvelope[]): Map<string, number> {
  const counts = new Map<string, number>();
  for (const e of envelopes) {
    const dayEnd = (Math.floor((e.timestamp as number) / 86_400) + 1) * 86_400;
    const key = `${dayEnd}|${categoryOfTopic(e.topic)}`;
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  return counts;
}

const asMap = (rows: readonly CategoryRow[]) => new Map(rows.map((r) => [`${r.timestamp}|${r.category}`, r.volume]));

describe('statscache end to end: bus → actors → HTTP/WS → SIGTERM → restart', () => {
  const dir = tempDir();
  let svc: RunningService;
  const now = Math.floor(Date.now() / 1000);
  const batch = recentSamples(now);

  beforeAll(async () => {
    svc = await startService(['--data-dir', dir.path, '--snapshot-interval', '3600'], {
      STATSCACHE_ADMIN_TOKEN: TOKEN,
    });
  });
  afterAll(async () => {
    await svc?.stop('SIGKILL');
    dir.remove();
  });

  it('is alive and ready, and lists its plugins', async () => {
    expect((await getJson(`${svc.base}/healthz`)).status).toBe(200);
    expect((await getJson(`${svc.base}/readyz`)).status).toBe(200);
    const idents = (await getJson(`${svc.base}/api/`)).body as string[];
    expect(idents).toEqual(
      expect.arrayContaining([
        'volume-1s',
        'volume-5s',
        'volume-1m',
        'volume-by-category-1s',
        'volume-by-category-15s',
        'volume-by-category-1m',
        'volume-by-category-1h',
        'volume-by-category-1d',
      ]),
    );
  });

  it('counts every real message by category and pushes updates over the WebSocket', async () => {
    const ws = new WebSocket(`ws://127.0.0.1:${svc.port}/ws`);
    const frames: { type: string; ident?: string; rows?: CategoryRow[]; seq?: number }[] = [];
    ws.on('message', (data) => frames.push(JSON.parse(String(data))));
    await new Promise((r) => ws.once('open', r));
    ws.send(JSON.stringify({ op: 'subscribe', ident: 'volume-by-category-1d' }));
    const snapshot = await eventually(() => frames.find((f) => f.type === 'snapshot'), 5_000, 'snapshot frame');
    expect(snapshot.ident).toBe('volume-by-category-1d');
    expect(snapshot.rows).toEqual([]);

    const pub = await joinedPublisher(svc);
    // Garbage first: it must be counted and skipped, never stop the service.
    await pub.sendRaw(['org.fedoraproject.prod.x', '{not json']);
    await pub.sendRaw(['only-one-frame']);
    await pub.sendRaw(['org.fedoraproject.prod.x', '[1,2,3]']);
    for (const e of batch) await pub.send(e.topic, JSON.stringify(e));

    const want = expectedDaily(batch);
    const rows = await eventually(
      async () => {
        const r = await allRows<CategoryRow>(svc.base, 'volume-by-category-1d');
        return r.reduce((a, b) => a + b.volume, 0) === batch.length ? r : undefined;
      },
      15_000,
      'all 510 messages counted',
    );
    expect(asMap(rows)).toEqual(want);
    // Newest first, as the API promises.
    const stamps = rows.map((r) => r.timestamp);
    expect(stamps).toEqual([...stamps].sort((a, b) => b - a));

    const updates = await eventually(
      () => {
        const u = frames.filter((f) => f.type === 'update');
        const latest = new Map<string, number>();
        for (const f of u) for (const r of f.rows ?? []) latest.set(`${r.timestamp}|${r.category}`, r.volume);
        return [...latest.values()].reduce((a, b) => a + b, 0) === batch.length ? u : undefined;
      },
      5_000,
      'WebSocket updates adding up to the batch',
    );
    // Coalesced: far fewer frames than messages, each with a sequence one above the last.
    expect(updates.length).toBeLessThan(batch.length / 2);
    updates.forEach((f, i) => expect(f.seq).toBe(i + 1));

    ws.send('this is not json');
    ws.send(JSON.stringify({ op: 'subscribe', ident: 'no-such-plugin' }));
    const errors = await eventually(
      () => {
        const e = frames.filter((f) => f.type === 'error');
        return e.length >= 2 ? e : undefined;
      },
      5_000,
      'two error frames',
    );
    expect(errors.map((e) => (e as unknown as { error: string }).error)).toEqual(['bad_frame', 'unknown_ident']);
    expect(ws.readyState).toBe(WebSocket.OPEN);
    ws.close();
    pub.close();
  });

  it('takes a snapshot on POST /admin/snapshot with the admin token, and refuses a wrong one', async () => {
    const wrong = await fetch(`${svc.base}/admin/snapshot`, {
      method: 'POST',
      headers: { authorization: 'Bearer nope' },
    });
    expect(wrong.status).toBe(401);
    const res = await fetch(`${svc.base}/admin/snapshot`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    expect(res.status).toBe(200);
    const report = (await res.json()) as { generation: number; journalSeq: number };
    expect(report.generation).toBeGreaterThanOrEqual(1);
    expect(report.journalSeq).toBe(batch.length);
    // HEAD of an API route answers like GET without a body (and never takes the process down).
    const head = await fetch(`${svc.base}/api/volume-1m`, { method: 'HEAD' });
    expect(head.status).toBe(200);
    expect((await getJson(`${svc.base}/healthz`)).status).toBe(200);
  });

  it('gives the same rows back after SIGTERM and a restart on the same data dir', async () => {
    const before = await allRows<CategoryRow>(svc.base, 'volume-by-category-1d');
    const before1m = await allRows<{ timestamp: number; volume: number }>(svc.base, 'volume-1m');
    expect(await svc.stop('SIGTERM')).toBe(0);
    svc = await startService(['--data-dir', dir.path]);
    expect(await allRows<CategoryRow>(svc.base, 'volume-by-category-1d')).toEqual(before);
    expect(await allRows(svc.base, 'volume-1m')).toEqual(before1m);
    expect(before1m.reduce((a, b) => a + b.volume, 0)).toBe(batch.length);
  });
});
