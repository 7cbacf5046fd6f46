import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { openSse } from '../helpers/sse-stream.js';
import { eventually, httpRows, samplesBatch, startLive, type Live } from './harness.js';

/**
 * `constructor`, an Object.prototype member, is a valid plugin parameter name (lower_snake_case). A query read into a plain object inherited them: `k in
 * values` dropped the client's value and every request without it saw a function, so each view
 * of such a plugin was refused (400) over HTTP and SSE alike.
 */
const inherited = definePlugin({
  name: 'Inherited names',
  summary: 'test plugin whose parameters are named like Object.prototype members',
  description: 'Counts per category; `constructor` filters by category.',
  rows: rowsOf<{ timestamp: number; category: string; n: number }>(),
  columns: ['category', 'n'],
  key: ['category'],
  params: {
    constructor: { type: 'string' as const, description: 'only this category' },
  },
  update(message, { rows }) {
    const previous = rows.get(message.category);
    rows.set(message.category, { timestamp: message.timestamp, category: message.category, n: (previous?.n ?? 0) + 1 });
  },
  view({ rows }, params) {
    // hasOwn, as a view may write it; view-params-prototype.test.ts reads `params.constructor` plainly.
    const wanted: unknown = Object.hasOwn(params, 'constructor') ? params.constructor : undefined;
    return [...rows.values()].filter((r) => wanted === undefined || r.category === wanted);
  },
});

/** The first `snapshot` event of an event stream, read with a real HTTP client. */
async function firstSnapshot(url: string): Promise<{ status: number; rows: Record<string, unknown>[] }> {
  const stream = await openSse(url);
  try {
    if (stream.res.status !== 200) return { status: stream.res.status, rows: [] };
    const snapshot = await eventually(
      () => stream.events.find((e) => e.event === 'snapshot') ?? (stream.ended() ? null : undefined),
      10_000,
      'a snapshot event',
    );
    if (snapshot === null) throw new Error('stream ended before a snapshot');
    return { status: 200, rows: snapshot.data['rows'] as Record<string, unknown>[] };
  } finally {
    stream.close();
  }
}

describe('query parameters named like Object.prototype members', () => {
  let live: Live;
  let categories: string[];
  beforeAll(async () => {
    live = await startLive({}, { plugins: [inherited] });
    const batch = samplesBatch();
    await live.publish(batch);
    categories = (await httpRows(live.base, 'inherited-names')).map((r) => r['category'] as string);
  }, 60_000);
  afterAll(async () => {
    await live?.close();
  });

  it('HTTP: unset, they filter nothing; set, they filter', async () => {
    expect(categories.length).toBeGreaterThan(1);
    const pick = categories[0] as string;
    const rows = await httpRows(live.base, 'inherited-names', `constructor=${encodeURIComponent(pick)}`);
    expect(rows.map((r) => r['category'])).toEqual([pick]);
  });

  it('SSE: the stream takes them as the HTTP route does', async () => {
    const pick = categories[1] as string;
    const all = await firstSnapshot(`${live.base}/api/inherited-names/stream`);
    expect(all.status).toBe(200);
    expect(all.rows.length).toBe(categories.length);
    const one = await firstSnapshot(`${live.base}/api/inherited-names/stream?constructor=${encodeURIComponent(pick)}`);
    expect(one.status).toBe(200);
    expect(one.rows.map((r) => r['category'])).toEqual([pick]);
  });
});
