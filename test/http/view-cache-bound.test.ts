/**
 * A plugin's custom views are kept per parameter set (actors/view-cache.ts) for as long as its
 * state stays, and the parameters come from any HTTP client: every new value is one more view
 * kept. Through the real server: past MAX_CACHED_VIEWS parameter sets, or MAX_CACHED_ROWS rows
 * over them, the least recently used view is let go (asked again, it is computed again).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { MAX_CACHED_ROWS, MAX_CACHED_VIEWS } from '../../actors/view-cache.js';
import { ManualClock } from '../../src/clock.js';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { tempDir } from '../helpers/service-process.js';

type Row = { timestamp: number; name: string };

/** Calls of the view by its `name` parameter. */
const calls = new Map<string, number>();

const probe = definePlugin({
  name: 'View keeper',
  summary: 's',
  description: 'A custom view that counts its calls, and makes many rows for names starting with "big".',
  rows: rowsOf<Row>(),
  columns: ['name'],
  key: ['name'],
  params: { name: { type: 'string', description: 'the name the view is made for' } },
  update(m, { rows }) {
    rows.put({ timestamp: m.timestamp, name: 'seed' });
  },
  view(_state, params) {
    const name = String(params.name);
    calls.set(name, (calls.get(name) ?? 0) + 1);
    const n = name.startsWith('big') ? Math.ceil(MAX_CACHED_ROWS / 2) + 1 : 1;
    return Array.from({ length: n }, (_, i) => ({ timestamp: 1_899_999_000 + (i % 1000), name: `${name}-${i}` }));
  },
});

describe('custom views kept per parameters, over the real server', () => {
  const start = 1_900_000_000_000;
  const dir = tempDir('statscache-view-cache-');
  let service: Service;
  let base = '';
  beforeAll(async () => {
    const config = loadConfig({
      flags: { port: 0, bind: ['tcp://127.0.0.1:*'], dataDir: dir.path, snapshotInterval: 3600 },
    });
    service = await Service.build({
      config,
      logger: createLogger('silent'),
      clock: new ManualClock(start),
      plugins: [probe],
    });
    await service.start();
    base = `http://127.0.0.1:${service.server?.port ?? 0}`;
    service.accept({ topic: 'org.fedoraproject.prod.a.b', timestamp: start / 1000 - 10, msg_id: 'seed', msg: {} });
    await service.settled();
  });
  afterAll(async () => {
    await service?.stop();
    dir.remove();
  });

  // Another rows_per_page each time: the HTTP caches key on it, the view cache does not ("paging aside").
  let variant = 1;
  const read = async (name: string) => {
    const res = await fetch(`${base}/api/view-keeper?name=${name}&rows_per_page=${(variant++ % 100) + 1}`);
    expect(res.status).toBe(200);
    await res.arrayBuffer();
  };

  it(`keeps at most ${MAX_CACHED_VIEWS} parameter sets, the least recently used let go first`, async () => {
    for (let n = 0; n <= MAX_CACHED_VIEWS; n++) await read(`p${n}`);
    // Read again: the newest MAX_CACHED_VIEWS are kept, the first one was let go.
    await read(`p${MAX_CACHED_VIEWS}`);
    await read('p1');
    expect(calls.get(`p${MAX_CACHED_VIEWS}`)).toBe(1);
    expect(calls.get('p1')).toBe(1);
    await read('p0');
    expect(calls.get('p0')).toBe(2);
  });

  it(`keeps at most ${MAX_CACHED_ROWS} rows over its views (the newest whatever its size)`, async () => {
    await read('big1');
    await read('big1');
    expect(calls.get('big1')).toBe(1);
    // Together past the row bound: the older one goes, the newer stays.
    await read('big2');
    await read('big2');
    expect(calls.get('big2')).toBe(1);
    await read('big1');
    expect(calls.get('big1')).toBe(2);
  }, 30_000);
});
