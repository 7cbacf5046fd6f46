import pino from 'pino';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { StateDigest } from '../../actors/state-digest.js';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * Restore and replay leave the state digests unhashed (state-digest.ts, defer()); recovery then
 * settles them over several event-loop turns. What a replica shows must be what the same state
 * kept write by write shows.
 */
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
const silent = pino({ level: 'silent' }) as never;
const digests = (s: Service) => Object.fromEntries(s.host.runtimes.map((r) => [r.ident, r.digest]));

describe('digests deferred through restore and replay', () => {
  it('are settled by recovery, in steps, to the values a service kept write by write', async () => {
    const d = tempDir('statscache-digest-settle-');
    dirs.push(d);
    const config = loadConfig({ env: {}, flags: { dataDir: d.path, port: 0, replayThread: false } });
    const samples = recentSamples(Math.floor(Date.now() / 1000)) as Envelope[];
    const send = (s: Service, from: number, to: number) => {
      for (let i = from; i < to; i++) s.accept({ ...(samples[i % samples.length] as Envelope), msg_id: `settle-${i}` });
    };

    const writer = await Service.build({ config, logger: silent });
    // Nothing to replay: the digests settle at once and are kept write by write from here on.
    await writer.recover();
    expect(writer.host.runtimes.some((r) => r.digestDeferred)).toBe(false);
    send(writer, 0, 1500);
    await writer.settled();
    await writer.snapshot();
    send(writer, 1500, 3000);
    await writer.settled();
    const kept = digests(writer);
    await writer.close();

    const reader = await Service.build({ config, logger: silent, digestSettleStep: 50 });
    // The snapshot is restored with every digest deferred.
    expect(reader.host.runtimes.every((r) => r.digestDeferred)).toBe(true);
    // Event-loop turns, counted by a chain of setImmediate callbacks; each unfinished settle step
    // notes the count it ran at.
    let turns = 0;
    let counting = true;
    const tick = () => {
      turns++;
      if (counting) setImmediate(tick);
    };
    setImmediate(tick);
    const stepTurns: number[] = [];
    const original = StateDigest.prototype.settleSome;
    const settle = vi.spyOn(StateDigest.prototype, 'settleSome').mockImplementation(function (
      this: StateDigest,
      budget,
    ) {
      const done = original.call(this, budget);
      if (!done) stepTurns.push(turns);
      return done;
    });
    try {
      await reader.recover();
    } finally {
      counting = false;
      settle.mockRestore();
    }
    expect(reader.counters.replayed).toBe(1500);
    expect(reader.host.runtimes.some((r) => r.digestDeferred)).toBe(false);
    // Settled in steps of 50 entries, each in an event-loop turn of its own.
    expect(stepTurns.length).toBeGreaterThan(20);
    for (let i = 1; i < stepTurns.length; i++) expect(stepTurns[i]).toBeGreaterThan(stepTurns[i - 1] as number);
    expect(digests(reader)).toEqual(kept);
    await reader.close();
  });
});
