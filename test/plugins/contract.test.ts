/**
 * The contract every plugin keeps, built-in or external, checked over the real samples:
 * views survive a snapshot round-trip through real LMDB, a throwing or malformed input costs
 * only that message, views are plain JSON, and the result does not depend on how the same
 * messages were delivered (one at a time with reads in between, in one go, or across
 * snapshot/restart boundaries).
 *
 * The samples span 2012–2019 and many share a timestamp; they are restamped one minute apart
 * (bodies untouched, file order kept) so the 1 s…1 d buckets, the retention of the fine
 * buckets (6 h for 1 s: the 8.5 h stream evicts its first part) and the sliding windows all
 * see realistic, advancing time. Per-plugin tests use the original timestamps.
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { PluginMessage, Row } from '../../actors/plugin-api.js';
import { builtinPlugins } from '../../plugins/index.js';
import { DataStore } from '../../snapshots/lmdb-store.js';
import { restore } from '../../snapshots/restore.js';
import { Snapshotter } from '../../snapshots/snapshotter.js';
import type { Envelope } from '../../src/envelope.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { loadExternalPlugins } from '../../src/plugin-loader.js';
// @ts-expect-error: a plain JavaScript module, as external plugins are
import bodhiKarma from '../../examples/plugins/bodhi-karma.js';
import { samples, type RawEnvelope } from '../helpers/fixtures.js';
import { tempDir } from '../helpers/service-process.js';
import { harness, paramCases, rowsOf, type Harness } from './harness.js';

const END = 1_700_000_000;
const STEP = 60;
/**
 * An author's own plugins, checked beside these: STATSCACHE_TEST_PLUGINS=/path/to/plugin.js,…
 * (module paths or package names, as the config file's "plugins" takes them, relative to the
 * working directory). Loaded through the service's own loader, so what fails to load or
 * register here fails the same way in `serve`.
 */
const OWN = (process.env['STATSCACHE_TEST_PLUGINS'] ?? '')
  .split(',')
  .map((s) => s.trim())
  .filter((s) => s !== '');
const own = (await loadExternalPlugins(OWN, process.cwd())).map((p) => p.definition);
const every = (): unknown[] => [...builtinPlugins(), bodhiKarma, ...own];

function stream(): RawEnvelope[] {
  const all = samples();
  return all.map((e, i) => ({ ...e, timestamp: END - (all.length - 1 - i) * STEP }));
}

/** Every plugin's view for every query case, keyed `ident?params`. */
function views(h: Harness): Record<string, Row[]> {
  const out: Record<string, Row[]> = {};
  for (const rt of h.host.runtimes) {
    const base = rowsOf(rt);
    for (const params of paramCases(rt.plugin, base)) {
      for (const order of ['desc', 'asc'] as const)
        out[`${rt.ident}?${JSON.stringify(params)}&${order}`] = rowsOf(rt, params, order);
    }
  }
  return out;
}

/** Raw state: rows and stores, key-sorted (Map order is not part of the contract). */
function state(h: Harness): Record<string, unknown> {
  const sorted = (m: Iterable<[string, unknown]>) => [...m].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return Object.fromEntries(
    h.host.runtimes.map((rt) => [
      rt.ident,
      {
        rows: sorted(rt.inspect().rows.entries()),
        stores: Object.fromEntries(Object.entries(rt.inspect().stores).map(([n, s]) => [n, sorted(s.entries())])),
      },
    ]),
  );
}

const dirs: { remove(): void }[] = [];
afterEach(() => dirs.splice(0).forEach((d) => d.remove()));

/** One process lifetime: restore from `dir`, apply `envelopes`, snapshot, close. Returns the harness (still readable). */
async function lifetime(dir: string, envelopes: readonly RawEnvelope[], snapshots = 1): Promise<Harness> {
  const h = harness(every());
  const store = new DataStore(dir);
  const report = restore(h.host.runtimes, store);
  const snap = new Snapshotter(
    h.host.runtimes,
    store,
    { slots: 2, now: () => 0, position: () => ({ journalSeq: 0, newestTimestamp: 0, publishers: {} }) },
    report,
  );
  const chunk = Math.ceil(envelopes.length / snapshots);
  for (let i = 0; i < envelopes.length; i += chunk) {
    h.feed(envelopes.slice(i, i + chunk));
    await snap.take();
  }
  if (envelopes.length === 0) await snap.take();
  await store.close();
  return h;
}

describe('plugin contract (every built-in plugin, the example external plugin and STATSCACHE_TEST_PLUGINS)', () => {
  it('every plugin gets rows from the real samples, so the checks below are not vacuous', () => {
    const h = harness(every());
    h.feed(stream());
    const empty = h.host.runtimes.filter((rt) => rowsOf(rt).length === 0).map((rt) => rt.ident);
    expect(empty).toEqual([]);
    // The harness hands frozen messages (message.ts): no plugin here changes one, so the
    // service may skip freezing while only the built-in plugins are loaded.
    expect(h.errors).toEqual([]);
    // Retention really evicted: 1 s buckets keep 6 h of an 8.5 h stream.
    expect(h.rt('volume-1s').inspect().counters.evicted).toBeGreaterThan(0);
    // Sliding windows really expired: the hour window of top-users moved across the stream.
    expect(h.rt('top-users').inspect().counters.expired).toBeGreaterThan(0);
    h.stop();
  });

  it('views are plain JSON: no undefined, NaN or Infinity, and they survive JSON round-trips', () => {
    const h = harness(every());
    h.feed(stream());
    const plain = (v: unknown, where: string): void => {
      if (v === null || typeof v === 'string' || typeof v === 'boolean') return;
      if (typeof v === 'number') {
        expect(Number.isFinite(v), `${where} is ${v}`).toBe(true);
        return;
      }
      expect(typeof v, `${where} is ${typeof v}`).toBe('object');
      for (const [k, x] of Object.entries(v as object)) {
        expect(x, `${where}.${k} is undefined`).not.toBeUndefined();
        plain(x, `${where}.${k}`);
      }
    };
    for (const [query, rows] of Object.entries(views(h))) {
      rows.forEach((r, i) => plain(r, `${query}[${i}]`));
      expect(JSON.parse(JSON.stringify(rows)), query).toStrictEqual(rows);
      for (const r of rows) expect(typeof r.timestamp, query).toBe('number');
    }
    h.stop();
  });

  it('a snapshot round-trip through LMDB restores identical views and state', async () => {
    const d = tempDir();
    dirs.push(d);
    const live = await lifetime(d.path, stream());
    const restored = await lifetime(d.path, []);
    expect(state(restored)).toEqual(state(live));
    expect(views(restored)).toEqual(views(live));
    live.stop();
    restored.stop();
  });

  it('messages sharing a timestamp give the same views and state in whichever order they come', () => {
    // Replicas get such messages in different orders (one live, another from a backfill): a
    // plugin that let the first or the last arrival win kept different rows on each for good.
    const all = stream();
    const paired = all.map((e, i) => ({ ...e, timestamp: all[i - (i % 2)]?.timestamp ?? e.timestamp }));
    const swapped = paired.map(
      (_, i) => paired[i % 2 === 0 ? Math.min(i + 1, paired.length - 1) : i - 1] as RawEnvelope,
    );
    const inOrder = harness(every());
    inOrder.feed(paired);
    const reversed = harness(every());
    reversed.feed(swapped);
    expect(views(reversed)).toEqual(views(inOrder));
    expect(state(reversed)).toEqual(state(inOrder));
    inOrder.stop();
    reversed.stop();
  });

  it('replaying one at a time with reads in between, in one go, or across restarts gives the same views', async () => {
    const all = stream();
    const oneGo = harness(every());
    oneGo.feed(all);
    const expected = views(oneGo);

    const oneByOne = harness(every());
    for (const e of all) {
      oneByOne.feed([e]);
      for (const rt of oneByOne.host.runtimes) rowsOf(rt); // reads must not disturb anything
    }
    expect(views(oneByOne)).toEqual(expected);

    // Three process lifetimes, with several incremental snapshots inside each.
    const d = tempDir();
    dirs.push(d);
    const third = Math.ceil(all.length / 3);
    (await lifetime(d.path, all.slice(0, third), 3)).stop();
    (await lifetime(d.path, all.slice(third, 2 * third), 4)).stop();
    const last = await lifetime(d.path, all.slice(2 * third), 2);
    expect(views(last)).toEqual(expected);
    expect(state(last)).toEqual(state(oneGo));
    for (const h of [oneGo, oneByOne, last]) h.stop();
  });

  it('a message whose body and meta throw costs only that message; the actor goes on', () => {
    const all = stream();
    const hostileTopics = [
      'org.fedoraproject.prod.compose.rawhide.start',
      'io.pagure.prod.pagure.pull-request.new',
      'org.fedoraproject.prod.bodhi.update.comment',
      'org.fedoraproject.prod.buildsys.task.state.change',
    ];
    const at = [100, 200, 300, 400];
    const hostile = (topic: string, timestamp: number): PluginMessage => {
      const envelope = { topic, timestamp } as Envelope;
      Object.defineProperty(envelope, 'msg', {
        get: () => {
          throw new Error('hostile body');
        },
      });
      return {
        topic,
        timestamp,
        category: topic.split('.')[3] ?? '',
        msgId: null,
        envelope,
        get body(): unknown {
          throw new Error('hostile body');
        },
        get meta(): never {
          throw new Error('hostile meta');
        },
      };
    };
    const standIn = (topic: string, timestamp: number) =>
      createPluginMessage({ topic, timestamp, msg: {} }, deriveMeta);
    const run = (make: ((topic: string, t: number) => PluginMessage) | null) => {
      const h = harness(every());
      let last = 0;
      at.forEach((pos, i) => {
        h.feed(all.slice(last, pos));
        if (make) h.send(make(hostileTopics[i] as string, (all[pos - 1] as RawEnvelope).timestamp as number));
        last = pos;
      });
      h.feed(all.slice(last));
      return h;
    };
    const clean = run(null);
    const attacked = run(hostile);
    const control = run(standIn);
    const threw = new Set(attacked.errors.map((e) => e.ident));
    // Plugins that read meta or bodies must have thrown (and been rolled back), or this test proves nothing.
    for (const ident of [
      'volume-by-user-1s',
      'number-of-contribution-per-project-to-pagure.io-1d',
      'release-engineering-event-logs',
      'bodhi-karma-1d',
      'top-users',
      'latest-event-per-topic',
    ]) {
      expect(threw.has(ident), ident).toBe(true);
    }
    const attackedViews = views(attacked);
    const cleanViews = views(clean);
    const controlViews = views(control);
    for (const rt of attacked.host.runtimes) {
      const routed = rt.inspect().counters.received - clean.rt(rt.ident).inspect().counters.received;
      const dropped = rt.inspect().counters.dropped.update_error;
      const mine = (v: Record<string, Row[]>) =>
        Object.fromEntries(Object.entries(v).filter(([k]) => k.startsWith(`${rt.ident}?`)));
      if (dropped > 0) {
        // Every hostile message it read was rolled back entirely, and every later message applied.
        expect(dropped, rt.ident).toBe(routed);
        expect(rt.inspect().counters.applied, rt.ident).toBe(clean.rt(rt.ident).inspect().counters.applied);
        expect(mine(attackedViews), rt.ident).toEqual(mine(cleanViews));
      } else {
        // It never touched body or meta, so the hostile message counted like any message on that topic.
        expect(mine(attackedViews), rt.ident).toEqual(mine(controlViews));
      }
    }
    for (const h of [clean, attacked, control]) h.stop();
  });

  it('malformed bodies (null, text, arrays, numbers, mistyped fields) never make a plugin throw', () => {
    const all = stream();
    const wrap = (v: unknown) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.entries(v).map(([k, x]) => [k, [x]]))
        : v;
    const retype = (v: unknown) =>
      v !== null && typeof v === 'object' && !Array.isArray(v)
        ? Object.fromEntries(Object.keys(v).map((k) => [k, 7]))
        : v;
    const variants: ((e: RawEnvelope) => unknown)[] = [
      () => null,
      () => 'garbage',
      () => [],
      () => 42,
      () => ({}),
      (e) => wrap(e['msg']),
      (e) => retype(e['msg']),
    ];
    const h = harness(every());
    for (const variant of variants) h.feed(all.map((e) => ({ ...e, msg: variant(e) })));
    expect(h.errors.map((e) => `${e.ident}: ${String(e.error)}`)).toEqual([]);
    h.stop();
  });
});
