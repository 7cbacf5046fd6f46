import { describe, expect, it } from 'vitest';
import { DeliveryBatch, ITEM_FIELDS, type PackedDeliveries, unpackDeliveries } from '../../src/amqp-thread-batch.js';
import type { ItemBase } from '../../src/amqp-thread-protocol.js';

const fields = (over: Partial<ItemBase> = {}): ItemBase => ({
  input: 0,
  id: 0,
  conn: 0,
  routingKey: 'org.fedoraproject.prod.buildsys.build.state.change',
  redelivered: false,
  bytes: 600,
  ...over,
});

/** A batch whose item `i` has field `f` set to `value`, as a defect on the thread would send it. */
function corrupt(packed: PackedDeliveries, i: number, f: number, value: number): PackedDeliveries {
  const items = packed.items.slice(0);
  new Float64Array(items)[i * ITEM_FIELDS + f] = value;
  return { ...packed, items };
}

describe('the AMQP input thread packed batch', () => {
  it('gives back every delivery, in order, with what the thread made of it', () => {
    const b = new DeliveryBatch();
    b.ready(fields({ id: 7, conn: 2, bytes: 1234 }), 100, 140, false, null, false);
    b.other(fields({ id: 8, routingKey: 'a.b', redelivered: true }), {
      k: 'rejected',
      reason: 'invalid_json',
      detail: 'Unexpected token',
      digest: 'd1',
    });
    b.ready(fields({ id: 9, input: 1, redelivered: true }), 200, 260, true, 'milliseconds', true);
    b.other(fields({ id: 10, routingKey: 'a.b' }), {
      k: 'raw',
      content: new Uint8Array([1, 2, 3]),
      messageId: 'm',
      headers: { x: 1 },
    });
    b.ready(fields({ id: 2 ** 40, conn: 2 ** 33, bytes: 2 ** 35 }), 300, 301, false, 'microseconds', false);
    const packed = b.take();
    expect(packed.count).toBe(5);
    // Each routing key once.
    expect(packed.keys).toEqual(['org.fedoraproject.prod.buildsys.build.state.change', 'a.b']);
    const items = unpackDeliveries(packed, 2, 301);
    expect(items).toEqual([
      {
        input: 0,
        id: 7,
        conn: 2,
        routingKey: 'org.fedoraproject.prod.buildsys.build.state.change',
        redelivered: false,
        bytes: 1234,
        k: 'ready',
        end: 100,
        headEnd: 140,
        truncated: false,
        corrected: null,
        filled: false,
      },
      {
        input: 0,
        id: 8,
        conn: 0,
        routingKey: 'a.b',
        redelivered: true,
        bytes: 600,
        k: 'rejected',
        reason: 'invalid_json',
        detail: 'Unexpected token',
        digest: 'd1',
      },
      {
        input: 1,
        id: 9,
        conn: 0,
        routingKey: 'org.fedoraproject.prod.buildsys.build.state.change',
        redelivered: true,
        bytes: 600,
        k: 'ready',
        end: 200,
        headEnd: 260,
        truncated: true,
        corrected: 'milliseconds',
        filled: true,
      },
      {
        input: 0,
        id: 10,
        conn: 0,
        routingKey: 'a.b',
        redelivered: false,
        bytes: 600,
        k: 'raw',
        content: new Uint8Array([1, 2, 3]),
        messageId: 'm',
        headers: { x: 1 },
      },
      {
        input: 0,
        id: 2 ** 40,
        conn: 2 ** 33,
        routingKey: 'org.fedoraproject.prod.buildsys.build.state.change',
        redelivered: false,
        bytes: 2 ** 35,
        k: 'ready',
        end: 300,
        headEnd: 301,
        truncated: false,
        corrected: 'microseconds',
        filled: false,
      },
    ]);
  });

  it('starts afresh after take(), and grows past its first 64 deliveries', () => {
    const b = new DeliveryBatch();
    b.ready(fields({ routingKey: 'first' }), 1, 2, false, null, false);
    b.take();
    for (let i = 0; i < 200; i++) b.ready(fields({ id: i }), 2 * i + 1, 2 * i + 2, false, null, false);
    const packed = b.take();
    expect(packed.keys).toEqual(['org.fedoraproject.prod.buildsys.build.state.change']);
    const items = unpackDeliveries(packed, 1, 400);
    expect(items.map((i) => i.id)).toEqual(Array.from({ length: 200 }, (_, i) => i));
    expect(items.at(-1)).toMatchObject({ k: 'ready', end: 399, headEnd: 400 });
    expect(unpackDeliveries(b.take(), 1, 0)).toEqual([]);
  });

  describe('refuses a batch that does not read back', () => {
    const one = () => {
      const b = new DeliveryBatch();
      b.ready(fields(), 10, 20, false, null, false);
      b.ready(fields({ id: 1 }), 30, 40, false, null, false);
      return b.take();
    };

    it('accepts the batch as made', () => {
      expect(unpackDeliveries(one(), 1, 40)).toHaveLength(2);
    });

    it('a record or head past the buffer', () => {
      expect(() => unpackDeliveries(one(), 1, 39)).toThrow(/head end 40 is out of range/);
      expect(() => unpackDeliveries(corrupt(one(), 0, 6, 41), 1, 40)).toThrow(/record end 41/);
    });

    it('records out of order in the buffer', () => {
      // The second's record would start (at the first's head end) after it ends.
      expect(() => unpackDeliveries(corrupt(one(), 0, 7, 35), 1, 40)).toThrow(/delivery 1 is out of order/);
      expect(() => unpackDeliveries(corrupt(one(), 0, 7, 5), 1, 40)).toThrow(/delivery 0 is out of order/);
    });

    it('an input, routing key, id or size out of range', () => {
      expect(() => unpackDeliveries(one(), 0, 40)).toThrow(/input 0 is out of range/);
      expect(() => unpackDeliveries(corrupt(one(), 1, 4, 1), 1, 40)).toThrow(/routing key 1/);
      expect(() => unpackDeliveries(corrupt(one(), 1, 2, -1), 1, 40)).toThrow(/id -1/);
      expect(() => unpackDeliveries(corrupt(one(), 1, 2, 0.5), 1, 40)).toThrow(/id 0.5/);
      expect(() => unpackDeliveries(corrupt(one(), 1, 5, Number.NaN), 1, 40)).toThrow(/size NaN/);
      expect(() => unpackDeliveries(corrupt(one(), 1, 0, 64), 1, 40)).toThrow(/flags 64/);
    });

    it('a count its items buffer does not hold', () => {
      expect(() => unpackDeliveries({ ...one(), count: 3 }, 1, 40)).toThrow(/says 3 deliveries/);
      expect(() => unpackDeliveries({ ...one(), count: -1 }, 1, 40)).toThrow(/says -1 deliveries/);
    });

    it('unprepared deliveries missing or left over', () => {
      const b = new DeliveryBatch();
      b.other(fields(), { k: 'rejected', reason: 'not_object', detail: '', digest: '' });
      const packed = b.take();
      expect(() => unpackDeliveries({ ...packed, others: [] }, 1, 0)).toThrow(/lists more unprepared/);
      expect(() => unpackDeliveries({ ...packed, others: [...packed.others, ...packed.others] }, 1, 0)).toThrow(
        /carries more unprepared/,
      );
    });
  });
});
