/**
 * How far past --max-keys-total the plugins' keys may go, and for how long: the budget is
 * checked every CHECK_EVERY messages, not per write (key-budget.ts says why), so it is passed
 * only between two checks, by what the messages since the last one added, and each check brings
 * the total back under it. Real built-in plugins in a real PluginHost, fed floods of new names
 * (meetbot meetings of up to 40 new attendees, each a key in a dozen per-user containers)
 * between real fixture messages, one message per batch so the total is seen after each.
 */
import { describe, expect, it } from 'vitest';
import { CHECK_EVERY, KEYS_PER_MESSAGE_WORST } from '../../actors/key-budget.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { builtinPlugins } from '../../plugins/index.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { createRouter } from '../../src/router.js';
import { meetbotFloods } from '../helpers/meetbot-floods.js';

const T = 497_222 * 3600;
const BUDGET = 20_000;

describe('the key budget between two checks', () => {
  it('is passed for fewer than CHECK_EVERY messages at a time, by no more than they added, and met again at every check', () => {
    const host = new PluginHost(registerPlugins(builtinPlugins()), () => {}, {
      maxKeys: 100_000,
      maxKeysTotal: BUDGET,
    });
    const route = createRouter(host.runtimes.map((r) => r.plugin));
    const total = () => host.keyBudget?.total ?? Number.NaN;
    let checks = 0;
    let over = 0;
    let longestOver = 0;
    let peakOver = 0;
    /** Keys the messages since the last check added, each message's growth counted (what shrank not subtracted). */
    let addedSinceCheck = 0;
    let before = total();
    const messages = meetbotFloods(23, 12 * CHECK_EVERY);
    for (const [i, { message, topic }] of messages.entries()) {
      host.queue(message, route(topic));
      host.applyQueued();
      const now = total();
      addedSinceCheck += Math.max(0, now - before);
      before = now;
      // The n-th message given to the plugins (from 1), the n-th × CHECK_EVERY ends on a check.
      if ((i + 1) % CHECK_EVERY === 0) {
        checks++;
        expect(now, `after the check at message ${i + 1}`).toBeLessThanOrEqual(BUDGET);
        addedSinceCheck = 0;
        over = 0;
        continue;
      }
      if (now <= BUDGET) {
        over = 0;
        continue;
      }
      over++;
      longestOver = Math.max(longestOver, over);
      peakOver = Math.max(peakOver, now - BUDGET);
      expect(now - BUDGET, `message ${i + 1}`).toBeLessThanOrEqual(addedSinceCheck);
    }
    expect(checks).toBe(12);
    // The budget was passed and cut back more than once: otherwise nothing here was tested.
    expect(host.keyBudget?.cap).toBeLessThan(BUDGET);
    expect(peakOver).toBeGreaterThan(0);
    expect(longestOver).toBeGreaterThan(0);
    expect(longestOver).toBeLessThan(CHECK_EVERY);
  });

  it('is passed by ~1,800 keys per message naming 256 new users, as key-budget.ts and the README state', () => {
    const host = new PluginHost(registerPlugins(builtinPlugins()), () => {}, { maxKeysTotal: 8_000_000 });
    const route = createRouter(host.runtimes.map((r) => r.plugin));
    const topic = 'org.fedoraproject.prod.meetbot.meeting.complete';
    const added: number[] = [];
    for (let m = 0; m < 3; m++) {
      const before = host.keyBudget?.total ?? 0;
      const attendees = Object.fromEntries(Array.from({ length: 256 }, (_, u) => [`flood${m}u${u}`, 1]));
      const message = createPluginMessage({ topic, timestamp: T + m * 60, msg: { attendees } } as never, deriveMeta);
      host.queue(message, route(topic));
      host.applyQueued();
      added.push((host.keyBudget?.total ?? 0) - before);
    }
    // The stated figure, so a plugin that adds per-user containers makes it stale here first.
    for (const n of added) expect(n).toBeGreaterThan(1_600);
    for (const n of added) expect(n).toBeLessThanOrEqual(KEYS_PER_MESSAGE_WORST);
  });
});
