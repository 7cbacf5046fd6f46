import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import type { Envelope } from '../../src/envelope.js';
import { Service } from '../../src/service.js';
import { recentSamples } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';

/**
 * Start-up replay takes its own path through the decoder (snapshots/msgpack-read.ts), the
 * plugins' writes (split keys, the digest deferred and settled at the end) and the change log:
 * whatever it skips or batches, the state it ends in must be the one the same messages built
 * live, entry for entry, digest for digest.
 */
const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));
const silent = pino({ level: 'silent' }) as never;

/** Every plugin's digest and every entry of every container, in key order. */
function stateOf(s: Service): Record<string, { digest: string; entries: [string, string, unknown][] }> {
  const out: Record<string, { digest: string; entries: [string, string, unknown][] }> = {};
  for (const r of s.host.runtimes) {
    const cut = r.cut();
    const entries: [string, string, unknown][] = [];
    for (const e of cut.whole()) entries.push([e.store, e.key, e.value]);
    cut.close();
    const order = (e: [string, string, unknown]) => `${e[0]}\u0000${e[1]}`;
    entries.sort((a, b) => (order(a) < order(b) ? -1 : 1));
    out[r.ident] = { digest: r.digest, entries };
  }
  return out;
}

describe('journal replay at start-up', () => {
  it('leaves every plugin in the state the 510 fixture messages built live', async () => {
    const d = tempDir('statscache-replay-live-');
    dirs.push(d);
    const config = loadConfig({ env: {}, flags: { dataDir: d.path, port: 0, replayThread: false } });
    const samples = recentSamples(Math.floor(Date.now() / 1000)) as Envelope[];
    expect(samples.length).toBe(510);

    const writer = await Service.build({ config, logger: silent });
    await writer.recover();
    samples.forEach((m, i) => writer.accept({ ...m, msg_id: `replay-live-${i}` }));
    await writer.settled();
    const live = stateOf(writer);
    // Closed without a snapshot: the next start has the journal alone.
    await writer.close();

    const reader = await Service.build({ config, logger: silent });
    await reader.recover();
    expect(reader.counters.replayed).toBe(510);
    const replayed = stateOf(reader);
    await reader.close();

    // Most plugins hold something: a comparison of empty states would prove nothing.
    const held = Object.values(live).filter((p) => p.entries.length > 0);
    expect(held.length).toBeGreaterThan(20);
    expect(Object.keys(replayed).sort()).toEqual(Object.keys(live).sort());
    for (const ident of Object.keys(live)) expect({ ident, ...replayed[ident] }).toEqual({ ident, ...live[ident] });
  }, 60_000);
});
