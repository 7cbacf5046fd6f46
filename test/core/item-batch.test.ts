import { describe, expect, it } from 'vitest';
import { ITEM_INTS, ItemBatch } from '../../src/bus-thread-protocol.js';
import { FILLED, FROM_MICROSECONDS, FROM_MILLISECONDS, READY, TRUNCATED } from '../../src/prepared-flags.js';

describe('a bus thread batch packed for transfer', () => {
  it('packs flags, source, record and head ends per item; names each source once; keeps the unprepared ones in order', () => {
    const batch = new ItemBatch();
    const sources = ['tcp://a:1', 'bind', 'tcp://b:2'];
    // 200 items: past the first 64-item array, so it grows.
    for (let i = 0; i < 200; i++) {
      const source = sources[i % 3] as string;
      if (i % 50 === 7) batch.other(source, { k: 'rejected', r: 'invalid_json', d: `bad ${i}` });
      else
        batch.ready(
          source,
          i * 10 + 4,
          i * 10 + 9,
          i % 4 === 1 ? 'milliseconds' : i % 4 === 2 ? 'microseconds' : null,
          i % 5 === 0,
          i % 7 === 3,
        );
    }
    const packed = batch.take();
    expect(packed.count).toBe(200);
    expect(packed.sources).toEqual(sources);
    expect(packed.items.byteLength).toBe(200 * ITEM_INTS * 4);
    expect(packed.others.map((o) => (o.k === 'rejected' ? o.d : ''))).toEqual([
      'bad 7',
      'bad 57',
      'bad 107',
      'bad 157',
    ]);
    const ints = new Int32Array(packed.items);
    for (let i = 0; i < 200; i++) {
      const [flags, source, end, headEnd] = ints.subarray(i * ITEM_INTS, (i + 1) * ITEM_INTS);
      expect(packed.sources[source as number]).toBe(sources[i % 3]);
      if (i % 50 === 7) {
        expect(flags).toBe(0);
        continue;
      }
      expect([end, headEnd]).toEqual([i * 10 + 4, i * 10 + 9]);
      const want =
        READY |
        (i % 5 === 0 ? TRUNCATED : 0) |
        (i % 7 === 3 ? FILLED : 0) |
        (i % 4 === 1 ? FROM_MILLISECONDS : i % 4 === 2 ? FROM_MICROSECONDS : 0);
      expect(flags, `item ${i}`).toBe(want);
    }
    // take() starts the next batch afresh.
    batch.ready('bind', 1, 2, null, false, false);
    const next = batch.take();
    expect(next.count).toBe(1);
    expect(next.sources).toEqual(['bind']);
    expect(next.others).toEqual([]);
  });
});
