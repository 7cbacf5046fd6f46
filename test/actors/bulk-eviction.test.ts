/**
 * Whole timestamp groups leave a container in one step (row-store.ts evictGroup, the windowed
 * counter's expired slices): these check that such an eviction leaves exactly what deleting the
 * keys one by one would, against a plain-Map model: the entries, the digest (against one
 * computed from scratch), the keys in the change log, the values a snapshot cut answers, and
 * a rollback of the message the eviction ran in.
 */
import { describe, expect, it } from 'vitest';
import { ChangeLog } from '../../actors/change-log.js';
import { ExpiringStore } from '../../actors/expiring-store.js';
import type { KeyedStore } from '../../actors/keyed-store.js';
import { RowStore } from '../../actors/row-store.js';
import { SEP, rowKeyOf } from '../../actors/row-key.js';
import { StateDigest, formatDigest } from '../../actors/state-digest.js';
import { WindowedCounter } from '../../actors/windowed-counter.js';
import { lcg } from '../helpers/seeded-random.js';

type U = { timestamp: number; user: string; volume: number };

const fromScratch = (s: KeyedStore<unknown>, container: number) => {
  const d = new StateDigest();
  for (const [k, v] of s.entries()) d.toggle(container, k, v);
  return formatDigest([d]);
};

/** Keys recorded in the log since `from`, deduplicated. */
const logged = (log: ChangeLog, from: number) => {
  const keys = new Set<string>();
  expect(log.forEach(from, log.position, (_c, k) => void keys.add(k))).toBe(true);
  return keys;
};

/**
 * A log with a reader, as a snapshot slot or a WebSocket view holds one (a log no one can read
 * keeps nothing): `mark()` moves the reader to the end, as a read of everything so far does.
 */
const readLog = () => {
  const log = new ChangeLog();
  const reader = log.open();
  const mark = () => {
    log.advance(reader, log.position);
    return log.position;
  };
  return { log, mark };
};

describe('eviction of whole timestamp groups', () => {
  for (const [name, columns] of [
    ['grouped rows (timestamp, user)', ['timestamp', 'user']],
    ['one row per timestamp (timestamp)', ['timestamp']],
    ['rows in a Map with a timestamp index (user)', ['user']],
  ] as const) {
    it(`${name}: entries, digest, change log, cut and rollback match deleting key by key`, () => {
      const rows = new RowStore<U>([...columns]);
      const { log, mark } = readLog();
      rows.attach(log, 0);
      const model = new Map<string, U>();
      const rnd = lcg(columns.length * 31 + name.length);
      const users = ['alice', 'bob', 'carol', `odd${SEP}one`, 'dave', 'erin', 'frank', 'grace', 'heidi', 'ivan'];
      let evictedSome = 0;
      for (let step = 0; step < 3000; step++) {
        // Groups of 1 to 10 rows: the first row of a group and the ones after it are stored apart.
        const ts = 100 + Math.floor(step / 8) + Math.floor(rnd() * 3);
        const user = users[Math.floor(rnd() * (1 + (step % users.length)))] as string;
        const row = { timestamp: ts, user, volume: Math.floor(rnd() * 5) };
        const key = rowKeyOf(columns, row);
        const r = rnd();
        if (r < 0.75) {
          rows.set(key, row);
          model.set(key, row);
        } else if (r < 0.85) {
          expect(rows.delete(key)).toBe(model.delete(key));
        } else {
          const cutoff = ts - 4 + Math.floor(rnd() * 3);
          const from = mark();
          const cut = rnd() < 0.5;
          if (cut) rows.openCut();
          const before = new Map(model);
          rows.beginMessage();
          const n = rnd() < 0.5 ? rows.evictBefore(cutoff) : rows.evictAfter(cutoff + 6);
          const gone = [...model.keys()].filter((k) => !rows.has(k));
          expect(n).toBe(gone.length);
          evictedSome += n;
          // Each evicted key is recorded, and a cut opened before still answers its old value.
          expect(logged(log, from)).toEqual(new Set(gone));
          for (const k of gone) {
            if (cut) expect(rows.valueAtCut(k)).toBe(model.get(k));
            expect(rows.get(k)).toBeUndefined();
          }
          if (cut) expect(new Map(rows.deletedSinceCut())).toEqual(new Map(gone.map((k) => [k, model.get(k)])));
          if (rnd() < 0.3) {
            rows.rollback();
            expect(new Map(rows.entries())).toEqual(before);
          } else {
            rows.endMessage();
            for (const k of gone) model.delete(k);
          }
          if (cut) rows.closeCut();
        }
        expect(rows.size).toBe(model.size);
        if (step % 97 === 0) expect(formatDigest([rows.digest])).toBe(fromScratch(rows as KeyedStore<unknown>, 0));
      }
      expect(evictedSome).toBeGreaterThan(50);
      expect(new Map(rows.entries())).toEqual(model);
      expect([...rows.scan({ order: 'asc' })].length).toBe(model.size);
      const times = [...model.values()].map((r) => r.timestamp);
      expect(rows.oldestTimestamp).toBe(Math.min(...times));
      expect(rows.count({})).toBe(model.size);
      expect(formatDigest([rows.digest])).toBe(fromScratch(rows as KeyedStore<unknown>, 0));
    });
  }

  it('an expiring store evicts inside a message and a rollback restores the evicted entries and their index', () => {
    const s = new ExpiringStore<number>(10);
    const log = new ChangeLog();
    s.attach(log, 2);
    for (let t = 0; t < 30; t++) {
      s.beginMessage();
      s.advance(t, t);
      s.stamp(`k${t % 7}`, t);
      s.stamp(`j${t}`, t);
      s.endMessage();
    }
    const before = new Map(s.entries());
    const digest = formatDigest([s.digest]);
    s.beginMessage();
    expect(s.advance(35, 35)).toBeGreaterThan(0);
    expect(s.size).toBeLessThan(before.size);
    s.rollback();
    expect(new Map(s.entries())).toEqual(before);
    expect(formatDigest([s.digest])).toBe(digest);
    expect(s.oldestTimestamp).toBe(Math.min(...[...before.values()].map((v) => v.timestamp)));
    s.beginMessage();
    const n = s.advance(35, 35);
    s.endMessage();
    expect(n).toBe([...before.values()].filter((v) => v.timestamp < 25).length);
    expect(formatDigest([s.digest])).toBe(fromScratch(s as KeyedStore<unknown>, 2));
  });

  it('a windowed counter drops expired slices with exact totals, digest and change log, and undoes that with the message', () => {
    const c = new WindowedCounter(60, 6);
    const { log, mark } = readLog();
    c.attach(log, 1);
    const rnd = lcg(5);
    const model = new Map<string, number>();
    for (let t = 0; t < 2000; t += 1 + Math.floor(rnd() * 4)) {
      const from = mark();
      const sizeBefore = c.size;
      const snapshot = new Map(c.entries());
      c.beginMessage();
      const expired = c.advance(t);
      const gone = [...snapshot.keys()].filter((k) => !c.has(k));
      expect(expired).toBe(gone.length);
      expect(c.size).toBe(sizeBefore - expired);
      for (const k of gone) expect(logged(log, from).has(k)).toBe(true);
      c.add(`n${Math.floor(rnd() * 5)}`, t, 1 + Math.floor(rnd() * 3));
      if (rnd() < 0.2) {
        c.rollback();
        expect(new Map(c.entries())).toEqual(snapshot);
      } else c.endMessage();
      // The totals are the sums of the stored slices, whatever was evicted or undone.
      model.clear();
      for (const [k, v] of c.entries()) {
        const name = k.slice(k.indexOf(SEP) + 1);
        model.set(name, (model.get(name) ?? 0) + v);
      }
      expect(new Map(c.totals())).toEqual(model);
      if (t % 50 < 4) expect(formatDigest([c.digest])).toBe(fromScratch(c as KeyedStore<unknown>, 1));
    }
    expect(model.size).toBeGreaterThan(0);
    expect(formatDigest([c.digest])).toBe(fromScratch(c as KeyedStore<unknown>, 1));
  });
});
