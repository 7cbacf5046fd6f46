/**
 * Service.close() and stop() while the start-up backfill goes on in the background (history slow
 * or down past --ready-timeout). stop() waited for it, close() did not: it returned with the
 * backfill still running, to end on its own after the store had closed and the data dir's lock
 * was let go. And neither stop ended a backfill waiting out a retry's back-off (up to 30 s, or a
 * Retry-After's 300 s): the back-off was not aborted, so stop() waited it out, past
 * --stop-timeout (20 s by default: no final snapshot, exit 1). Real LMDB, a real HTTP history.
 */
import { pino } from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { Service } from '../../src/service.js';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { eventually, tempDir } from '../helpers/service-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const TOPIC = 'org.fedoraproject.prod.git.receive';
const CLOSED = 'test: close() or stop() returned';
const STOPPED = 'backfill stopped: the service is stopping';

interface Line {
  level: number;
  msg: string;
}

/** A service on a fresh data dir, its history `dg` held by the test; three messages taken in live. */
async function setUp(sleep: (ms: number) => Promise<void>) {
  const dg = await new FakeDatagrepper().start();
  cleanups.push(() => dg.close());
  const dir = tempDir('statscache-close-backfill-');
  cleanups.push(() => dir.remove());
  const now = Math.floor(Date.now() / 1000);
  for (let i = 0; i < 5; i++)
    dg.messages.push({ topic: TOPIC, msg_id: `history-${i}`, timestamp: now - 60 + i, msg: {} });
  const lines: Line[] = [];
  const unhandled: unknown[] = [];
  const onUnhandled = (err: unknown) => void unhandled.push(err);
  process.on('unhandledRejection', onUnhandled);
  cleanups.push(() => void process.off('unhandledRejection', onUnhandled));
  const service = await Service.build({
    config: loadConfig({ env: {}, flags: { dataDir: dir.path, port: 0, datagrepper: dg.url, readyTimeout: 0 } }),
    logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(JSON.parse(line) as Line) }),
    sleep,
  });
  cleanups.push(() => service.close());
  for (let i = 0; i < 3; i++)
    service.accept({ topic: TOPIC, msg_id: `live-${i}`, timestamp: now - 30 + i, msg: {} } as unknown as Envelope);
  await service.settled();
  return { dg, dir, service, lines, unhandled };
}

/**
 * A service opened afterwards on the same data dir (its lock free): the journal's records (the
 * live three, none of the history's) and how many it replays (none after a final snapshot).
 */
async function reopened(dir: string): Promise<{ journaled: number; replayed: number }> {
  const again = await Service.build({
    config: loadConfig({ env: {}, flags: { dataDir: dir, port: 0 } }),
    logger: pino({ level: 'silent' }),
  });
  await again.recover();
  const out = { journaled: again.journal.position, replayed: again.counters.replayed };
  await again.close();
  return out;
}

describe('the start-up backfill in the background, when the service closes', () => {
  it('close() while the history holds its page: the backfill has ended when close() returns, and the page let go after it reaches nothing', async () => {
    const { dg, dir, service, lines, unhandled } = await setUp(async () => {});
    let release = () => {};
    dg.hold = new Promise<void>((r) => (release = r));
    await service.recover();
    // The page asked for and held: the backfill waits on it, in the background.
    await eventually(() => (dg.requests > 0 ? true : undefined), 10_000, 'the page asked for', 2);
    await service.close();
    lines.push({ level: 30, msg: CLOSED });
    release();
    dg.hold = null;
    // The held request answered (to a client gone): then nothing of it may reach the service.
    await eventually(() => (dg.windows.length > 0 ? true : undefined), 10_000, 'the held page answered', 2);
    const msgs = lines.map((l) => l.msg);
    expect(msgs.indexOf(STOPPED)).toBeGreaterThanOrEqual(0);
    expect(msgs.indexOf(STOPPED)).toBeLessThan(msgs.indexOf(CLOSED));
    expect(lines.filter((l) => l.level >= 50)).toEqual([]);
    expect(service.counters.backfilled).toBe(0);
    expect(unhandled).toEqual([]);
    expect(await reopened(dir.path)).toEqual({ journaled: 3, replayed: 3 });
  }, 30_000);

  for (const end of ['close', 'stop'] as const) {
    it(`${end}() while a retry's back-off waits: ends it, and the backfill has ended when ${end}() returns`, async () => {
      // The back-off the history's failure asks for, held by the test: let go only at the end.
      let backingOff = () => {};
      const backOff = new Promise<void>((r) => (backingOff = r));
      const wakes: (() => void)[] = [];
      cleanups.push(() => {
        for (const w of wakes) w();
      });
      const { dg, dir, service, lines, unhandled } = await setUp(
        () =>
          new Promise<void>((r) => {
            wakes.push(r);
            backingOff();
          }),
      );
      dg.failNext = Number.MAX_SAFE_INTEGER;
      await service.recover();
      await backOff;
      // stop() that waits out the back-off never returns here (the test times out).
      await service[end]();
      lines.push({ level: 30, msg: CLOSED });
      for (const w of wakes.splice(0)) w();
      const requests = dg.requests;
      const msgs = lines.map((l) => l.msg);
      expect(msgs.indexOf(STOPPED)).toBeGreaterThanOrEqual(0);
      expect(msgs.indexOf(STOPPED)).toBeLessThan(msgs.indexOf(CLOSED));
      expect(lines.filter((l) => l.level >= 50)).toEqual([]);
      expect(unhandled).toEqual([]);
      // The back-off let go: no page is asked for again.
      expect(await reopened(dir.path)).toEqual({ journaled: 3, replayed: end === 'stop' ? 0 : 3 });
      expect(dg.requests).toBe(requests);
    }, 30_000);
  }
});
