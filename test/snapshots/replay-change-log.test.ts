import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * Replay writes into change logs no reader may need: a snapshot slot opens its reader at its
 * first whole write (snapshotter.ts), and a log no reader can read keeps nothing (change-log.ts).
 * What the snapshots after a replay write, incrementally, must still be the whole state: a start
 * from them holds what a service that never restarted holds (state digests: equal digests, equal
 * entries; digest-settle.test.ts shows them equal to state kept write by write).
 */
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
const silent = pino({ level: 'silent' }) as never;
const digests = (s: Service) => Object.fromEntries(s.host.runtimes.map((r) => [r.ident, r.digest]));
const samples = recentSamples(Math.floor(Date.now() / 1000)) as Envelope[];
const send = (s: Service, from: number, to: number) => {
  for (let i = from; i < to; i++) s.accept({ ...(samples[i % samples.length] as Envelope), msg_id: `log-${i}` });
};
const build = (path: string, generations: number) =>
  Service.build({
    config: loadConfig({
      env: {},
      flags: { dataDir: path, port: 0, replayThread: false, snapshotGenerations: generations },
    }),
    logger: silent,
  });

/** The state of a service that took messages [0, to) live, never restarted. */
async function reference(to: number): Promise<Record<string, string>> {
  const d = tempDir('statscache-replay-log-ref-');
  dirs.push(d);
  const s = await build(d.path, 1);
  await s.recover();
  send(s, 0, to);
  await s.settled();
  const out = digests(s);
  await s.close();
  return out;
}

describe('snapshots after a replay', () => {
  it.each([1, 2])(
    'with no snapshot to restore, %i generation(s): written whole, then incrementally, a restart from them holds every message',
    async (generations) => {
      const d = tempDir('statscache-replay-log-');
      dirs.push(d);
      const writer = await build(d.path, generations);
      await writer.recover();
      send(writer, 0, 400);
      await writer.settled();
      await writer.close(); // journal only

      const first = await build(d.path, generations);
      await first.recover();
      expect(first.counters.replayed).toBe(400);
      // No slot was readable incrementally: the replay's writes were not kept for one.
      expect(first.host.runtimes.every((r) => (r as unknown as { log: { length: number } }).log.length === 0)).toBe(
        true,
      );
      const whole = await first.snapshot();
      send(first, 400, 500);
      await first.settled();
      // Every slot once whole, then the first one again: incremental from its first write's cut.
      for (let g = 1; g < generations; g++) await first.snapshot();
      send(first, 500, 520);
      await first.settled();
      const incremental = await first.snapshot();
      expect(incremental.written).toBeGreaterThan(0);
      expect(incremental.written).toBeLessThan(whole.written / 2);
      const kept = digests(first);
      await first.close();
      expect(kept).toEqual(await reference(520));

      const second = await build(d.path, generations);
      await second.recover();
      expect(second.counters.replayed).toBe(0);
      expect(digests(second)).toEqual(kept);
      await second.close();
    },
  );

  it('with a snapshot restored: the replayed writes are in the restored slot next written incrementally', async () => {
    const d = tempDir('statscache-replay-log-');
    dirs.push(d);
    const writer = await build(d.path, 1);
    await writer.recover();
    send(writer, 0, 300);
    await writer.settled();
    const whole = await writer.snapshot();
    send(writer, 300, 360);
    await writer.settled();
    await writer.close(); // 60 messages after the snapshot, in the journal only

    const first = await build(d.path, 1);
    await first.recover();
    expect(first.counters.replayed).toBe(60);
    const after = await first.snapshot();
    // Incremental (the slot restored from), and with the replayed messages' writes in it.
    expect(after.written).toBeGreaterThan(0);
    expect(after.written).toBeLessThan(whole.written / 2);
    const kept = digests(first);
    await first.close();
    expect(kept).toEqual(await reference(360));

    const second = await build(d.path, 1);
    await second.recover();
    expect(second.counters.replayed).toBe(0);
    expect(digests(second)).toEqual(kept);
    await second.close();
  });
});
