/**
 * The key budget (--max-keys-total) must give replicas fed the same messages the same state,
 * whatever the batches the messages were applied in: live ingest applies a batch per journal
 * commit (per event-loop turn, so as many as arrived in it), replay REPLAY_BATCH at a time or a
 * 50 ms slice, backfill a page. The budget used to be checked after each batch, so the cut fell
 * at different points of the message sequence, with different caps: five plugins' digests
 * differed between messages applied one at a time and the same messages fifty at a time.
 */
import { describe, expect, it } from 'vitest';
import type { PluginMessage } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { createRouter } from '../../src/router.js';
import { meetbotFloods } from '../helpers/meetbot-floods.js';
import { mulberry32 } from '../helpers/seeded-random.js';

const BUDGET = 20_000;

/** Every plugin's digest after applying `messages` in batches of the sizes `batch` gives, and the budget's cap on the way. */
function run(messages: readonly { message: PluginMessage; topic: string }[], batch: () => number) {
  const host = new PluginHost(registerPlugins(builtinPlugins()), () => {}, {
    maxKeys: 100_000,
    maxKeysTotal: BUDGET,
  });
  const route = createRouter(host.runtimes.map((r) => r.plugin));
  let lowest = Number.POSITIVE_INFINITY;
  let left = batch();
  for (const { message, topic } of messages) {
    host.queue(message, route(topic));
    if (--left > 0) continue;
    host.applyQueued();
    lowest = Math.min(lowest, host.keyBudget?.cap ?? lowest);
    left = batch();
  }
  host.applyQueued();
  return {
    digests: Object.fromEntries(host.runtimes.map((r) => [r.ident, r.digest])),
    lowest,
    evicted: host.runtimes.reduce((n, r) => n + r.inspect().counters.capEvicted, 0),
  };
}

describe('the key budget cuts at the same points of the message sequence, whatever the batches', () => {
  it('one at a time, fifty at a time, all at once and random batches give every plugin the same digest', () => {
    const messages = meetbotFloods(11, 1500);
    const one = run(messages, () => 1);
    // The budget was full and cut: otherwise there is nothing to compare.
    expect(one.lowest).toBeLessThan(BUDGET);
    expect(one.evicted).toBeGreaterThan(0);
    const random = mulberry32(5);
    for (const [name, batch] of [
      ['fifty', () => 50],
      ['all at once', () => Number.MAX_SAFE_INTEGER],
      ['random 1-1500', () => 1 + Math.floor(random() * 1500)],
      ['random 1-40', () => 1 + Math.floor(random() * 40)],
    ] as const) {
      const other = run(messages, batch);
      const differ = Object.keys(one.digests).filter((ident) => one.digests[ident] !== other.digests[ident]);
      expect({ batches: name, differ }).toEqual({ batches: name, differ: [] });
    }
    // Five runs of 16,500 messages through every built-in: ~8 s on a loaded 2-core machine, and
    // past the default 30 s once while helpers ran callgrind beside it.
  }, 120_000);
});
