import { describe, expect, it, vi } from 'vitest';
import { ChangeLog } from '../../actors/change-log.js';
import { GroupedRows } from '../../actors/grouped-rows.js';
import { SEP, rowKeyOf } from '../../actors/row-key.js';
import { RowStore } from '../../actors/row-store.js';
import { StateDigest, formatDigest } from '../../actors/state-digest.js';
import { UnstorableValueError } from '../../actors/storable-value.js';
import { lcg } from '../helpers/seeded-random.js';

type U = { timestamp: number; user: string; volume: number };
const KEY = ['timestamp', 'user'] as const;

const fromScratch = (s: RowStore<U>, container: number) => {
  const d = new StateDigest();
  for (const [k, v] of s.entries()) d.toggle(container, k, v);
  return formatDigest([d]);
};

/** Every key the log holds from `from` on, in order, as readers get them. */
const logged = (log: ChangeLog, from: number) => {
  const keys: string[] = [];
  expect(log.forEach(from, log.position, (_c, key) => void keys.push(key))).toBe(true);
  return keys;
};

describe('RowStore.write', () => {
  it('stores, logs, undoes and digests exactly as put(), with the digest deferred or live (no key built either way), cuts and odd keys between', () => {
    const users = ['alice', `odd${SEP}one`, 'back\\slash', '', '12', 'x'.repeat(575), 'y'.repeat(576)];
    const times = [1_700_000_000, 1_700_000_001, 0, -0, -60, 1.5, 1e21, -2.2250738585072014e-308];
    // A row at NaN is kept under its key whole ("NaN…"), as one loaded in another form: both need keys built.
    const nan = { timestamp: Number.NaN, user: 'nan', volume: 1 };
    for (const deferred of [true, false]) {
      const written = new RowStore<U>([...KEY]);
      const put = new RowStore<U>([...KEY]);
      // The row at NaN: as a trusted plugin's rows keep it (values unchecked); a checked one is refused (below).
      written.checkValues = false;
      put.checkValues = false;
      const logs = [new ChangeLog(), new ChangeLog()];
      written.attach(logs[0] as ChangeLog, 1);
      put.attach(logs[1] as ChangeLog, 1);
      const readers = logs.map((l) => l.open());
      if (deferred) {
        written.deferDigest();
        put.deferDigest();
      }
      const keyFor = vi.spyOn(GroupedRows.prototype, 'keyFor');
      const rnd = lcg(deferred ? 3 : 4);
      let keysBuilt = 0;
      for (let step = 0; step < 4000; step++) {
        const timestamp = times[Math.floor(rnd() * times.length)] as number;
        const user = users[Math.floor(rnd() * users.length)] as string;
        const row = { timestamp, user, volume: (written.lookup({ timestamp, user })?.volume ?? 0) + 1 };
        const r = rnd();
        // A cut open (a snapshot under way) and a loaded key of another form each need the key whole.
        if (step === 1000) for (const s of [written, put]) s.openCut();
        if (step === 1400) for (const s of [written, put]) s.closeCut();
        if (step === 2000) {
          for (const s of [written, put]) s.load(`01${SEP}odd`, { timestamp: 1, user: 'odd', volume: 1 });
          written.write(nan);
          put.put(nan);
        }
        if (step === 2500) for (const s of [written, put]) s.delete(`01${SEP}odd`);
        if (step === 2700) for (const s of [written, put]) s.delete(`NaN${SEP}nan`);
        const calls = keyFor.mock.calls.length;
        const write = () => {
          written.write(row);
          return keyFor.mock.calls.length - calls;
        };
        let byWrite: number;
        if (r < 0.15) {
          // A message that writes, then throws: nothing of it may stay.
          for (const s of [written, put]) s.beginMessage();
          byWrite = write();
          put.put(row);
          written.delete(rowKeyOf(KEY, { timestamp: times[0], user: 'alice' }));
          put.delete(rowKeyOf(KEY, { timestamp: times[0], user: 'alice' }));
          for (const s of [written, put]) s.rollback();
        } else if (r < 0.2) {
          for (const s of [written, put]) s.delete(rowKeyOf(KEY, row));
          continue;
        } else {
          for (const s of [written, put]) s.beginMessage();
          byWrite = write();
          put.put(row);
          for (const s of [written, put]) s.endMessage();
        }
        const wholeKey = (step >= 1000 && step < 1400) || (step >= 2000 && step < 2700);
        // write() builds a key only where one is needed whole (or the rest is too long to leave uncounted).
        if (!wholeKey && user.length <= 575) expect(byWrite).toBe(0);
        keysBuilt += byWrite;
      }
      keyFor.mockRestore();
      expect(new Map(written.entries())).toEqual(new Map(put.entries()));
      expect([...written.scan({ order: 'asc' })]).toEqual([...put.scan({ order: 'asc' })]);
      expect(written.size).toBe(put.size);
      expect(written.size).toBeGreaterThan(20);
      expect(logged(logs[0] as ChangeLog, (readers[0] as { position: number }).position)).toEqual(
        logged(logs[1] as ChangeLog, (readers[1] as { position: number }).position),
      );
      expect(formatDigest([written.digest])).toBe(fromScratch(written, 1));
      expect(formatDigest([written.digest])).toBe(formatDigest([put.digest]));
      expect(keysBuilt).toBeGreaterThan(0);
    }
  });

  it('refuses a value it cannot keep before writing anything, as put() does', () => {
    const rows = new RowStore<U>([...KEY]);
    rows.attach(new ChangeLog(), 0);
    rows.deferDigest();
    const bad = { timestamp: 60, user: 'u', volume: 1, extra: () => 1 } as unknown as U;
    expect(() => rows.write(bad)).toThrow(UnstorableValueError);
    expect(rows.size).toBe(0);
    // A timestamp restore would refuse (restore-checks.ts validateRows), written or put.
    for (const timestamp of [Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, '60', undefined]) {
      const untimed = { timestamp, user: 'u', volume: 1 } as unknown as U;
      expect(() => rows.write(untimed)).toThrow(/its timestamp .* is not a finite number/);
      expect(() => rows.put(untimed)).toThrow(UnstorableValueError);
    }
    expect(rows.size).toBe(0);
    rows.checkValues = false;
    rows.write({ timestamp: 60, user: 'u', volume: 2 });
    expect(rows.get(`60${SEP}u`)?.volume).toBe(2);
  });
});
