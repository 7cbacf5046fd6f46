import { afterEach, describe, expect, it } from 'vitest';
import { pino } from 'pino';
import { Publisher } from 'zeromq';
import { loadConfig } from '../../src/config.js';
import { createLogger } from '../../src/logger.js';
import { Service } from '../../src/service.js';
import { FakeDatagrepper } from '../helpers/fake-datagrepper.js';
import { eventually, tempDir } from '../helpers/service-process.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const c of cleanups.splice(0).reverse()) await c();
});

const readyz = (s: Service) =>
  JSON.parse(String(s.http({ method: 'GET', path: '/readyz', query: '', header: () => '' }).body)) as {
    status: string;
    degraded?: string;
  };

describe('the start-up backfill window', () => {
  it('never starts after it ends when the newest message is dated ahead of the clock (a publisher ahead, --backfill-overlap 0)', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const now = Date.now() / 1000;
    dg.messages.push({ topic: 'org.fedoraproject.prod.git.receive', msg_id: 'on-time', timestamp: now - 30, msg: {} });
    const build = () =>
      Service.build({
        config: loadConfig({
          env: {},
          flags: {
            dataDir: dir.path,
            port: 0,
            bind: ['tcp://127.0.0.1:*'],
            datagrepper: dg.url,
            backfillOverlap: 0,
            readyTimeout: 2,
          },
        }),
        logger: createLogger('silent'),
        sleep: () => new Promise((r) => setTimeout(r, 5)),
      });
    const first = await build();
    await first.start();
    expect(first.counters.backfilled).toBe(1);
    // Within the 300 s a timestamp may run ahead of the clock: accepted live, and the newest.
    const pub = new Publisher({ linger: 0 });
    pub.connect(first.subscription!.bound[0]!);
    const ahead = { topic: 'org.fedoraproject.prod.git.receive', msg_id: 'ahead', timestamp: now + 200, msg: {} };
    await eventually(
      async () => {
        await pub.send([ahead.topic, JSON.stringify(ahead)]);
        return first.counters.accepted + first.counters.duplicates > 1 ? true : undefined;
      },
      5_000,
      'the message ahead of the clock accepted',
    );
    pub.close();
    await eventually(() => (first.intake.appliedSeqNumber === 2 ? true : undefined), 5_000, 'applied');
    await first.close();

    // A restart a moment later: the window began at that message (200 s from now) and ended now,
    // which a history refuses (400), retried for as long as the service ran, degraded.
    const second = await build();
    cleanups.push(() => second.close());
    await second.start();
    expect(second.counters.backfillRetries).toBe(0);
    expect(readyz(second)).toEqual(expect.objectContaining({ status: 'ready' }));
    expect(readyz(second).degraded).toBeUndefined();
    const last = dg.windows.at(-1)!;
    expect(last.start).toBeLessThanOrEqual(last.end);
  });
});

describe('a start-up backfill cut off by a stop', () => {
  it('is logged as stopped, never as done or finished', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    dg.failNext = Number.MAX_SAFE_INTEGER;
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const lines: string[] = [];
    const s = await Service.build({
      config: loadConfig({
        env: {},
        flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], datagrepper: dg.url, readyTimeout: 0.2 },
      }),
      logger: pino({ level: 'info' }, { write: (line: string) => void lines.push(line) }),
      sleep: () => new Promise((r) => setTimeout(r, 5)),
    });
    await s.start();
    expect(readyz(s).degraded).toMatch(/history/);
    // SIGTERM's path: the background backfill is aborted and awaited before the final snapshot.
    await s.stop();
    const messages = lines.map((l) => (JSON.parse(l) as { msg: string }).msg);
    expect(messages).toContain('backfill stopped: the service is stopping');
    expect(messages).not.toContain('backfill done');
    expect(messages).not.toContain('start-up backfill finished in the background; no longer degraded');
  });
});

describe("the history's archive lag", () => {
  it('fetches the end of the start-up window again: a message archived after the first read is counted, once', async () => {
    const dg = await new FakeDatagrepper().start();
    cleanups.push(() => dg.close());
    const dir = tempDir();
    cleanups.push(() => dir.remove());
    const now = Date.now() / 1000;
    dg.messages.push({ topic: 'org.fedoraproject.prod.git.receive', msg_id: 'archived', timestamp: now - 60, msg: {} });
    const s = await Service.build({
      config: loadConfig({
        env: {},
        flags: { dataDir: dir.path, port: 0, bind: ['tcp://127.0.0.1:*'], datagrepper: dg.url, historyLag: 0.5 },
      }),
      logger: createLogger('silent'),
      sleep: () => new Promise((r) => setTimeout(r, 5)),
    });
    cleanups.push(() => s.close());
    await s.start();
    expect(s.counters.backfilled).toBe(1);
    // Published before the restart, stored by the history only after the start-up backfill read it.
    const end = dg.windows[0]!.end;
    dg.messages.push({ topic: 'org.fedoraproject.prod.git.receive', msg_id: 'late', timestamp: end - 0.2, msg: {} });
    let release = () => {};
    dg.hold = new Promise<void>((r) => (release = r));
    const before = dg.requests;
    await eventually(() => (dg.requests > before ? true : undefined), 10_000, 'the recheck asked');
    // Routine, not a hole: the instance is not degraded while the recheck waits on the history.
    expect(readyz(s).degraded).toBeUndefined();
    dg.hold = null;
    release();
    await eventually(() => (s.counters.backfilled === 2 ? true : undefined), 10_000, 'the late-archived message');
    // The recheck asked only for the window's last historyLag seconds.
    expect(dg.windows.at(-1)).toEqual({ start: end - 0.5, end });
    expect(s.counters.duplicates).toBe(0);
  });
});
