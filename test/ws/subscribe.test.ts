import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { categoryOfTopic } from '../helpers/fixtures.js';
import { eventually, httpRows, keyOf, RawClient, samplesBatch, startLive, type Frame, type Live } from './harness.js';

/** Applies frames the way a dashboard would; fails on any seq that does not follow. */
function replay(frames: readonly Frame[], view: string): Map<string, Record<string, unknown>> {
  const rows = new Map<string, Record<string, unknown>>();
  let seq: number | null = null;
  let key: readonly string[] = [];
  for (const f of frames) {
    if (f.type === 'snapshot' && f.view === view) {
      rows.clear();
      key = f.key;
      seq = f.seq;
      for (const r of f.rows) rows.set(keyOf(key, r), r);
    } else if (f.type === 'update' && f.view === view && seq !== null) {
      expect(f.seq).toBe(seq + 1);
      seq = f.seq;
      for (const k of f.removed) rows.delete(JSON.stringify(k));
      for (const r of f.rows) rows.set(keyOf(key, r), r);
    }
  }
  return rows;
}

describe('WebSocket subscriptions: snapshot, updates, parameters', () => {
  let live: Live;
  beforeAll(async () => {
    live = await startLive();
  });
  afterAll(() => live?.close());

  it('says hello with the epoch, then snapshot (with seq) then coalesced updates each one seq higher', async () => {
    const c = await RawClient.open(live.wsUrl);
    const hello = (await c.next((f) => f.type === 'hello', 'hello')) as Extract<Frame, { type: 'hello' }>;
    expect(hello.epoch).toMatch(/^[0-9a-f]{16}$/);
    c.send({ op: 'subscribe', ident: 'volume-by-category-1h', id: 'a' });
    const snap = (await c.next((f) => f.type === 'snapshot', 'snapshot')) as Extract<Frame, { type: 'snapshot' }>;
    expect(snap).toMatchObject({
      ident: 'volume-by-category-1h',
      id: 'a',
      epoch: hello.epoch,
      key: ['timestamp', 'category'],
      order: 'desc',
      reason: 'subscribe',
    });
    expect(Number.isInteger(snap.seq)).toBe(true);

    const batch = samplesBatch();
    await live.publish(batch);
    const total = batch.length;
    await c.next(
      (f) =>
        f.type === 'update' &&
        replay(c.frames, snap.view).size > 0 &&
        [...replay(c.frames, snap.view).values()].reduce((a, r) => a + (r['volume'] as number), 0) === total,
      'updates adding up to the batch',
    );
    const updates = c.of('update');
    expect(updates.length).toBeGreaterThan(0);
    expect(updates.length).toBeLessThan(total / 2);
    updates.forEach((u, i) => expect(u.seq).toBe(snap.seq + i + 1));
    // Every category the batch touched is there with its exact count.
    const byCat = new Map<string, number>();
    for (const e of batch) byCat.set(categoryOfTopic(e.topic), (byCat.get(categoryOfTopic(e.topic)) ?? 0) + 1);
    const held = replay(c.frames, snap.view);
    const heldByCat = new Map<string, number>();
    for (const r of held.values())
      heldByCat.set(r['category'] as string, (heldByCat.get(r['category'] as string) ?? 0) + (r['volume'] as number));
    expect(heldByCat).toEqual(byCat);
    expect(
      [...held.values()].sort((a, b) =>
        String(keyOf(['timestamp', 'category'], a)).localeCompare(keyOf(['timestamp', 'category'], b)),
      ),
    ).toEqual(
      (await httpRows(live.base, 'volume-by-category-1h')).sort((a, b) =>
        keyOf(['timestamp', 'category'], a).localeCompare(keyOf(['timestamp', 'category'], b)),
      ),
    );
    c.close();
  });

  it('validates params like HTTP, serves many views per connection, echoes ids, and unsubscribes by id or by ident + params', async () => {
    const c = await RawClient.open(live.wsUrl);
    c.send({ op: 'subscribe', ident: 'volume-by-category-1m', params: { rows_per_page: 0 }, id: 1 });
    const bad = await c.next((f) => f.type === 'error', 'bad_parameter error');
    expect(bad).toMatchObject({
      error: 'bad_parameter',
      id: 1,
      ident: 'volume-by-category-1m',
      parameter: 'rows_per_page',
    });
    expect(String(bad['detail'])).toContain('rows_per_page');
    const http = await fetch(`${live.base}/api/volume-by-category-1m?rows_per_page=0`);
    expect(http.status).toBe(400);

    c.send({ op: 'subscribe', ident: 'live-per-category-1m', params: { category: 'nope-not-a-category' }, id: 2 });
    c.send({ op: 'subscribe', ident: 'live-per-category-1m', params: { category: 'buildsys' }, id: 3 });
    c.send({ op: 'subscribe', ident: 'volume-by-category-1m', params: { rows_per_page: 3, order: 'asc' }, id: 4 });
    const snaps = await Promise.all(
      [2, 3, 4].map((id) => c.next((f) => f.type === 'snapshot' && f['id'] === id, `snapshot ${id}`)),
    );
    const views = snaps.map((s) => s['view'] as string);
    expect(new Set(views).size).toBe(3);
    expect(views[1]).toBe('live-per-category-1m?order=desc&page=1&rows_per_page=100&category=buildsys');

    c.send({ op: 'subscribe', ident: 'live-per-category-1m', id: 5 });
    const all = (await c.next((f) => f.type === 'snapshot' && f['id'] === 5, 'snapshot 5'))['view'] as string;
    const mark = c.frames.length;
    await live.publish(samplesBatch());
    await heldEqualsHttp(live, c, all, 'live-per-category-1m', '');
    await heldEqualsHttp(live, c, views[1] as string, 'live-per-category-1m', 'category=buildsys');
    await heldEqualsHttp(live, c, views[2] as string, 'volume-by-category-1m', 'rows_per_page=3&order=asc');
    const after = c.frames.slice(mark);
    // The filtered view only ever carries its category; the empty one never changes.
    for (const u of after.filter((f) => f.type === 'update' && f['view'] === views[1]))
      for (const r of u['rows'] as { category: string }[]) expect(r.category).toBe('buildsys');
    expect(after.some((f) => f.type === 'update' && f['view'] === views[0])).toBe(false);

    c.send({ op: 'unsubscribe', id: 3 });
    expect(await c.next((f) => f.type === 'unsubscribed', 'unsubscribed by id', mark)).toMatchObject({
      id: 3,
      view: views[1],
    });
    c.send({ op: 'unsubscribe', ident: 'volume-by-category-1m', params: { order: 'asc', rows_per_page: '3' } });
    expect(
      await c.next((f) => f.type === 'unsubscribed' && f['view'] === views[2], 'unsubscribed by ident + params', mark),
    ).toBeTruthy();
    c.send({ op: 'unsubscribe', id: 3, ident: undefined });
    expect(
      await c.next((f) => f.type === 'error' && f['error'] === 'not_subscribed', 'not_subscribed', mark),
    ).toMatchObject({ id: 3 });
    expect(live.service.hub.clientCount('live-per-category-1m')).toBe(2); // the empty "nope" view and the unfiltered one

    const before = c.frames.length;
    await live.publish(samplesBatch());
    await heldEqualsHttp(live, c, all, 'live-per-category-1m', '');
    const late = c.frames.slice(before).filter((f) => f.type === 'update');
    expect(late.length).toBeGreaterThan(0);
    expect(late.every((f) => f['view'] === all)).toBe(true);
    c.close();
  });

  it('limits subscriptions per connection', async () => {
    const small = await startLive({ wsMaxSubscriptions: 2 });
    try {
      const c = await RawClient.open(small.wsUrl);
      for (const n of [1, 2, 3]) c.send({ op: 'subscribe', ident: 'volume-1m', params: { rows_per_page: n }, id: n });
      const err = await c.next((f) => f.type === 'error', 'too_many_subscriptions');
      expect(err).toMatchObject({ error: 'too_many_subscriptions', id: 3 });
      expect(c.of('snapshot').map((s) => s['id'])).toEqual([1, 2]);
      // Re-subscribing to a view already held is not a new subscription: it refreshes the snapshot.
      c.send({ op: 'subscribe', ident: 'volume-1m', params: { rows_per_page: 1 }, id: 'again' });
      expect(await c.next((f) => f.type === 'snapshot' && f['id'] === 'again', 'refreshed snapshot')).toBeTruthy();
      c.close();
    } finally {
      await small.close();
    }
  });
});

/** Polls until the rows held from the frames equal the HTTP answer for the same parameters. */
async function heldEqualsHttp(live: Live, c: RawClient, view: string, ident: string, query: string): Promise<void> {
  const canon = (rows: Iterable<Record<string, unknown>>) => [...rows].map((r) => JSON.stringify(r)).sort();
  let last: unknown;
  await eventually(
    async () => {
      const held = canon(replay(c.frames, view).values());
      const want = canon(await httpRows(live.base, ident, query));
      last = { held: held.length, want: want.length };
      return want.length > 0 && JSON.stringify(held) === JSON.stringify(want) ? true : undefined;
    },
    10_000,
    `${view} to match GET /api/${ident}?${query}`,
  ).catch((err) => {
    throw new Error(`${String(err)} ${JSON.stringify(last)}`);
  });
}
