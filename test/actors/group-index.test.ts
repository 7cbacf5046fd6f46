import { describe, expect, it } from 'vitest';
import { GroupIndex, type Indexed } from '../../actors/group-index.js';
import { SEP } from '../../actors/row-key.js';
import { RowStore } from '../../actors/row-store.js';
import { SortedTimes } from '../../actors/sorted-times.js';
import { mulberry32 } from '../helpers/seeded-random.js';

class G implements Indexed {
  seq = 0;
  constructor(readonly ts: number) {}
}

/** What GroupedRows kept before group-index.ts: a Map by timestamp beside the sorted timestamps. */
class OldLayout {
  readonly map = new Map<number, G>();
  readonly times = new SortedTimes();
  add(g: G): void {
    this.map.set(g.ts, g);
    this.times.insert(g.ts);
  }
  remove(g: G): void {
    this.map.delete(g.ts);
    this.times.remove(g.ts);
  }
}

const live = (times: SortedTimes<unknown>) =>
  Array.from({ length: times.slots }, (_, i) => times.slot(i)).filter((t) => t !== undefined);

/** Both read as one: lookups, the sorted timestamps, the order of the groups, and every open walk in step. */
function expectSame(index: GroupIndex<G>, old: OldLayout, probes: readonly number[]): void {
  for (const ts of probes) expect(index.get(ts)).toBe(old.map.get(ts));
  expect(index.size).toBe(old.map.size);
  expect(live(index.times)).toEqual(live(old.times));
  expect(index.times.first).toBe(old.times.first);
  expect(index.times.last).toBe(old.times.last);
  expect(index.list()).toEqual([...old.map.values()]);
}

describe('GroupIndex (groups by timestamp without a Map)', () => {
  for (const seed of [1, 2, 3]) {
    it(`finds, orders and walks groups as the Map by timestamp did, walks left open across adds, removals and compactions (seed ${seed})`, () => {
      const index = new GroupIndex<G>();
      const old = new OldLayout();
      const rnd = mulberry32(seed);
      let newest = 1_000;
      /** Walks of both opened at the same moment, stepped together while both change. */
      const walks: { mine: Iterator<G>; theirs: Iterator<G>; done: boolean }[] = [];
      const present = () => [...old.map.keys()];
      for (let step = 0; step < 6000; step++) {
        const r = rnd();
        let ts: number | undefined;
        // New buckets; late ones, or back where one went; between buckets; odd numbers.
        if (r < 0.4) ts = ++newest;
        else if (r < 0.5) ts = newest - Math.floor(rnd() * 60);
        else if (r < 0.52) ts = newest - 0.5 - Math.floor(rnd() * 30);
        else if (r < 0.53) ts = [0, -60, 1e21, Number.POSITIVE_INFINITY][Math.floor(rnd() * 4)] as number;
        if (ts !== undefined) {
          if (!old.map.has(ts)) {
            expect(index.get(ts)).toBeUndefined();
            const g = new G(ts);
            index.add(g);
            old.add(g);
          }
        } else if (r < 0.9 && old.map.size > 0) {
          // Mostly the oldest (retention), else the newest or one inside (a bucket emptied by deletes).
          const keys = present();
          const sorted = live(old.times) as number[];
          const pick =
            rnd() < 0.7
              ? (sorted[0] as number)
              : rnd() < 0.3
                ? (sorted[sorted.length - 1] as number)
                : (keys[Math.floor(rnd() * keys.length)] as number);
          const g = old.map.get(pick) as G;
          index.remove(g);
          old.remove(g);
        } else if (r < 0.93) {
          walks.push({ mine: index.groups(), theirs: old.map.values(), done: false });
        }
        // Every open walk takes a step or two: the same group from both, or both at their end.
        for (const w of walks) {
          if (w.done) continue;
          for (let n = 0; n < 1 + Math.floor(rnd() * 2); n++) {
            const a = w.mine.next();
            const b = w.theirs.next();
            // expect() only on a difference: thousands of steps.
            if (a.done !== b.done || a.value !== b.value) expect([step, a]).toEqual([step, b]);
            if (a.done === true) {
              w.done = true;
              break;
            }
          }
        }
        if (step % 50 === 0) expectSame(index, old, [newest, newest - 3, newest + 1, 0, -60, 1e21, 1.5]);
      }
      expectSame(index, old, [newest]);
      expect(walks.filter((w) => w.done).length).toBeGreaterThan(20);
      expect(index.size).toBeGreaterThan(100);
    });
  }

  it('finds groups at timestamps no comparison finds (NaN, not a number) as the Map did, from then on through a Map', () => {
    const index = new GroupIndex<G>();
    const old = new OldLayout();
    const add = (ts: number) => {
      const g = new G(ts);
      index.add(g);
      old.add(g);
      return g;
    };
    for (let ts = 10; ts < 40; ts += 3) add(ts);
    const early = index.groups();
    const oldEarly = old.map.values();
    expect(early.next().value).toBe(oldEarly.next().value);
    const nan = add(Number.NaN);
    const text = add('15' as unknown as number);
    add(41);
    add(11);
    const probes = [10, 13, 41, 11, Number.NaN, '15' as unknown as number, 15, 14];
    expectSame(index, old, probes);
    expect(index.get(Number.NaN)).toBe(nan);
    expect(index.get('15' as unknown as number)).toBe(text);
    for (const g of [old.map.get(13) as G, nan, old.map.get(10) as G]) {
      index.remove(g);
      old.remove(g);
    }
    expectSame(index, old, probes);
    // The walk opened before the Map took over goes on in the same order.
    expect([...{ [Symbol.iterator]: () => early }]).toEqual([...{ [Symbol.iterator]: () => oldEarly }]);
  });
});

describe('SortedTimes with values', () => {
  it('holds each live timestamp’s value, and nothing once a timestamp leaves, through compactions at both ends and inside', () => {
    const times = new SortedTimes<{ ts: number }>(true);
    const model = new Map<number, { ts: number }>();
    const rnd = mulberry32(11);
    let next = 10;
    for (let step = 0; step < 20_000; step++) {
      const r = rnd();
      if (r < 0.5) {
        next += 1 + Math.floor(rnd() * 3);
        const v = { ts: next };
        times.insert(next, v);
        model.set(next, v);
      } else if (r < 0.55) {
        const ts = Math.floor(rnd() * next) + (rnd() < 0.5 ? 0.5 : 1);
        if (!model.has(ts)) {
          const v = { ts };
          times.insert(ts, v);
          model.set(ts, v);
        }
      } else if (model.size > 0) {
        const sorted = live(times) as number[];
        const i = rnd() < 0.7 ? 0 : rnd() < 0.3 ? sorted.length - 1 : Math.floor(rnd() * sorted.length);
        times.remove(sorted[i] as number);
        model.delete(sorted[i] as number);
      }
      if (step % 101 === 0) {
        const keys = [...model.keys()];
        expect(keys.map((ts) => times.valueAt(ts))).toEqual([...model.values()]);
        expect(times.valueAt(next + 1)).toBeUndefined();
        expect(times.valueAt(0.25)).toBeUndefined();
        // Slot by slot: a value in every live slot, none in a dead one.
        const slots = Array.from({ length: times.slots }, (_, i) => i);
        expect(slots.map((i) => times.valueInSlot(i))).toEqual(
          slots.map((i) => (times.slot(i) === undefined ? undefined : model.get(times.slot(i) as number))),
        );
        // Nothing that left is held, spare slots included (the list would keep dead groups alive).
        const held = (times as unknown as { held: unknown[] }).held;
        expect(held.filter((v) => v !== undefined).length).toBe(model.size);
      }
    }
    expect(model.size).toBeGreaterThan(100);
    expect(times.elementMoves).toBeGreaterThan(0);
  });
});

type U = { timestamp: number; user: string; volume: number };

describe('RowStore grouped by timestamp: keys in the order of the Map of groups it kept before', () => {
  it('gives keys, values and entries, and walks left open across writes, late buckets and evictions, in that order', () => {
    const rows = new RowStore<U>(['timestamp', 'user']);
    // The old layout's order: groups as a Map by timestamp (an emptied or evicted one leaves it,
    // and comes back at the end), each group's rows in the order they came.
    const model = new Map<number, Map<string, U>>();
    const key = (ts: number, user: string) => `${ts}${SEP}${user}`;
    const rnd = mulberry32(21);
    const users = ['alice', 'bob', 'carol', 'dave'];
    let newest = 5_000;
    const walks: { mine: Iterator<string>; theirs: Iterator<string>; at: number | null; done: boolean }[] = [];
    const walked = (ts: number) => walks.some((w) => !w.done && w.at === ts);
    function* modelKeys(w: { at: number | null }): Generator<string> {
      for (const [ts, g] of model) {
        w.at = ts;
        for (const user of g.keys()) yield key(ts, user);
      }
    }
    for (let step = 0; step < 8000; step++) {
      const r = rnd();
      const ts = r < 0.3 ? ++newest : newest - Math.floor(rnd() * 40);
      const user = users[Math.floor(rnd() * users.length)] as string;
      const g = model.get(ts);
      if (r < 0.75) {
        // A walk's group takes no new row here: a Group's inline row and a Map differ there, and
        // a walk reads the group it is in as it was (the old layout did the same).
        if (!walked(ts)) {
          const row = { timestamp: ts, user, volume: (g?.get(user)?.volume ?? 0) + 1 };
          rows.write(row);
          if (g === undefined) model.set(ts, new Map([[user, row]]));
          else g.set(user, row);
        }
      } else if (r < 0.85) {
        if (g?.has(user) === true && !walked(ts)) {
          expect(rows.delete(key(ts, user))).toBe(true);
          g.delete(user);
          if (g.size === 0) model.delete(ts);
        }
      } else if (r < 0.9) {
        const cutoff = newest - 30 - Math.floor(rnd() * 20);
        const gone = [...model.keys()].filter((t) => t < cutoff);
        const n = gone.reduce((s, t) => s + (model.get(t) as Map<string, U>).size, 0);
        expect(rows.evictBefore(cutoff)).toBe(n);
        for (const t of gone) model.delete(t);
      } else if (r < 0.92) {
        const w = { mine: rows.keys(), theirs: null as unknown as Iterator<string>, at: null, done: false };
        w.theirs = modelKeys(w);
        walks.push(w);
      }
      for (const w of walks) {
        if (w.done) continue;
        const a = w.mine.next();
        const b = w.theirs.next();
        if (a.done !== b.done || a.value !== b.value) expect([step, a]).toEqual([step, b]);
        if (a.done === true) w.done = true;
      }
      if (step % 200 === 0) {
        const expected = [...model].flatMap(([t, m]) => [...m.keys()].map((u) => key(t, u)));
        expect([...rows.keys()]).toEqual(expected);
        expect([...rows.values()]).toEqual([...model.values()].flatMap((m) => [...m.values()]));
        expect([...rows.entries()].map(([k]) => k)).toEqual(expected);
      }
    }
    expect(walks.filter((w) => w.done).length).toBeGreaterThan(50);
    expect(rows.size).toBeGreaterThan(50);
  });
});
