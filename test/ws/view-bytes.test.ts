/**
 * Live views over one plugin that differ only in their parameters show mostly the same rows,
 * and each used to keep its own encoding of them plus its joined snapshot text: 1,000 views
 * (--ws-max-views) of 100 rows of 9 KB held 1.8 GB. Through the real server and a real
 * WebSocket: 100 views of the same 50 rows of 8 KB cost about one copy of the rows in heap,
 * not 100, and every subscriber still gets every row in its snapshot and updates.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import WebSocket from 'ws';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eventually, fatBatch, type Live, startLive } from './harness.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const VIEWS = 100;
const ROWS = 50;

/** What the client keeps of a frame: not its rows, so the test's own heap does not hold them. */
interface Seen {
  readonly type: string;
  readonly id: number;
  readonly rows: number;
  readonly digest: string;
}

describe('live views share their rows', () => {
  let live: Live;
  beforeAll(async () => {
    // Buffer room for every snapshot at once: the slow-client path (resyncs) is not what is measured.
    live = await startLive({
      wsMaxSubscriptions: 1000,
      wsMaxSubscriptionsPerIp: 500,
      wsMaxNewViewsPerIp: 1000,
      wsMaxBufferedBytes: 256 * 1024 * 1024,
    });
  });
  afterAll(() => live?.close());

  const heap = () => {
    gc();
    gc();
    return process.memoryUsage().heapUsed;
  };

  it(`${VIEWS} views of the same ${ROWS} rows of 8 KB hold about one copy of them`, async () => {
    await live.publish(fatBatch(ROWS));
    const seen: Seen[] = [];
    const ws = new WebSocket(live.wsUrl);
    ws.on('message', (data) => {
      const f = JSON.parse(String(data)) as { type: string; id?: number; rows?: { slot: number; n: number }[] };
      const rows = f.rows ?? [];
      const digest = rows
        .map((r) => `${r.slot}:${r.n}`)
        .sort()
        .join(',');
      seen.push({ type: f.type, id: Number(f.id ?? -1), rows: rows.length, digest });
    });
    await new Promise((resolve, reject) => ws.once('open', resolve).once('error', reject));
    const before = heap();
    // Distinct views (each its own `start`) of the same rows.
    for (let v = 0; v < VIEWS; v++)
      ws.send(JSON.stringify({ op: 'subscribe', ident: 'fat-rows', params: { start: v + 1 }, id: v }));
    const snapshots = await eventually(
      () => {
        const s = seen.filter((f) => f.type === 'snapshot');
        return s.length >= VIEWS ? s : undefined;
      },
      30_000,
      `${VIEWS} snapshots`,
    );
    expect(live.service.hub.viewStats().watched).toBeGreaterThanOrEqual(VIEWS);
    const grown = heap() - before;
    const rowBytes = ROWS * 8192;
    // Before: each view kept its rows' JSON and their joined text, 2 × 410 KB a view (82 MB).
    expect(grown, `${(grown / 1e6).toFixed(1)} MB of heap for ${VIEWS} views`).toBeLessThan(VIEWS * rowBytes * 0.25);
    // Every subscriber got every row.
    for (const s of snapshots) expect(s).toMatchObject({ rows: ROWS, digest: snapshots[0]?.digest });
    // A change reaches every view, and a subscriber joining later gets the changed rows.
    await live.publish(fatBatch(1, ROWS));
    await eventually(
      () => (seen.filter((f) => f.type === 'update' && f.rows === 1).length >= VIEWS ? true : undefined),
      30_000,
      `an update for each of the ${VIEWS} views`,
    );
    ws.send(JSON.stringify({ op: 'subscribe', ident: 'fat-rows', params: { start: 1 }, id: VIEWS }));
    const late = await eventually(() => seen.find((f) => f.type === 'snapshot' && f.id === VIEWS), 10_000, 'late');
    expect(late.rows).toBe(ROWS);
    expect(late.digest).toContain(`0:${ROWS}`);
    expect(late.digest).not.toBe(snapshots[0]?.digest);
    ws.close();
  }, 90_000);
});
