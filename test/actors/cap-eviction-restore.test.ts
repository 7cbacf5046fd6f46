/**
 * Which rows the key cap evicts must not depend on whether the plugin restarted. A restore
 * loads a plugin's rows in key order (LMDB's), not in the order messages wrote them; the cap
 * used to take the oldest bucket's rows in the order they were written, so a replica that had
 * restarted kept other rows of that bucket than one that had not, and their digests differed
 * for as long as the bucket lived. Real plugins in a real PluginHost; the restore goes through
 * the runtime's own cut and load, with the entries in key order as a snapshot reads them.
 */
import { describe, expect, it } from 'vitest';
import { PluginHost } from '../../actors/plugin-host.js';
import type { PluginRuntime } from '../../actors/plugin-runtime.js';
import { registerPlugins } from '../../actors/registry.js';
import { latestEventPerTopic } from '../../plugins/latest-event.js';
import { volumeByTopic } from '../../plugins/volume-by-key.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';

const CAP = 100;
/** A minute boundary: every message below lands in one 1-minute bucket. */
const T = 29_933_280 * 60;

const message = (k: number) =>
  createPluginMessage(
    { topic: `org.fedoraproject.prod.cat.t${String(k).padStart(3, '0')}`, timestamp: T + 1, msg: {} },
    deriveMeta,
  );
/** 90 topics arriving in the reverse of their key order, then 60 more: 150 rows in one bucket, 50 over the cap. */
const first = Array.from({ length: 90 }, (_, i) => message(89 - i));
const second = Array.from({ length: 60 }, (_, i) => message(90 + i));

const hostOf = () =>
  new PluginHost(registerPlugins([volumeByTopic('1m'), latestEventPerTopic()]), () => {}, { maxKeys: CAP });

/** A new runtime's state as a restore gives it: the cut's entries, keys in order. */
function restoreInto(from: PluginRuntime, to: PluginRuntime): void {
  const cut = from.cut();
  const entries = [...cut.whole()].filter((e) => e.store === 'rows').sort((a, b) => (a.key < b.key ? -1 : 1));
  to.load(
    { rows: { keys: entries.map((e) => e.key), values: entries.map((e) => e.value) }, stores: {} },
    cut.lastMessageAt,
  );
  cut.close();
}

const topicsOf = (rt: PluginRuntime) =>
  [...rt.inspect().rows.values()].map((r) => (r as unknown as { topic: string }).topic.slice(-4)).sort();

describe('rows evicted at the key cap', () => {
  for (const ident of ['volume-by-topic-1m', 'latest-event-per-topic']) {
    it(`${ident}: the same rows stay whether or not the plugin restarted in between`, () => {
      const live = hostOf().get(ident) as PluginRuntime;
      for (const m of [...first, ...second]) live.send(m);

      const before = hostOf().get(ident) as PluginRuntime;
      for (const m of first) before.send(m);
      const restarted = hostOf().get(ident) as PluginRuntime;
      restoreInto(before, restarted);
      for (const m of second) restarted.send(m);

      for (const rt of [live, restarted]) {
        expect(rt.stats().rows).toBe(CAP);
        expect(rt.stats().counters.capEvicted).toBe(50);
      }
      // Of the bucket, the last 50 keys in key order went (t100-t149), not the first 50 to arrive (t089-t040).
      expect(topicsOf(live)).toEqual(Array.from({ length: CAP }, (_, i) => `t${String(i).padStart(3, '0')}`));
      expect(topicsOf(restarted)).toEqual(topicsOf(live));
      expect(restarted.digest).toBe(live.digest);
    });
  }
});
