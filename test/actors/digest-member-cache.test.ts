/**
 * The digest's hash keeps the lanes of member names and of short string members it has
 * hashed (digest-hash.ts): the answers must be the ones hashing every char gives, whatever the
 * cache holds, and the cache must stay bounded. Known answers below were computed by the
 * version before the caches (2fdfb2e), which hashed every member char by char.
 */
import { describe, expect, it } from 'vitest';
import { MEMBER_MAX_LENGTH, MEMBER_SLOTS, memberCacheSize } from '../../actors/digest-hash.js';
import { PluginHost } from '../../actors/plugin-host.js';
import { registerPlugins } from '../../actors/registry.js';
import { formatDigest, StateDigest } from '../../actors/state-digest.js';
import { builtinPlugins } from '../../plugins/index.js';
import type { Envelope } from '../../src/envelope.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { createRouter } from '../../src/router.js';
import { recentSamples } from '../helpers/fixtures.js';

function hashOf(container: number, key: string, value: unknown): string {
  const d = new StateDigest();
  d.toggle(container, key, value);
  return formatDigest([d]);
}

/** Every built-in plugin's digest after the 510 fixture messages (one second apart), applied live. */
const FIXTURE_DIGESTS: Record<string, string> = {
  'volume-1s': 'a3adf4476e245a02',
  'volume-5s': '39d295a72788652f',
  'volume-1m': 'a3909c3391d226d0',
  'volume-by-category-1s': 'a5a38932352c8514',
  'volume-by-category-15s': '945fcefd95f3cbce',
  'volume-by-category-1m': '8eed13c80ef20695',
  'volume-by-category-1h': '86a91ee2485fba96',
  'volume-by-category-1d': '2e87aa006bb0dbd5',
  'volume-by-topic-1s': 'a2540b183d22b2fa',
  'volume-by-topic-5s': '166d0db47e43c051',
  'volume-by-topic-1m': '55bc06e3c53c67c7',
  'volume-by-user-1s': '696969ddc43917fe',
  'volume-by-user-5s': '703bf4622174e54d',
  'volume-by-user-1m': '4d7f3cd46a699e20',
  'volume-by-package-1s': 'f9e51c0e0524a5f6',
  'volume-by-package-5s': 'e05b3bfad82cb4c5',
  'volume-by-package-1m': '5a954d81671fd7d7',
  'number-of-contribution-to-pagure.io-1d': '9dfa26b48ec78df5',
  'number-of-contribution-per-project-to-pagure.io-1d': '7e0cceda63c567a9',
  'number-of-contribution-per-user-to-pagure.io-1d': '805b6ecfafe81a28',
  'release-engineering-event-logs': '08c30493c8d0b595',
  'contribution-calendar-1d': 'a6359471bfd1edec',
  'latest-event-per-topic': '4c749477271f3925',
  'latest-event-per-category': 'ce6f4f4858a98ac8',
  'top-users': 'aa012b2e48725b3f',
  'top-packages': '7f37f36fe112b498',
  'messages-last-24h': 'e1fcc42422991548',
};

describe('the digest hash with its member caches', () => {
  it('gives the uncached answers when a string recurs under another name, names share a slot, members nest or are long', () => {
    const cases: [number, string, unknown, string][] = [
      // `ax` and `ay` share a name slot (same length and first unit) and the string 'same'.
      [5, 'k1', { ax: 'same', ay: 'same', volume: 3 }, '39c3aa848759d97f'],
      [5, 'k2', { ay: 'same', ax: 'other', volume: 3 }, 'fe41736282c386b2'],
      [6, 'k3', { user: 'same', nested: { user: 'same', ax: 1 } }, '1722a2fb90847525'],
      [7, 'k4', { long: 'x'.repeat(MEMBER_MAX_LENGTH + 44), ax: '' }, '3ed91476302f9749'],
    ];
    // Twice: the second round is answered from the caches the first filled.
    for (let round = 0; round < 2; round++)
      for (const [container, key, value, want] of cases)
        expect(hashOf(container, key, value), `${key} round ${round}`).toBe(want);
  });

  it('holds at most MEMBER_SLOTS strings, and answers the same after starting over', () => {
    const first = hashOf(1, 'k', { topic: 't0' });
    expect(first).toBe('be6c621ecb1a2909');
    const answers: string[] = [];
    for (let i = 0; i < MEMBER_SLOTS + 52; i++) {
      answers.push(hashOf(1, 'k', { topic: `t${i}` }));
      expect(memberCacheSize()).toBeLessThanOrEqual(MEMBER_SLOTS);
    }
    expect(answers[MEMBER_SLOTS - 1]).toBe('5045502d0f199662');
    expect(answers[MEMBER_SLOTS + 51]).toBe('132944764633d042');
    // 't0' was dropped when the cache started over: hashed afresh, to the same answer.
    expect(hashOf(1, 'k', { topic: 't0' })).toBe(first);
    // Strings over MEMBER_MAX_LENGTH are never kept.
    const before = memberCacheSize();
    hashOf(1, 'k', { topic: 'y'.repeat(MEMBER_MAX_LENGTH + 1) });
    expect(memberCacheSize()).toBe(before);
  });

  it('leaves every built-in plugin with the digest it had over the fixture messages, applied live', () => {
    const envelopes = recentSamples(1_700_000_000) as unknown as Envelope[];
    expect(envelopes.length).toBe(510);
    const host = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    host.live();
    const route = createRouter(host.runtimes.map((r) => r.plugin));
    for (const e of envelopes) host.dispatch(createPluginMessage(e, deriveMeta), route(e.topic));
    expect(Object.fromEntries(host.runtimes.map((r) => [r.ident, r.digest]))).toEqual(FIXTURE_DIGESTS);
    host.stop();
  });
});
