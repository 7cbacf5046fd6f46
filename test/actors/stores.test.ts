import { describe, expect, it } from 'vitest';
import { KeyedStore } from '../../actors/keyed-store.js';
import { RowStore } from '../../actors/row-store.js';

type R = { timestamp: number; n: number };

describe('KeyedStore', () => {
  it('records every written and deleted key for each tracker independently', () => {
    const s = new KeyedStore<number>();
    const a = s.track();
    s.set('x', 1);
    const b = s.track();
    s.set('y', 2);
    s.delete('x');
    expect([...a].sort()).toEqual(['x', 'y']);
    expect([...b].sort()).toEqual(['x', 'y']);
    a.clear();
    s.update('y', (v) => (v ?? 0) + 1);
    expect([...a]).toEqual(['y']);
    expect(s.get('y')).toBe(3);
    s.untrack(b);
    b.clear();
    s.set('z', 0);
    expect(b.size).toBe(0);
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

  it('load() restores without marking changes', () => {
    const s = new KeyedStore<number>();
    const t = s.track();
    s.load('a', 1);
    expect(t.size).toBe(0);
    s.touchAll();
    expect([...t]).toEqual(['a']);
  });
});

describe('RowStore', () => {
  const fill = () => {
    const s = new RowStore<R>();
    for (const [k, ts] of [['b', 20], ['a', 20], ['c', 10], ['d', 30], ['e', 5]] as const) s.set(k, { timestamp: ts, n: ts });
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
    const t = s.track();
    s.set('e', { timestamp: 40, n: 1 });
    expect(s.newestTimestamp).toBe(40);
    expect(s.oldestTimestamp).toBe(10);
    expect(s.evictBefore(20)).toBe(1);
    expect(s.has('c')).toBe(false);
    expect(t.has('c')).toBe(true);
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
