import { request } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, httpRows, keyOf, RawClient, samplesBatch, startLive, type Frame, type Live } from './harness.js';

/** Views one client IP may have computed per minute in this server. */
const BUDGET = 12;
const IDENT = 'volume-by-category-1s';
/** A deep page: every refresh of it is a full recompute (view-rows.ts). */
const DEEP = { page: 3, rows_per_page: 10 };

type Snapshot = Extract<Frame, { type: 'snapshot' }>;

const answer = (c: RawClient, id: string | number, from: number) =>
  c.next((f) => f['id'] === id && (f.type === 'snapshot' || f.type === 'error'), `answer to ${id}`, from);

/** The ticks' work so far, and how many views are watched and idle. */
const stats = (live: Live) => live.service.hub.viewStats();

/** Resolves once at least `n` ticks have refreshed a watched view since `from` (one is watched at a time here). */
const ticks = (live: Live, from: number, n: number) =>
  eventually(() => (stats(live).refreshed >= from + n ? true : undefined), 5_000, `${n} ticks`);

describe('lingering views cost no tick work, and opening views is rate-limited per client IP', () => {
  let live: Live;
  /** Watches a plugin the sample batches never touch, so the ticks run a view that never recomputes. */
  let witness: RawClient;
  beforeAll(async () => {
    live = await startLive({ wsMaxNewViewsPerIp: BUDGET });
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000) - 900));
    witness = await RawClient.open(live.wsUrl, { localAddress: '127.0.0.9' });
    witness.send({ op: 'subscribe', ident: 'fat-rows', id: 'w' });
    await answer(witness, 'w', 0);
  });
  afterAll(async () => {
    witness?.close();
    await live?.close();
  });

  it('a client churning new deep views gets its budget, then too_many_new_views; once it left, new messages recompute none of them', async () => {
    const churn = await RawClient.open(live.wsUrl);
    const before = stats(live);
    let opened = 0;
    let refusal: Frame | undefined;
    // The audit's client: subscribe new deep views (varying limit), unsubscribe, repeat.
    for (let round = 0; refusal === undefined && round < 10; round++) {
      const ids = Array.from({ length: 8 }, (_, i) => `r${round}-${i}`);
      for (const [i, id] of ids.entries()) {
        const from = churn.frames.length;
        churn.send({ op: 'subscribe', ident: IDENT, params: { ...DEEP, limit: 1000 + round * 8 + i }, id });
        const got = await answer(churn, id, from);
        if (got.type === 'error') refusal ??= got;
        else opened++;
      }
      for (const id of ids) churn.send({ op: 'unsubscribe', id });
    }
    expect(opened).toBe(BUDGET);
    expect(refusal).toMatchObject({ error: 'too_many_new_views' });
    expect(refusal?.['detail']).toContain('--ws-max-new-views-per-ip');
    expect(stats(live).created - before.created).toBe(BUDGET);
    churn.close();
    await eventually(() => (stats(live).idle === BUDGET ? true : undefined), 5_000, 'the churned views lingering');

    // New rows for every lingering view's plugin: none of them is refreshed, let alone recomputed.
    const quiet = stats(live);
    await live.publish(samplesBatch());
    await ticks(live, stats(live).refreshed, 5);
    const after = stats(live);
    expect(after).toMatchObject({ watched: 1, idle: BUDGET, lastTick: { refreshed: 1, recomputed: 0 } });
    expect(after.recomputed).toBe(quiet.recomputed);
    expect(after.woken).toBe(quiet.woken);

    const metrics = await (await fetch(`${live.base}/metrics`)).text();
    expect(metrics).toContain(`statscache_ws_views{state="idle"} ${BUDGET}`);
    expect(metrics).toMatch(/^statscache_ws_view_work_total\{kind="recomputed"\} \d+$/m);
    expect(metrics).toMatch(/^statscache_limit_refusals_total\{limit="ws_new_views_per_ip"\} [1-9]/m);
  });

  it('a view woken after changes is caught up: a resuming client replays exactly what changed, a new one gets the current rows', async () => {
    const query = `page=${DEEP.page}&rows_per_page=${DEEP.rows_per_page}&order=asc`;
    const params = { ...DEEP, order: 'asc' };
    const a = await RawClient.open(live.wsUrl, { localAddress: '127.0.0.2' });
    a.send({ op: 'subscribe', ident: IDENT, params, id: 'v' });
    const snap = (await answer(a, 'v', 0)) as Snapshot;
    expect(snap.type).toBe('snapshot');
    const held = new Map(snap.rows.map((r) => [keyOf(snap.key, r), r]));
    a.close();
    await eventually(() => (stats(live).watched === 1 ? true : undefined), 5_000, 'the view left idle');

    // Older messages land before the page in ascending order: every row of page 3 moves.
    const quiet = stats(live);
    await live.publish(samplesBatch(Math.floor(Date.now() / 1000) - 5000));
    await ticks(live, stats(live).refreshed, 5);
    expect(stats(live).recomputed).toBe(quiet.recomputed);
    const want = await httpRows(live.base, IDENT, query);
    expect(want).not.toEqual(snap.rows);

    const b = await RawClient.open(live.wsUrl, { localAddress: '127.0.0.2' });
    b.send({ op: 'subscribe', ident: IDENT, params, id: 'v', resume: { epoch: snap.epoch, seq: snap.seq } });
    const resumed = await b.next((f) => f.type === 'resumed' || f.type === 'snapshot', 'resume answer');
    expect(resumed).toMatchObject({ type: 'resumed', seq: snap.seq, replayed: 1 });
    const update = await b.next((f) => f.type === 'update', 'the catch-up update');
    expect(update['seq']).toBe(snap.seq + 1);
    if (update.type !== 'update') throw new Error('not an update');
    for (const k of update.removed) held.delete(JSON.stringify(k));
    for (const r of update.rows) held.set(keyOf(snap.key, r), r);
    const canon = (rows: Iterable<Record<string, unknown>>) => [...rows].map((r) => JSON.stringify(r)).sort();
    expect(canon(held.values())).toEqual(canon(want));
    expect(stats(live).woken).toBe(quiet.woken + 1);
    expect(stats(live).recomputed).toBe(quiet.recomputed + 1);

    // A fresh subscriber from elsewhere joins the now watched view: a snapshot of the current rows, no compute.
    const c = await RawClient.open(live.wsUrl, { localAddress: '127.0.0.3' });
    c.send({ op: 'subscribe', ident: IDENT, params, id: 'x' });
    expect(((await answer(c, 'x', 0)) as Snapshot).rows).toEqual(want);
    expect(stats(live).recomputed).toBe(quiet.recomputed + 1);
    b.close();
    c.close();
  });

  it('the budget counts views created or woken, over WebSocket and SSE; joining a watched view is free', async () => {
    const ip = '127.0.0.4';
    const c = await RawClient.open(live.wsUrl, { localAddress: ip });
    for (let i = 0; i < BUDGET; i++) {
      const from = c.frames.length;
      c.send({ op: 'subscribe', ident: IDENT, params: { rows_per_page: 50 + i }, id: i });
      expect(await answer(c, i, from)).toMatchObject({ type: 'snapshot' });
    }
    // Spent: waking a view it left costs a token too...
    c.send({ op: 'unsubscribe', id: 0 });
    await c.next((f) => f.type === 'unsubscribed', 'unsubscribed');
    let from = c.frames.length;
    c.send({ op: 'subscribe', ident: IDENT, params: { rows_per_page: 50 }, id: 'again' });
    expect(await answer(c, 'again', from)).toMatchObject({ type: 'error', error: 'too_many_new_views' });
    // ...but the view the witness watches is shared, not computed.
    from = c.frames.length;
    c.send({ op: 'subscribe', ident: 'fat-rows', id: 'shared' });
    expect(await answer(c, 'shared', from)).toMatchObject({ type: 'snapshot' });

    const refused = await new Promise<{ status: number; retry: string | undefined; body: string }>(
      (resolve, reject) => {
        const req = request(
          `${live.base}/api/${IDENT}/stream?rows_per_page=7`,
          { localAddress: ip, headers: { accept: 'text/event-stream' } },
          (res) => {
            let body = '';
            res.on('data', (d: Buffer) => (body += d.toString()));
            res.on('end', () =>
              resolve({ status: res.statusCode ?? 0, retry: res.headers['retry-after'] as string | undefined, body }),
            );
          },
        );
        req.on('error', reject);
        req.end();
      },
    );
    expect(refused.status).toBe(429);
    expect(JSON.parse(refused.body)).toMatchObject({ error: 'too_many_new_views' });
    expect(Number(refused.retry)).toBeGreaterThanOrEqual(1);
    c.close();
  });
});
