import { describe, expect, it } from 'vitest';
import { ChangeLog, type ChangeCursor } from '../../actors/change-log.js';
import { KeyedStore } from '../../actors/keyed-store.js';
import { RowStore } from '../../actors/row-store.js';

type R = { timestamp: number; n: number };

/** Keys changed since a reader's cursor (deduplicated), moving the cursor to the end. */
const drain = (log: ChangeLog, cursor: ChangeCursor): string[] => {
  const keys = new Set<string>();
  expect(log.forEach(cursor.position, log.position, (_c, k) => void keys.add(k))).toBe(true);
  log.advance(cursor, log.position);
  return [...keys].sort();
};

describe('KeyedStore', () => {
  it('records every written and deleted key in the change log, read by each cursor independently', () => {
    const s = new KeyedStore<number>();
    const log = new ChangeLog();
    s.attach(log, 1);
    const a = log.open();
    s.set('x', 1);
    const b = log.open();
    s.set('y', 2);
    s.delete('x');
    expect(drain(log, a)).toEqual(['x', 'y']);
    expect(drain(log, b)).toEqual(['x', 'y']);
    s.update('y', (v) => (v ?? 0) + 1);
    expect(drain(log, a)).toEqual(['y']);
    expect(s.get('y')).toBe(3);
    const seen: number[] = [];
    log.forEach(b.position, log.position, (c) => seen.push(c));
    expect(seen).toEqual([1]);
  });

  it('tells a reader that fell behind the bounded log to start over', () => {
    const s = new KeyedStore<number>();
    const log = new ChangeLog(() => 0);
    s.attach(log, 0);
    const slow = log.open();
    for (let i = 0; i < 200_000; i++) s.set(`k${i % 10}`, i);
    // Capacity is the floor (16 384 entries): the slow reader's start is gone.
    expect(log.length).toBeLessThanOrEqual(16_384 + 4096);
    expect(log.covers(slow.position)).toBe(false);
    expect(log.forEach(slow.position, log.position, () => {})).toBe(false);
    const fresh = log.open();
    s.set('k1', -1);
    expect(drain(log, fresh)).toEqual(['k1']);
  });

  it('answers a cut with the values of its instant while writes go on', () => {
    const s = new KeyedStore<number>();
    s.set('a', 1);
    s.set('b', 2);
    s.openCut();
    s.set('a', 10);
    s.delete('b');
    s.set('c', 3);
    expect([s.valueAtCut('a'), s.valueAtCut('b'), s.valueAtCut('c')]).toEqual([1, 2, undefined]);
    expect([...s.deletedSinceCut()]).toEqual([['b', 2]]);
    s.closeCut();
    expect([s.valueAtCut('a'), s.valueAtCut('b')]).toEqual([10, undefined]);
  });

  it('rolls back exactly the writes of the current message', () => {
    const s = new KeyedStore<number>();
    s.set('keep', 1);
    s.beginMessage();
    s.set('keep', 2);
    s.set('keep', 3);
    s.set('new', 9);
    s.delete('keep');
    s.rollback();
    expect([...s.entries()]).toEqual([['keep', 1]]);
    s.beginMessage();
    s.set('new', 5);
    s.endMessage();
    s.rollback(); // nothing left to undo once the message ended
    expect(s.get('new')).toBe(5);
  });

  it('load() restores without logging changes', () => {
    const s = new KeyedStore<number>();
    const log = new ChangeLog();
    s.attach(log, 0);
    const t = log.open();
    s.load('a', 1);
    expect(drain(log, t)).toEqual([]);
    expect(s.get('a')).toBe(1);
  });
});

describe('RowStore', () => {
  const fill = () => {
    const s = new RowStore<R>();
    for (const [k, ts] of [
      ['b', 20],
      ['a', 20],
      ['c', 10],
      ['d', 30],
      ['e', 5],
    ] as const)
      s.set(k, { timestamp: ts, n: ts });
    return s;
  };

  it('scans a time range in (timestamp, key) order both ways, inclusive bounds', () => {
    const s = fill();
    const keysOf = (rows: R[]) => rows.map((r) => `${r.timestamp}`);
    expect(keysOf([...s.scan({ order: 'asc' })])).toEqual(['5', '10', '20', '20', '30']);
    expect([...s.scan({ order: 'desc', start: 10, stop: 20 })].map((r) => r.timestamp)).toEqual([20, 20, 10]);
    expect(s.count({ start: 10, stop: 20 })).toBe(3);
    expect(s.count({ start: 31 })).toBe(0);
    expect(s.count({ start: 20, stop: 10 })).toBe(0);
  });

  it('re-indexes a row whose timestamp changes and evicts old rows as deletions', () => {
    const s = fill();
    const log = new ChangeLog();
    s.attach(log, 0);
    const t = log.open();
    s.set('e', { timestamp: 40, n: 1 });
    expect(s.newestTimestamp).toBe(40);
    expect(s.oldestTimestamp).toBe(10);
    expect(s.evictBefore(20)).toBe(1);
    expect(s.has('c')).toBe(false);
    expect(drain(log, t)).toEqual(['c', 'e']);
    expect(s.count({})).toBe(4);
    expect([...s.scan({ order: 'asc' })].map((r) => r.timestamp)).toEqual([20, 20, 30, 40]);
  });

  it('keeps its index consistent through a rollback', () => {
    const s = fill();
    s.beginMessage();
    s.set('a', { timestamp: 99, n: 0 });
    s.delete('d');
    s.rollback();
    expect([...s.scan({ order: 'asc' })].map((r) => r.timestamp)).toEqual([5, 10, 20, 20, 30]);
    expect(s.newestTimestamp).toBe(30);
  });
});
