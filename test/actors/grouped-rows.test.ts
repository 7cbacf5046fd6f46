import { describe, expect, it, vi } from 'vitest';
import { ChangeLog } from '../../actors/change-log.js';
import { GroupedRows } from '../../actors/grouped-rows.js';
import { KeyedStore } from '../../actors/keyed-store.js';
import { RowKeyMismatchError, SEP, keyPart, rowKeyOf } from '../../actors/row-key.js';
import { RowStore } from '../../actors/row-store.js';
import { SortedTimes } from '../../actors/sorted-times.js';
import { StateDigest, formatDigest } from '../../actors/state-digest.js';
import { lcg } from '../helpers/seeded-random.js';

type U = { timestamp: number; user: string; volume: number };
const KEY = ['timestamp', 'user'] as const;

/** The order RowStore promises: (timestamp, key) ascending. */
const ordered = (model: Map<string, U>) =>
  [...model.entries()]
    .sort(([ka, a], [kb, b]) => a.timestamp - b.timestamp || (ka < kb ? -1 : ka > kb ? 1 : 0))
    .map(([, r]) => r);

describe('RowStore with key columns starting at timestamp (rows grouped per timestamp)', () => {
  it('answers get, has, size, keys, scan, count and evictions exactly like a plain Map model through random writes and rollbacks', () => {
    const rows = new RowStore<U>([...KEY]);
    const model = new Map<string, U>();
    const rnd = lcg(7);
    // Users with the characters a key must escape, so keys and the users' own strings differ.
    const users = ['alice', 'bob', `odd${SEP}one`, 'back\\slash', 'carol', ''];
    for (let step = 0; step < 4000; step++) {
      const ts = 1_000 + Math.floor(rnd() * 12) * 60;
      const user = users[Math.floor(rnd() * users.length)] as string;
      const key = rowKeyOf(KEY, { timestamp: ts, user });
      const r = rnd();
      if (r < 0.55) {
        const row = { timestamp: ts, user, volume: (model.get(key)?.volume ?? 0) + 1 };
        rows.set(key, row);
        model.set(key, row);
      } else if (r < 0.7) {
        expect(rows.delete(key)).toBe(model.delete(key));
      } else if (r < 0.8) {
        // A message that writes and deletes, then throws: nothing of it may stay.
        rows.beginMessage();
        rows.put({ timestamp: ts + 7, user, volume: 1 });
        rows.delete(key);
        rows.rollback();
      } else if (r < 0.82) {
        const n = Math.floor(rnd() * 5);
        expect(rows.evictOldest(n)).toBe(Math.min(n, model.size));
        const gone = [...model.entries()].filter(([k]) => !rows.has(k));
        expect(gone.length).toBe(Math.min(n, model.size));
        for (const [k] of gone) model.delete(k);
        // Oldest first: nothing kept is older than what went.
        for (const [, r] of gone)
          for (const kept of model.values()) expect(kept.timestamp).toBeGreaterThanOrEqual(r.timestamp);
      }
      expect(rows.get(key)).toBe(model.get(key));
      expect(rows.has(key)).toBe(model.has(key));
      expect(rows.size).toBe(model.size);
    }
    expect(model.size).toBeGreaterThan(10);
    expect(new Set(rows.keys())).toEqual(new Set(model.keys()));
    expect(new Map(rows.entries())).toEqual(model);
    expect([...rows.scan({ order: 'asc' })]).toEqual(ordered(model));
    expect([...rows.scan({ order: 'desc', start: 1_120, stop: 1_400 })]).toEqual(
      ordered(model)
        .filter((r) => r.timestamp >= 1_120 && r.timestamp <= 1_400)
        .reverse(),
    );
    expect(rows.count({ start: 1_120, stop: 1_400 })).toBe(
      [...model.values()].filter((r) => r.timestamp >= 1_120 && r.timestamp <= 1_400).length,
    );
    const times = [...model.values()].map((r) => r.timestamp);
    expect(rows.oldestTimestamp).toBe(Math.min(...times));
    expect(rows.newestTimestamp).toBe(Math.max(...times));
  });

  it('lookup() and put() find and store rows as get(keyOf()) and set(keyOf()) do: escaped values, odd timestamps, loaded odd keys, rollbacks', () => {
    // NaN among the timestamps: the structure as a trusted plugin's rows have it (values unchecked);
    // a checked plugin's row stamped NaN is refused (row-write.test.ts).
    const rows = new RowStore<U>([...KEY]);
    rows.checkValues = false;
    const log = new ChangeLog();
    rows.attach(log, 0);
    const cursor = log.open();
    // The same writes through a plain keyed Map, each under the key rowKeyOf gives.
    const model = new KeyedStore<U>();
    const rnd = lcg(11);
    const users = ['alice', `odd${SEP}one`, 'back\\slash', '', '12'];
    const times = [1_000, 1_060, 0, -0, -60, 1.5, 1e21, Number.NaN];
    const written: string[] = [];
    // Keys of the regular form for other timestamps than their rows' (only loaded state holds them) go through get().
    rows.load(`0${SEP}alice`, { timestamp: 1_000, user: 'alice', volume: 9 });
    model.load(`0${SEP}alice`, { timestamp: 1_000, user: 'alice', volume: 9 });
    for (let step = 0; step < 3000; step++) {
      const timestamp = times[Math.floor(rnd() * times.length)] as number;
      const user = users[Math.floor(rnd() * users.length)] as string;
      const key = rowKeyOf(KEY, { timestamp, user });
      const found = rows.lookup({ timestamp, user });
      expect(found).toBe(rows.get(key));
      expect(found === undefined).toBe(model.get(key) === undefined);
      const row = { timestamp, user, volume: (found?.volume ?? 0) + 1 };
      if (rnd() < 0.1) {
        // A message that puts, then throws: put's key must be undone like set's.
        rows.beginMessage();
        rows.put(row);
        rows.rollback();
        continue;
      }
      expect(rows.put(row)).toBe(key);
      model.set(key, row);
      written.push(key);
      if (step === 1500) expect(rows.delete(`0${SEP}alice`)).toBe(model.delete(`0${SEP}alice`));
    }
    expect(new Map(rows.entries())).toEqual(new Map(model.entries()));
    expect(rows.size).toBeGreaterThan(20);
    // The change log holds each key put (as strings equal to rowKeyOf's), rolled-back ones too.
    const logged = new Set<string>();
    log.forEach(cursor.position, log.position, (_c, key) => logged.add(key));
    const possible = new Set(times.flatMap((timestamp) => users.map((user) => rowKeyOf(KEY, { timestamp, user }))));
    for (const key of written) expect(logged.has(key)).toBe(true);
    for (const key of logged) expect(possible.has(key)).toBe(true);
  });

  it('put() of the row last put or read gives its key again, and never a key last read in another spelling of that timestamp', () => {
    const rows = new RowStore<U>([...KEY]);
    const log = new ChangeLog();
    rows.attach(log, 0);
    const cursor = log.open();
    const first = rows.put({ timestamp: 60, user: 'bob', volume: 1 });
    expect(first).toBe(`60${SEP}bob`);
    // The same row again: the same key, written over.
    expect(rows.put({ timestamp: 60, user: 'bob', volume: 2 })).toBe(`60${SEP}bob`);
    // Another rest, then another timestamp, right after it.
    expect(rows.put({ timestamp: 60, user: 'bobby', volume: 1 })).toBe(`60${SEP}bobby`);
    expect(rows.put({ timestamp: 120, user: 'bobby', volume: 1 })).toBe(`120${SEP}bobby`);
    // A key read with the timestamp spelled otherwise (a leading zero: no row of the regular form).
    expect(rows.get(`060${SEP}bob`)).toBeUndefined();
    expect(rows.put({ timestamp: 60, user: 'bob', volume: 3 })).toBe(`60${SEP}bob`);
    expect(rows.get(`6e1${SEP}bob`)).toBeUndefined();
    expect(rows.put({ timestamp: 60, user: 'bob', volume: 4 })).toBe(`60${SEP}bob`);
    expect([...rows.keys()].sort()).toEqual([`120${SEP}bobby`, `60${SEP}bob`, `60${SEP}bobby`]);
    expect(rows.get(`60${SEP}bob`)?.volume).toBe(4);
    const logged: string[] = [];
    log.forEach(cursor.position, log.position, (_c, key) => logged.push(key));
    expect(logged).toEqual([
      `60${SEP}bob`,
      `60${SEP}bob`,
      `60${SEP}bobby`,
      `120${SEP}bobby`,
      `60${SEP}bob`,
      `60${SEP}bob`,
    ]);
  });

  it('logs every write under the very key a plain Map store logs, whether recorded whole or split (ChangeLog.recordSplit)', () => {
    // NaN among the timestamps: the structure as a trusted plugin's rows have it (values unchecked);
    // a checked plugin's row stamped NaN is refused (row-write.test.ts).
    const rows = new RowStore<U>([...KEY]);
    rows.checkValues = false;
    const model = new KeyedStore<U>();
    const rowLog = new ChangeLog();
    const modelLog = new ChangeLog();
    rows.attach(rowLog, 0);
    model.attach(modelLog, 0);
    const rowCursor = rowLog.open();
    const modelCursor = modelLog.open();
    const both = (fn: (s: KeyedStore<U>) => void) => {
      fn(rows);
      fn(model);
    };
    const oddKeys = [`09${SEP}c`, `5${SEP}a`, 'plain'];
    // Restored keys the grouped table keeps whole: a non-canonical head, another row's head, no head.
    both((s) => {
      s.load(oddKeys[0] as string, { timestamp: 9, user: 'c', volume: 1 });
      s.load(oddKeys[1] as string, { timestamp: 7, user: 'a', volume: 1 });
      s.load(oddKeys[2] as string, { timestamp: 9, user: 'p', volume: 1 });
    });
    const rnd = lcg(5);
    const users = ['alice', `odd${SEP}one`, 'back\\slash', '', '12'];
    const times = [
      1_000,
      1_060,
      0,
      -0,
      -60,
      1.5,
      1e21,
      123_456_789_012_345,
      1_234_567_890_123_456,
      Number.NaN,
      Number.POSITIVE_INFINITY,
    ];
    for (let step = 0; step < 4000; step++) {
      const timestamp = times[Math.floor(rnd() * times.length)] as number;
      const user = users[Math.floor(rnd() * users.length)] as string;
      const key = rowKeyOf(KEY, { timestamp, user });
      const row = { timestamp, user, volume: step };
      const pick = rnd();
      if (pick < 0.4) {
        expect(rows.put(row)).toBe(key);
        model.set(key, row);
      } else if (pick < 0.6) both((s) => s.set(key, row));
      else if (pick < 0.8) both((s) => s.delete(key));
      else if (pick < 0.95)
        // Written, then undone: the log keeps the write.
        both((s) => {
          s.beginMessage();
          s.set(key, row);
          s.rollback();
        });
      else both((s) => s.delete(oddKeys[step % 3] as string));
    }
    expect(new Map(rows.entries())).toEqual(new Map(model.entries()));
    const read = (log: ChangeLog, from: number) => {
      const seen: string[] = [];
      expect(log.forEach(from, log.position, (_c, key) => void seen.push(key))).toBe(true);
      const at: (string | undefined)[] = [];
      for (let p = from; p < log.position; p++) at.push(log.keyAt(p));
      expect(at).toEqual(seen);
      return seen;
    };
    const logged = read(rowLog, rowCursor.position);
    expect(logged).toEqual(read(modelLog, modelCursor.position));
    expect(logged.length).toBeGreaterThan(3000);
    // Whole groups evicted at once are logged as each key's delete.
    const evicting = new RowStore<U>([...KEY]);
    const log = new ChangeLog();
    evicting.attach(log, 0);
    // A reader in the log, as a snapshot slot or a WebSocket view holds one: a log no one can read keeps nothing.
    log.open();
    for (const timestamp of [-60, 0, 1.5, 1_000, 1_060])
      for (const user of users) evicting.put({ timestamp, user, volume: 1 });
    const before = log.position;
    const old = [...evicting.keys()].filter((k) => (evicting.get(k) as U).timestamp < 1_000);
    expect(old.length).toBe(15);
    expect(evicting.evictBefore(1_000)).toBe(old.length);
    expect(read(log, before).sort()).toEqual(old.sort());
  });

  it('keeps keys that do not have the regular form when loaded (restored state) and finds, scans and deletes them', () => {
    const rows = new RowStore<U>([...KEY]);
    const a = { timestamp: 7, user: 'a', volume: 1 };
    const b = { timestamp: 7, user: 'b', volume: 2 };
    const c = { timestamp: 9, user: 'c', volume: 3 };
    rows.load(`7${SEP}b`, b);
    // Head not the row's timestamp, a non-canonical head, no separator at all.
    rows.load(`5${SEP}a`, a);
    rows.load(`09${SEP}c`, c);
    rows.load('plain', { timestamp: 9, user: 'p', volume: 4 });
    expect(rows.size).toBe(4);
    expect(rows.get(`5${SEP}a`)).toBe(a);
    expect(rows.get(`7${SEP}a`)).toBeUndefined();
    expect(rows.get(`09${SEP}c`)).toBe(c);
    expect(rows.get(`9${SEP}c`)).toBeUndefined();
    expect(rows.has('plain')).toBe(true);
    expect(new Set(rows.keys())).toEqual(new Set([`7${SEP}b`, `5${SEP}a`, `09${SEP}c`, 'plain']));
    expect([...rows.scan({ order: 'asc' })].map((r) => r.user)).toEqual(['a', 'b', 'c', 'p']);
    expect(rows.count({ start: 9, stop: 9 })).toBe(2);
    // The regular key of the same row is another key: writing it adds a row, it does not move the odd one.
    rows.put({ ...c, timestamp: 9 });
    expect(rows.size).toBe(5);
    expect(rows.delete(`09${SEP}c`)).toBe(true);
    expect(rows.delete(`09${SEP}c`)).toBe(false);
    expect(rows.get(`9${SEP}c`)).toEqual(c);
    rows.load(`5${SEP}a`, { ...a, timestamp: 9 });
    expect(rows.count({ start: 7, stop: 7 })).toBe(1);
    expect(rows.evictBefore(100)).toBe(4);
    expect(rows.size).toBe(0);
    expect(rows.oldestTimestamp).toBeUndefined();
  });

  it('with the timestamp as the whole key (a Map and its index), keeps one row per timestamp and loaded keys of other forms apart', () => {
    type V = { timestamp: number; volume: number };
    const rows = new RowStore<V>(['timestamp']);
    const a = { timestamp: 60, volume: 1 };
    const b = { timestamp: 120, volume: 2 };
    rows.put(a);
    rows.set('120', b);
    // Not String(timestamp): a leading zero, a separator, another number, a fraction written out.
    const odd = { timestamp: 60, volume: 3 };
    rows.load('060', odd);
    rows.load(`60${SEP}`, { timestamp: 60, volume: 4 });
    rows.load('61', { timestamp: 60, volume: 5 });
    rows.put({ timestamp: 0.5, volume: 6 });
    expect(rows.size).toBe(6);
    expect(rows.get('60')).toBe(a);
    expect(rows.get('060')).toBe(odd);
    expect(rows.get('0.5')?.volume).toBe(6);
    expect(rows.has('61')).toBe(true);
    expect(() => rows.set('060', { timestamp: 60, volume: 9 })).toThrow(RowKeyMismatchError);
    expect(new Set(rows.keys())).toEqual(new Set(['60', '120', '060', `60${SEP}`, '61', '0.5']));
    // (timestamp, key) order: '060' < '60' < '60<US>' < '61'.
    expect([...rows.scan({ order: 'asc' })].map((r) => r.volume)).toEqual([6, 3, 1, 4, 5, 2]);
    expect(rows.count({ start: 60, stop: 60 })).toBe(4);
    rows.put({ timestamp: 60, volume: 7 });
    expect(rows.size).toBe(6);
    expect(rows.get('60')?.volume).toBe(7);
    expect(rows.delete('060')).toBe(true);
    expect(rows.evictBefore(100)).toBe(4);
    expect([...rows.keys()]).toEqual(['120']);
    expect(rows.oldestTimestamp).toBe(120);
  });

  it('still refuses a key the key columns do not give, and accepts the escaped one', () => {
    const rows = new RowStore<U>([...KEY]);
    const row = { timestamp: 60, user: `x${SEP}y`, volume: 1 };
    expect(() => rows.set(`60${SEP}x${SEP}y`, row)).toThrow(RowKeyMismatchError);
    expect(() => rows.set(`61${SEP}x\\${SEP}y`, row)).toThrow(RowKeyMismatchError);
    rows.set(`60${SEP}x\\${SEP}y`, row);
    expect(rows.get(rows.keyOf(row))).toBe(row);
    expect(() => rows.set(`60${SEP}alice`, { timestamp: 60, user: 'bob', volume: 1 })).toThrow(RowKeyMismatchError);
  });
});

describe('state digest kept lazily', () => {
  /** The digest of a store's entries computed from scratch, entry by entry. */
  const fromScratch = (s: KeyedStore<unknown>, container: number) => {
    const d = new StateDigest();
    for (const [k, v] of s.entries()) d.toggle(container, k, v);
    return formatDigest([d]);
  };

  it('equals a from-scratch digest however often it is read, across folds, rollbacks and row stores', () => {
    const rnd = lcg(11);
    const stores: [KeyedStore<unknown>, number][] = [
      [new KeyedStore<unknown>(), 3],
      [new RowStore<U>([...KEY]) as KeyedStore<unknown>, 0],
    ];
    for (const [s, container] of stores) {
      s.attach(new ChangeLog(), container);
      for (let message = 0; message < 60; message++) {
        s.beginMessage();
        // Up to ~9 000 distinct keys in one message: past the fold threshold mid-message.
        const writes = Math.floor(rnd() * 300) + (message === 30 ? 9_000 : 0);
        for (let i = 0; i < writes; i++) {
          const user = `u${Math.floor(rnd() * (message === 30 ? 20_000 : 50))}`;
          const ts = 60 * Math.floor(rnd() * 3);
          const row = { timestamp: ts, user, volume: Math.floor(rnd() * 4) };
          const key = rowKeyOf(KEY, row);
          if (rnd() < 0.2) s.delete(key);
          else s.set(key, row);
          if (rnd() < 0.01) expect(formatDigest([s.digest])).toBe(fromScratch(s, container));
        }
        if (rnd() < 0.3) s.rollback();
        else s.endMessage();
        if (rnd() < 0.5) expect(formatDigest([s.digest])).toBe(fromScratch(s, container));
      }
      expect(s.size).toBeGreaterThan(0);
      expect(formatDigest([s.digest])).toBe(fromScratch(s, container));
    }
  });
  it('hashes a new key at once and an overwritten one at the fold, whatever the order of sets, deletes and undefined values', () => {
    const s = new KeyedStore<unknown>();
    s.attach(new ChangeLog(), 4);
    const rnd = lcg(23);
    for (let i = 0; i < 20_000; i++) {
      const key = `k${Math.floor(rnd() * 40)}`;
      const r = rnd();
      // undefined is an absent entry to the digest, as a snapshot round trip makes it.
      if (r < 0.1) s.set(key, undefined);
      else if (r < 0.3) s.delete(key);
      else s.set(key, r < 0.6 ? Math.floor(r * 10) : { n: i % 3 });
      if (i % 1_000 === 999) expect(formatDigest([s.digest])).toBe(fromScratch(s, 4));
    }
    expect(formatDigest([s.digest])).toBe(fromScratch(s, 4));
  });

  it('settled after a deferral, in steps, equals a from-scratch digest for grouped rows, odd keys and groups of one to many rows', () => {
    const rnd = lcg(31);
    const rows = new RowStore<U>([...KEY]);
    rows.attach(new ChangeLog(), 2);
    rows.deferDigest();
    // Restored keys of other forms (odd: kept whole), beside regular ones in the same groups.
    rows.load(`060${SEP}zed`, { timestamp: 60, user: 'zed', volume: 9 });
    rows.load('plain', { timestamp: 120, user: 'p', volume: 4 });
    for (let i = 0; i < 3_000; i++) {
      // Timestamps with one row (the singles) and with hundreds.
      const ts = i % 3 === 0 ? 10_000 + i : 60 * Math.floor(rnd() * 4);
      const row = { timestamp: ts, user: `u${Math.floor(rnd() * 400)}`, volume: Math.floor(rnd() * 4) + 1 };
      if (rnd() < 0.1) rows.delete(rowKeyOf(KEY, row));
      else rows.set(rowKeyOf(KEY, row), row);
    }
    expect(rows.digest.deferred).toBe(true);
    let steps = 0;
    while (!rows.digest.settleSome(97)) steps++;
    expect(steps).toBeGreaterThan(10);
    expect(formatDigest([rows.digest])).toBe(fromScratch(rows, 2));
  });

  it('evicting whole groups through a deferred digest builds no key, restarts a settle under way and logs every evicted key', () => {
    const rows = new RowStore<U>([...KEY]);
    const log = new ChangeLog();
    rows.attach(log, 1);
    rows.deferDigest();
    for (let ts = 1; ts <= 40; ts++)
      for (const user of ['ann', 'bo', `c${SEP}d`].slice(0, 1 + (ts % 3)))
        rows.put({ timestamp: ts, user, volume: ts });
    const reader = log.open();
    expect(rows.digest.settleSome(7)).toBe(false);
    const head = vi.spyOn(GroupedRows.prototype, 'headOf');
    let evicted: number;
    try {
      evicted = rows.evictBefore(21);
      expect(head).not.toHaveBeenCalled();
    } finally {
      head.mockRestore();
    }
    expect(evicted).toBe(41); // 1 + ts % 3 rows at each ts below 21
    const logged: string[] = [];
    log.forEach(reader.position, log.position, (container, key) => logged.push(`${container}:${key}`));
    expect(logged).toHaveLength(41);
    expect(logged).toContain(`1:${rowKeyOf(KEY, { timestamp: 20, user: `c${SEP}d` })}`);
    expect(logged).toContain(`1:${rowKeyOf(KEY, { timestamp: 1, user: 'ann' })}`);
    // The settle begun before the evictions walked groups since taken: it must start over.
    while (!rows.digest.settleSome(5));
    expect(formatDigest([rows.digest])).toBe(fromScratch(rows, 1));
    // Not deferred (the digest settled), the same eviction hashes each key out: still equal.
    rows.evictBefore(31);
    expect(formatDigest([rows.digest])).toBe(fromScratch(rows, 1));
  });
});

/** The live timestamps of `times`, in slot order. */
const liveOf = (times: SortedTimes) =>
  Array.from({ length: times.slots }, (_, i) => times.slot(i)).filter((t): t is number => t !== undefined);

describe('SortedTimes', () => {
  it('keeps ascending distinct timestamps like a sorted array model through appends, inserts and removals at both ends and inside', () => {
    const times = new SortedTimes();
    const model: number[] = [];
    const rnd = lcg(3);
    let next = 0;
    for (let step = 0; step < 20_000; step++) {
      const r = rnd();
      if (r < 0.5) {
        next += 1 + Math.floor(rnd() * 3);
        times.insert(next);
        model.push(next);
      } else if (r < 0.55 && model.length > 0) {
        // An insert between existing buckets (a late message's bucket), or back where one went.
        const ts = Math.floor(rnd() * next) + (rnd() < 0.5 ? 0.5 : 1);
        if (!model.includes(ts)) {
          times.insert(ts);
          model.push(ts);
          model.sort((a, b) => a - b);
        }
      } else if (r < 0.95 && model.length > 0) {
        // Mostly the oldest goes (retention), as evictions do; else the newest or one inside.
        const i = rnd() < 0.8 ? 0 : rnd() < 0.3 ? model.length - 1 : Math.floor(rnd() * model.length);
        times.remove(model[i] as number);
        model.splice(i, 1);
      } else times.remove(rnd() < 0.5 ? -1 : (model[Math.floor(rnd() * model.length)] ?? -1) + 0.25);
      expect(times.length).toBe(model.length);
      expect(times.first).toBe(model[0]);
      expect(times.last).toBe(model[model.length - 1]);
      if (step % 97 === 0) expect(liveOf(times)).toEqual(model);
    }
    expect(liveOf(times)).toEqual(model);
    const probe = model[Math.floor(model.length / 2)] as number;
    // Bounds are slots: the live timestamps before one are those the model has before it.
    const below = (slot: number) =>
      Array.from({ length: slot }, (_, j) => times.slot(j)).filter((t) => t !== undefined).length;
    expect(below(times.lowerBound(probe))).toBe(model.findIndex((t) => t >= probe));
    expect(below(times.upperBound(probe))).toBe(model.findIndex((t) => t > probe));
    expect(times.slot(-1)).toBeUndefined();
    expect(times.slot(times.slots)).toBeUndefined();
  });

  it('keeps matching the model when timestamps leave from the middle far more often than from the ends (one row per topic)', () => {
    const times = new SortedTimes();
    let model: number[] = [];
    const rnd = lcg(11);
    let next = 0;
    for (let step = 0; step < 30_000; step++) {
      const r = rnd();
      if (r < 0.45 || model.length < 3) {
        next += 1;
        times.insert(next);
        model.push(next);
      } else if (r < 0.9) {
        // A topic's row moved on: its old timestamp, anywhere, goes.
        const i = Math.floor(rnd() * model.length);
        times.remove(model[i] as number);
        model.splice(i, 1);
      } else if (r < 0.95) {
        // A late message back at a timestamp that went (its slot may still be there, dead).
        const ts = 1 + Math.floor(rnd() * next);
        if (!model.includes(ts)) {
          times.insert(ts);
          model = [...model, ts].sort((a, b) => a - b);
        }
      } else {
        // Retention from the front, several at once.
        for (let n = Math.floor(rnd() * 4); n > 0 && model.length > 0; n--) {
          times.remove(model[0] as number);
          model.shift();
        }
      }
      expect(times.length).toBe(model.length);
      expect(times.first).toBe(model[0]);
      expect(times.last).toBe(model[model.length - 1]);
      if (step % 101 === 0) expect(liveOf(times)).toEqual(model);
      // Dead slots never outnumber the live ones by more than the small slack before a compaction.
      expect(times.slots).toBeLessThanOrEqual(2 * times.length + 32);
    }
    expect(liveOf(times)).toEqual(model);
  });

  it('fill() of an empty list gives the list inserting each in turn gives, through later inserts and removals', () => {
    const ascending = [-3, -0.5, 0, 2, 2.5, 7, 11, 40, 41, 100];
    const filled = new SortedTimes();
    const inserted = new SortedTimes();
    filled.fill(ascending);
    for (const ts of [41, -0.5, 100, 2, 0, 11, -3, 7, 2.5, 40]) inserted.insert(ts);
    const same = () => {
      expect(liveOf(filled)).toEqual(liveOf(inserted));
      expect([filled.length, filled.first, filled.last]).toEqual([inserted.length, inserted.first, inserted.last]);
      expect([filled.lowerBound(2.2), filled.upperBound(7)]).toEqual([
        inserted.lowerBound(2.2),
        inserted.upperBound(7),
      ]);
    };
    same();
    for (const step of [
      (t: SortedTimes) => t.remove(-3),
      (t: SortedTimes) => t.remove(11),
      (t: SortedTimes) => t.insert(5),
      (t: SortedTimes) => t.remove(100),
      (t: SortedTimes) => t.insert(200),
      (t: SortedTimes) => t.insert(11),
    ]) {
      step(filled);
      step(inserted);
      same();
    }
    // Only into an empty list: a fill over timestamps held would lose them.
    expect(() => filled.fill([1, 2])).toThrow(/holds timestamps/);
  });

  it('removes from the middle at a cost that does not grow with the number of timestamps', () => {
    // Per operation: the newest timestamp appended, a random older one removed, as a row per topic does.
    const movesPerOp = (size: number): number => {
      const times = new SortedTimes();
      const live: number[] = [];
      for (let t = 1; t <= size; t++) {
        times.insert(t);
        live.push(t);
      }
      const rnd = lcg(size);
      const before = times.elementMoves;
      // Several times the size, so the compactions a removal pays for are all in the count.
      const ops = 3 * size;
      for (let op = 0, next = size + 1; op < ops; op++, next++) {
        const i = Math.floor(rnd() * live.length);
        const gone = live[i] as number;
        live[i] = live[live.length - 1] as number;
        live.pop();
        times.remove(gone);
        times.insert(next);
        live.push(next);
      }
      expect(times.length).toBe(size);
      return (times.elementMoves - before) / ops;
    };
    const small = movesPerOp(100);
    const large = movesPerOp(100_000);
    // A splice per removal would move about size/2 elements: 50 and 50 000.
    expect(small).toBeGreaterThan(0);
    expect(large).toBeLessThan(4);
    expect(large).toBeLessThan(small * 1.5);
  });
});

describe('keyPart', () => {
  it('gives every value its own share whatever it was given before (it keeps the last string it escaped)', () => {
    // Equal strings made apart (not one object), escapes of both kinds, and values not strings between them.
    const make = (...parts: string[]) => parts.join('');
    const cases: [unknown, string][] = [
      [make('a\\', 'b'), 'a\\\\b'],
      [make('a\\', 'b'), 'a\\\\b'],
      ['plain', 'plain'],
      [make('x', SEP, 'y'), `x\\${SEP}y`],
      [5, '5'],
      ['5', '5'],
      [make('x', SEP, 'y'), `x\\${SEP}y`],
      [null, ''],
      ['', ''],
      [make('pl', 'ain'), 'plain'],
      [make('a\\', 'b'), 'a\\\\b'],
    ];
    for (const [value, share] of cases) expect(keyPart(value)).toBe(share);
    // A row found by lookup() with one string and written by put() with an equal one: one row.
    const rows = new RowStore<U>([...KEY]);
    for (const user of ['u', make('u'), `w${SEP}`, make('w', SEP)]) {
      const volume = (rows.lookup({ timestamp: 60, user, volume: 0 })?.volume ?? 0) + 1;
      rows.put({ timestamp: 60, user, volume });
    }
    expect([...rows.values()].map((r) => r.volume)).toEqual([2, 2]);
  });
});
