import { afterEach, describe, expect, it, vi } from 'vitest';
import { definePlugin, rowsOf } from '../../actors/plugin-api.js';
import { PluginHost } from '../../actors/plugin-host.js';
import type { PluginMessage } from '../../actors/plugin-api.js';
import { KeyedStore } from '../../actors/keyed-store.js';
import { registerPlugins } from '../../actors/registry.js';
import { RowStore } from '../../actors/row-store.js';
import { formatDigest, StateDigest } from '../../actors/state-digest.js';
import { builtinPlugins } from '../../plugins/index.js';
import type { Envelope } from '../../src/envelope.js';
import { createPluginMessage } from '../../src/message.js';
import { deriveMeta } from '../../src/meta/index.js';
import { createRouter } from '../../src/router.js';
import { recentSamples } from '../helpers/fixtures.js';
import { openSession } from '../helpers/persistence.js';
import { tempDir } from '../helpers/service-process.js';

const dirs: { remove(): void }[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) d.remove();
});

// Numeric timestamps, as the envelope decoder hands them to plugins.
const envelopes = recentSamples(1_700_000_000) as unknown as Envelope[];

/** Each plugin's messages in bus order, as the router would hand them out. */
function routed(host: PluginHost, list: readonly Envelope[]): PluginMessage[][] {
  const route = createRouter(host.runtimes.map((r) => r.plugin));
  const perPlugin: PluginMessage[][] = host.runtimes.map(() => []);
  for (const e of list) {
    const m = createPluginMessage(e, deriveMeta);
    for (const i of route(e.topic)) perPlugin[i]?.push(m);
  }
  return perPlugin;
}

const digests = (host: PluginHost) => Object.fromEntries(host.runtimes.map((r) => [r.ident, r.digest]));

describe('state digest', () => {
  it('hashes entries to the values earlier versions did, so replicas mid-upgrade still agree', () => {
    // Known answers, computed by the version before feedString was rewritten on locals.
    const cases: [number, string, unknown, string][] = [
      [0, 'a', 1, '49202cf08de3e282'],
      [
        1,
        '1700000000\u001forg.fedoraproject.prod.buildsys.build.state.change',
        { timestamp: 1700000000, topic: 'org.fedoraproject.prod.buildsys.build.state.change', volume: 42 },
        '49d70bb3acb9a163',
      ],
      [2, 'user-é-😀', 'naïve ☃ \ud800', '019c42eb0af6d489'],
      [3, '', [1, 'two', null, [true, false], { x: -0 }], 'bfdf9f5417697410'],
      [4, 'k'.repeat(300), { a: { b: { c: 'd'.repeat(100) } }, n: Number.NaN, big: 10n }, '630caff7f7d41aa8'],
    ];
    // Again, in reverse and twice more: member names' lanes and short string members' hashes
    // are kept (digest-hash.ts seedName, stringMember), so later passes meet what other cases left.
    for (const pass of [cases, [...cases].reverse(), cases, cases])
      for (const [container, key, value, want] of pass) {
        const d = new StateDigest();
        d.toggle(container, key, value);
        expect(formatDigest([d]), key.slice(0, 20)).toBe(want);
      }
  });

  it('is brought up to date when read, not when the other stats are (a /metrics scrape)', () => {
    const host = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const route = createRouter(host.runtimes.map((r) => r.plugin));
    for (const e of envelopes.slice(0, 50)) host.dispatch(createPluginMessage(e, deriveMeta), route(e.topic));
    const fold = vi.spyOn(StateDigest.prototype, 'fold');
    try {
      const stats = host.runtimes.map((r) => r.stats());
      expect(stats.reduce((n, s) => n + s.rows, 0)).toBeGreaterThan(0);
      expect(fold).not.toHaveBeenCalled();
      // Read through stats, it is the runtime's own digest.
      expect(stats.map((s) => s.digest)).toEqual(host.runtimes.map((r) => r.digest));
      expect(fold).toHaveBeenCalled();
    } finally {
      fold.mockRestore();
    }
  });

  it('is equal on two runtimes fed the same messages in different batchings, and differs when one misses a message', () => {
    const empty = digests(new PluginHost(registerPlugins(builtinPlugins()), () => {}));
    const a = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const route = createRouter(a.runtimes.map((r) => r.plugin));
    for (const e of envelopes) a.dispatch(createPluginMessage(e, deriveMeta), route(e.topic));

    const b = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    routed(b, envelopes).forEach((msgs, i) => {
      // Uneven batches: 1, 2, 3… messages per apply() call.
      for (let at = 0, size = 1; at < msgs.length; at += size, size++) b.runtimes[i]?.apply(msgs.slice(at, at + size));
    });
    expect(digests(b)).toEqual(digests(a));
    // The digests say something: fed plugins moved away from the empty state's digest.
    const moved = a.runtimes.filter((r) => r.stats().rows > 0);
    expect(moved.length).toBeGreaterThan(3);
    for (const r of moved) expect(r.digest).not.toBe(empty[r.ident]);
    for (const d of Object.values(digests(a))) expect(d).toMatch(/^[0-9a-f]{16}$/);

    // A replica that missed one message shows it in at least one plugin's digest.
    const c = new PluginHost(registerPlugins(builtinPlugins()), () => {});
    const skip = envelopes.length >> 1;
    envelopes.forEach((e, i) => {
      if (i !== skip) c.dispatch(createPluginMessage(e, deriveMeta), route(e.topic));
    });
    expect(Object.entries(digests(c)).filter(([ident, d]) => d !== digests(a)[ident]).length).toBeGreaterThan(0);
    for (const h of [a, b, c]) h.stop();
  });

  it('does not depend on write order and returns to the same value when a write is undone', () => {
    const x = new KeyedStore<unknown>();
    const y = new KeyedStore<unknown>();
    x.set('k1', { a: 1, b: [1, 2] });
    x.set('k2', 'v');
    y.set('k2', 'v');
    // Same value built in another property order.
    y.set('k1', { b: [1, 2], a: 1 });
    expect(formatDigest([x.digest])).toBe(formatDigest([y.digest]));
    const before = formatDigest([x.digest]);
    x.beginMessage();
    x.set('k1', 42);
    x.delete('k2');
    x.set('k3', null);
    expect(formatDigest([x.digest])).not.toBe(before);
    x.rollback();
    expect(formatDigest([x.digest])).toBe(before);
    x.delete('k1');
    x.delete('k2');
    expect(formatDigest([x.digest])).toBe('0000000000000000');
  });

  it('hashes values structurally: member order and undefined members do not count, array order and types do', () => {
    const one = (value: unknown) => {
      const s = new KeyedStore<unknown>();
      s.set('k', value);
      return formatDigest([s.digest]);
    };
    expect(one({ a: { x: 1, y: [1, 'two'] }, b: null })).toBe(one({ b: null, a: { y: [1, 'two'], x: 1 } }));
    expect(one({ a: 1, gone: undefined })).toBe(one({ a: 1 }));
    expect(one(-0)).toBe(one(0));
    expect(one([1, 2])).not.toBe(one([2, 1]));
    expect(one(1)).not.toBe(one('1'));
    expect(one({ a: 1 })).not.toBe(one({ b: 1 }));
    expect(one({ a: { b: 1 } })).not.toBe(one({ a: { b: 2 } }));
    expect(one('k')).not.toBe(formatDigest([]));
    // Own members only: an enumerable inherited one is not part of the value (hashed by toggle():
    // a store refuses such a value when it checks them).
    const hashed = (value: unknown) => {
      const d = new StateDigest();
      d.toggle(0, 'k', value);
      return formatDigest([d]);
    };
    const inheriting = Object.assign(Object.create({ inherited: 1 }) as Record<string, unknown>, { a: 1 });
    expect(hashed(inheriting)).toBe(hashed({ a: 1 }));
  });

  it('is unchanged by an update that throws (rolled back)', () => {
    const fragile = definePlugin({
      name: 'Fragile',
      summary: 's',
      description: 'd',
      rows: rowsOf<{ timestamp: number; topic: string }>(),
      columns: ['topic'],
      key: ['timestamp', 'topic'],
      update(m, { rows }) {
        rows.put({ timestamp: m.timestamp, topic: m.topic });
        if (m.topic.includes('boom')) throw new Error('plugin bug');
      },
    });
    const host = new PluginHost(registerPlugins([fragile]), () => {});
    const rt = host.runtimes[0];
    if (!rt) throw new Error('not registered');
    rt.send(createPluginMessage({ topic: 'a.b.c.ok', timestamp: 10, msg: {} }, deriveMeta));
    const before = rt.digest;
    rt.send(createPluginMessage({ topic: 'a.b.c.boom', timestamp: 20, msg: {} }, deriveMeta));
    expect(rt.digest).toBe(before);
    host.stop();
  });

  it('is the same after a snapshot and a restore into a fresh runtime', async () => {
    const d = tempDir();
    dirs.push(d);
    const first = openSession(d.path, builtinPlugins());
    routed(first.host, envelopes).forEach((msgs, i) => first.host.runtimes[i]?.apply(msgs));
    const live = digests(first.host);
    const taken = await first.snapshotter.take();
    expect(taken.generation).toBe(1);
    await first.close();

    const second = openSession(d.path, builtinPlugins());
    expect(second.report.meta?.generation).toBe(1);
    expect(digests(second.host)).toEqual(live);
    await second.close();
  });
});

/** A deterministic generator of whole numbers below n: the same sequence every run for a seed. */
function seeded(seed: number): (n: number) => number {
  let state = seed;
  return (n) => {
    state = (Math.imul(state, 1103515245) + 12345) >>> 0;
    return (state >>> 8) % n;
  };
}

describe('state digest against a rebuild', () => {
  it('equals a fresh container loaded with the same entries after any mix of new keys, overwrites, deletes and rollbacks, across folds', () => {
    const next = seeded(7);
    const live = new KeyedStore<unknown>();
    // Enough writes for several epochs (a fold every 4096 pending keys) and keys that are written once, often and deleted.
    for (let round = 0; round < 40; round++) {
      live.beginMessage();
      for (let i = 0; i < 600; i++) {
        const key = `k${next(round < 20 ? 9000 : 300)}`;
        const op = next(10);
        if (op < 6) live.set(key, { n: next(5), tag: key.length % 2 === 0 ? 'even' : undefined });
        else if (op < 8) live.set(key, next(3));
        else live.delete(key);
      }
      if (round % 3 === 2) live.rollback();
      else live.endMessage();
      // Read now and then: a fold in the middle of the run.
      if (round % 7 === 0) void live.digest.hi;
      const rebuilt = new KeyedStore<unknown>();
      for (const [k, v] of live.entries()) rebuilt.load(k, v);
      expect(formatDigest([live.digest])).toBe(formatDigest([rebuilt.digest]));
    }
    expect(live.size).toBeGreaterThan(100);
  });

  it('equals a fresh container loaded with the same entries when writes mostly rewrite the last key written, deleted and written again between', () => {
    // The digest remembers the last key overwritten and its slot: runs of one key, each ended by
    // a write, a delete, a rollback or a fold, must leave it where a fresh count would.
    const next = seeded(11);
    const live = new KeyedStore<unknown>();
    let key = 'a';
    let deletes = 0;
    for (let round = 0; round < 60; round++) {
      live.beginMessage();
      for (let i = 0; i < 200; i++) {
        // Mostly the same key again; now and then another of a few (the empty key among them),
        // or one of many (filling the epoch).
        const pick = next(20);
        if (pick === 0) key = `k${next(6000)}`;
        else if (pick < 4) key = pick === 3 ? '' : `s${next(3)}`;
        const op = next(12);
        if (op === 0) {
          if (live.delete(key)) deletes++;
        } else live.set(key, { n: next(1000), round });
      }
      if (round % 5 === 4) live.rollback();
      else live.endMessage();
      if (round % 9 === 0) void live.digest.hi;
      const rebuilt = new KeyedStore<unknown>();
      for (const [k, v] of live.entries()) rebuilt.load(k, v);
      expect(formatDigest([live.digest])).toBe(formatDigest([rebuilt.digest]));
    }
    expect(deletes).toBeGreaterThan(100);
  });

  it('equals a fresh container loaded with the same entries when grouped rows are written by their parts (write()) and by their keys (put(), delete()) in any mix, across rollbacks and folds', () => {
    // write() hands the digest a grouped row's key as (timestamp, rest) and never makes it: a
    // key held or last rewritten in parts must still be the one a whole-key write, a delete or a
    // rollback of it finds, and the other way round.
    const next = seeded(13);
    const rows = new RowStore<{ timestamp: number; user: string; n: number }>(['timestamp', 'user']);
    let byParts = 0;
    for (let round = 0; round < 40; round++) {
      rows.beginMessage();
      for (let i = 0; i < 400; i++) {
        // Mostly the newest bucket and few users (rewrites of the last key), now and then many
        // (new keys, and more than an epoch's 4096 pending keys over the run); -0 among the times.
        const timestamp = next(4) === 0 ? ([0, -0, 60][next(3)] as number) : 1_700_000_000 + 60 * Math.floor(round / 4);
        const user = next(5) === 0 ? `u${next(4000)}` : `s${next(3)}`;
        const row = { timestamp, user, n: next(1000) };
        const op = next(10);
        if (op < 6) {
          rows.write(row);
          byParts++;
        } else if (op < 8) rows.put(row);
        else rows.delete(rows.keyOf(row));
      }
      if (round % 3 === 2) rows.rollback();
      else rows.endMessage();
      if (round % 7 === 0) void rows.digest.hi;
      const rebuilt = new KeyedStore<unknown>();
      for (const [k, v] of rows.entries()) rebuilt.load(k, v);
      expect(formatDigest([rows.digest])).toBe(formatDigest([rebuilt.digest]));
    }
    expect(rows.size).toBeGreaterThan(1000);
    expect(byParts).toBeGreaterThan(8000);
  });

  it('equals a fresh container loaded with the same entries when a key written new is overwritten, whatever else shares its value or key', () => {
    // A key's first overwrite reuses the hash its value got when the key was written new, if it
    // is the same key and the same object: one object stored under two keys, a key rewritten
    // across a fold (its old value is then no longer the one written new), a key deleted and
    // written new again must each still hash what is there.
    const shared = { n: 1 };
    const checks: [string, (s: KeyedStore<unknown>) => void][] = [
      [
        'one object under two keys',
        (s) => {
          s.set('a', shared);
          s.set('b', shared);
          s.set('a', { n: 2 });
        },
      ],
      [
        'a key rewritten across a fold',
        (s) => {
          s.set('a', { n: 1 });
          s.set('a', { n: 2 });
          void s.digest.hi;
          s.set('a', { n: 3 });
        },
      ],
      [
        'written new, deleted, written new again',
        (s) => {
          s.set('a', shared);
          s.delete('a');
          s.set('a', { n: 2 });
          s.set('a', { n: 3 });
        },
      ],
    ];
    for (const [what, write] of checks) {
      const live = new KeyedStore<unknown>();
      live.beginMessage();
      write(live);
      live.endMessage();
      const rebuilt = new KeyedStore<unknown>();
      for (const [k, v] of live.entries()) rebuilt.load(k, v);
      expect(formatDigest([live.digest]), what).toBe(formatDigest([rebuilt.digest]));
    }
  });

  it('equals each entry hashed on its own when the last key written new is overwritten, deleted or rolled back before it is hashed in', () => {
    // The last key written new is hashed in only when the next one comes or the digest is read;
    // overwritten before, it enters the pending keys with nothing to take out. Checked against
    // toggle(), which hashes each entry at once (a rebuild by load() would hold its last key too).
    const byToggle = (s: KeyedStore<unknown>, container = 0) => {
      const d = new StateDigest();
      for (const [k, v] of s.entries()) d.toggle(container, k, v);
      return formatDigest([d]);
    };
    const shared = { n: 1 };
    const checks: [string, (s: KeyedStore<unknown>) => void][] = [
      ['written new and read', (s) => s.set('a', { n: 1 })],
      [
        'written new, then deleted',
        (s) => {
          s.set('z', 0);
          s.set('a', { n: 1 });
          s.delete('a');
        },
      ],
      [
        'written new, overwritten, then deleted',
        (s) => {
          s.set('a', { n: 1 });
          s.set('a', { n: 2 });
          s.delete('a');
          s.set('b', 1);
        },
      ],
      [
        'written new, then another key of the same value overwritten',
        (s) => {
          s.set('a', shared);
          s.set('b', shared);
          s.set('a', { n: 2 });
          s.set('b', { n: 3 });
        },
      ],
      [
        'written new and overwritten when the epoch is full (the fold comes first)',
        (s) => {
          for (let i = 0; i < 4096; i++) {
            s.set(`k${i}`, i);
            s.set(`k${i}`, i + 0.5);
          }
          s.set('a', { n: 1 });
          s.set('a', { n: 2 });
        },
      ],
    ];
    for (const [what, write] of checks) {
      const live = new KeyedStore<unknown>();
      write(live);
      expect(formatDigest([live.digest]), what).toBe(byToggle(live));
    }
    // [what, before the message, in it]: rolled back.
    const rolled: [string, (s: KeyedStore<unknown>) => void, (s: KeyedStore<unknown>) => void][] = [
      ['written new in the message', (s) => s.set('a', 0), (s) => s.set('b', { n: 1 })],
      ['written new before it, overwritten in it', (s) => s.set('a', { n: 1 }), (s) => s.set('a', { n: 2 })],
      [
        'written new before it, overwritten and deleted in it',
        (s) => s.set('a', { n: 1 }),
        (s) => {
          s.set('a', { n: 2 });
          s.delete('a');
        },
      ],
    ];
    for (const [what, before, during] of rolled) {
      const live = new KeyedStore<unknown>();
      before(live);
      live.beginMessage();
      during(live);
      live.rollback();
      expect(formatDigest([live.digest]), what).toBe(byToggle(live));
    }
    // Renumbered while a key is held: the entry keeps the number it was written under.
    const d = new StateDigest();
    d.touch('a', undefined, 1);
    d.setContainer(5);
    const want = new StateDigest();
    want.toggle(0, 'a', 1);
    expect(formatDigest([d])).toBe(formatDigest([want]));
  });
});

describe('a deferred digest', () => {
  /** The same deterministic mix of writes (new keys, overwrites, deletes, rollbacks) on every store it is given. */
  function drive(stores: readonly KeyedStore<unknown>[], rounds: number, seed: number, between: () => void): void {
    let s = seed;
    const next = (n: number) => {
      s = (Math.imul(s, 1103515245) + 12345) >>> 0;
      return (s >>> 8) % n;
    };
    for (let round = 0; round < rounds; round++) {
      for (const st of stores) st.beginMessage();
      for (let i = 0; i < 300; i++) {
        const key = `k${next(round % 2 === 0 ? 5000 : 200)}`;
        const op = next(10);
        const value = op < 6 ? { n: next(5), round } : next(3);
        for (const st of stores) {
          if (op < 8) st.set(key, value);
          else st.delete(key);
        }
      }
      for (const st of stores) {
        if (round % 4 === 3) st.rollback();
        else st.endMessage();
      }
      between();
    }
  }

  it('equals the digest kept write by write, settled at its first read, in steps, or in steps with writes between them', () => {
    const kept = new KeyedStore<unknown>();
    const onRead = new KeyedStore<unknown>();
    const stepped = new KeyedStore<unknown>();
    const interrupted = new KeyedStore<unknown>();
    for (const st of [onRead, stepped, interrupted]) st.deferDigest();
    // Restored entries first (load: no change log), as a restore does.
    for (let i = 0; i < 2000; i++) for (const st of [kept, onRead, stepped, interrupted]) st.load(`r${i}`, { r: i });
    let steps = 0;
    drive([kept, onRead, stepped, interrupted], 30, 11, () => {
      // A settle step between messages: each message's writes start it over.
      if (!interrupted.digest.settleSome(500)) steps++;
    });
    expect(steps).toBeGreaterThan(0);
    expect(onRead.digest.deferred && stepped.digest.deferred && interrupted.digest.deferred).toBe(true);
    let stepCount = 0;
    while (!stepped.digest.settleSome(250)) stepCount++;
    expect(stepCount).toBeGreaterThan(4);
    expect(stepped.digest.deferred).toBe(false);
    const want = formatDigest([kept.digest]);
    expect(formatDigest([stepped.digest])).toBe(want);
    // Read while deferred (and mid-settle for `interrupted`): settled there and then.
    expect(formatDigest([onRead.digest])).toBe(want);
    expect(formatDigest([interrupted.digest])).toBe(want);
    expect(onRead.digest.deferred || interrupted.digest.deferred).toBe(false);
    // Once settled, writes are hashed one by one again and the four stay equal.
    drive([kept, onRead, stepped, interrupted], 12, 5, () => {});
    const after = formatDigest([kept.digest]);
    expect(after).not.toBe(want);
    for (const st of [onRead, stepped, interrupted]) expect(formatDigest([st.digest])).toBe(after);
  });

  it('writes while deferred are not hashed', () => {
    // Hashing a value reads its members; a getter counts those reads, so any hash of a value
    // written while deferred (whatever function does it) shows up here.
    let reads = 0;
    const counted = (i: number): object => ({
      get i(): number {
        reads++;
        return i;
      },
    });
    const store = new KeyedStore<unknown>();
    // The storable-value check walks members too: off, so the getter counts the digest's reads only.
    store.checkValues = false;
    store.deferDigest();
    for (let i = 0; i < 100; i++) store.set(`k${i}`, counted(i));
    for (let i = 0; i < 50; i++) store.set(`k${i}`, counted(i + 1));
    for (let i = 0; i < 25; i++) store.delete(`k${i}`);
    expect(reads).toBe(0);
    expect(store.digest.settleSome(Number.POSITIVE_INFINITY)).toBe(true);
    // The settle hashes each of the 75 live entries once: the probe sees hashing when it happens.
    expect(reads).toBe(75);
    const fresh = new KeyedStore<unknown>();
    for (const [k, v] of store.entries()) fresh.load(k, v);
    expect(formatDigest([store.digest])).toBe(formatDigest([fresh.digest]));
  });
});
