/**
 * --backfill-rows-per-page and --backfill-request-timeout: the page size asked of the history
 * and one request's bound were fixed in code (100 rows, 30 s), where operators behind a slow
 * proxy, or with a small datagrepper, need their own. A Service backfills its start-up window
 * from the datagrepper-compatible fake; out-of-range values are refused at start-up naming the flag.
 */
import { spawnSync } from 'node:child_process';
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { Service } from '../../src/service.js';
import { FakeDatagrepper, type Stored } from '../helpers/fake-datagrepper.js';
import { CLI, tempDir } from '../helpers/service-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const message = (n: number, timestamp: number): Stored => ({
  topic: 'org.fedoraproject.prod.git.receive',
  timestamp,
  msg_id: `2026-backfill-settings-${n}`,
  msg: { n },
});

/** A fake history holding `n` messages of the last few minutes (inside the start-up window). */
async function history(n: number): Promise<FakeDatagrepper> {
  const dg = await new FakeDatagrepper().start();
  cleanups.push(() => dg.close());
  const now = Date.now() / 1000;
  for (let i = 0; i < n; i++) dg.messages.push(message(i, now - 200 + i));
  return dg;
}

async function started(dg: FakeDatagrepper, flags: Record<string, unknown>, lines: string[] = []): Promise<Service> {
  const dir = tempDir();
  const s = await Service.build({
    config: loadConfig({
      env: {},
      flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], datagrepper: dg.url, ...flags },
    }),
    logger: pino({ level: 'warn' }, { write: (line: string) => void lines.push(line) }),
    // The back-off between two tries of a page, not what is tested: no wait.
    sleep: async () => {},
  });
  cleanups.push(
    () => dir.remove(),
    () => s.close(),
  );
  await s.start();
  return s;
}

describe('--backfill-rows-per-page', () => {
  it('is the rows_per_page of every page asked, and the window is read whole by it', async () => {
    const dg = await history(50);
    const s = await started(dg, { backfillRowsPerPage: 7 });
    // 7 full pages and a short eighth, which ends the window.
    expect(dg.rowsPerPageAsked).toEqual(Array.from({ length: 8 }, () => '7'));
    expect(s.counters.backfilled).toBe(50);
  });

  it('is 100 unless set, as before', async () => {
    const dg = await history(50);
    const s = await started(dg, {});
    expect(dg.rowsPerPageAsked).toEqual(['100']);
    expect(s.counters.backfilled).toBe(50);
  });
});

describe('--backfill-request-timeout', () => {
  it('abandons a page the history never answers after it, and the page is asked again', async () => {
    const dg = await history(30);
    dg.stallNext = 1;
    const lines: string[] = [];
    const s = await started(dg, { backfillRequestTimeout: 0.2 }, lines);
    expect(dg.stalled).toBe(1);
    expect(dg.requests).toBe(2);
    expect(s.counters.backfillRetries).toBe(1);
    expect(s.counters.backfilled).toBe(30);
    const retries = lines
      .map((l) => JSON.parse(l) as { msg: string; error?: string; page?: number })
      .filter((l) => l.msg === 'backfill page failed; retrying');
    expect(retries).toEqual([
      expect.objectContaining({ page: 1, error: expect.stringMatching(/gave no complete answer within 200 ms$/) }),
    ]);
  });
});

describe('the two settings out of range', () => {
  it.each([
    ['--backfill-rows-per-page', '0', 'backfillRowsPerPage'],
    ['--backfill-rows-per-page', '101', 'backfillRowsPerPage'],
    ['--backfill-rows-per-page', '2.5', 'backfillRowsPerPage'],
    ['--backfill-request-timeout', '0.05', 'backfillRequestTimeout'],
    ['--backfill-request-timeout', '3601', 'backfillRequestTimeout'],
  ])('%s %s is refused at start-up naming the flag and the value', (flag, value, key) => {
    const r = spawnSync(process.execPath, [CLI, 'serve', flag, value], { encoding: 'utf8' });
    expect(r.status).toBe(2);
    expect(r.stderr).toContain(`SC_CONFIG_INVALID: setting "${key}" (flag ${flag})`);
    expect(r.stderr).toContain(`got "${value}"`);
  });

  it('reads both from the environment, bounded alike', () => {
    expect(
      loadConfig({ env: { STATSCACHE_BACKFILL_ROWS_PER_PAGE: '25', STATSCACHE_BACKFILL_REQUEST_TIMEOUT: '90' } }),
    ).toMatchObject({ backfillRowsPerPage: 25, backfillRequestTimeout: 90 });
    expect(loadConfig({ env: {} })).toMatchObject({ backfillRowsPerPage: 100, backfillRequestTimeout: 30 });
    expect(() => loadConfig({ env: { STATSCACHE_BACKFILL_ROWS_PER_PAGE: '0' } })).toThrow(
      /"backfillRowsPerPage" \(environment STATSCACHE_BACKFILL_ROWS_PER_PAGE\)/,
    );
  });
});
