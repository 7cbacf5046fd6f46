/**
 * The bus fuzz's messages for the in-process tests (bus-fuzz.test.ts, bus-fuzz-service.test.ts):
 * seeded, dated near the real clock, with what a failure prints to replay one alone.
 */
import type { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { loadConfig } from '../../src/config.js';
import { frameLimits } from '../../src/decode-frames.js';
import { type Mutated, mutatedMessages } from '../helpers/bus-mutations.js';
import { recentSamples } from '../helpers/fixtures.js';

export const SEED = Number(process.env['BUS_FUZZ_SEED'] ?? 20260105);
export const COUNT = 1000;
// Dated near the real clock, which the service judges timestamps by.
export const NOW = Math.floor(Date.now() / 1000);
export const config = loadConfig({ env: {}, flags: { port: 0, dataDir: '/nonexistent' } });
export const limits = frameLimits(config, () => NOW);
const base = recentSamples(NOW - 600).map((e, i) => ({ ...e, msg_id: `fuzz-base-${i}` }));
export const messages = mutatedMessages(SEED, COUNT, base, NOW);
export const frames = (m: Mutated) => [Buffer.from(m.topic), Buffer.from(m.text)];

/** What a failure says: enough to replay it alone. */
export const describeMessage = (i: number, m: Mutated) =>
  `seed ${SEED} message ${i} (${m.ops.join(', ')}): topic ${JSON.stringify(m.topic).slice(0, 120)} text ${m.text.slice(0, 400)}${m.text.length > 400 ? `… (${m.text.length} chars)` : ''}`;

/** Messages a plugin lost: it threw, wrote a key too long to store, or was quarantined. */
export const dropped = (rt: PluginRuntime) => {
  const d = rt.stats().counters.dropped;
  return d.update_error + d.key_too_long + d.quarantined;
};
export const digests = (host: PluginHost) => Object.fromEntries(host.runtimes.map((r) => [r.ident, r.digest]));
