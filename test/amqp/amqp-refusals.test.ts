import { describe, expect, it } from 'vitest';
import type { Delivery } from '../../src/amqp-message.js';
import { RecentRefusals, REMEMBERED, refusalDigest } from '../../src/amqp-refusals.js';

const delivery = (over: Partial<Delivery> = {}): Delivery => ({
  routingKey: 'org.fedoraproject.prod.x',
  content: Buffer.from('{not json'),
  messageId: 'id-1',
  headers: { 'sent-at': 'x' },
  redelivered: false,
  ...over,
});

describe('amqp-refusals', () => {
  it('knows a redelivery by what the broker delivers again unchanged, not by headers it adds', () => {
    const first = refusalDigest(delivery(), 'invalid_json');
    expect(refusalDigest(delivery({ redelivered: true, headers: { 'x-delivery-count': 1 } }), 'invalid_json')).toBe(
      first,
    );
    for (const other of [
      refusalDigest(delivery(), 'not_object'),
      refusalDigest(delivery({ messageId: 'id-2' }), 'invalid_json'),
      refusalDigest(delivery({ routingKey: 'org.fedoraproject.prod.y' }), 'invalid_json'),
      refusalDigest(delivery({ content: Buffer.from('{not json!') }), 'invalid_json'),
      refusalDigest(delivery({ content: Buffer.alloc(0), declaredBytes: 9 }), 'invalid_json'),
      refusalDigest(delivery({ content: Buffer.alloc(0), headerFrameBytes: 9 }), 'invalid_json'),
    ])
      expect(other).not.toBe(first);
  });

  it(`remembers the last ${REMEMBERED} refusals, and no more`, () => {
    const recent = new RecentRefusals();
    for (let i = 0; i < REMEMBERED; i++) expect(recent.add(`d${i}`)).toBe(true);
    expect(recent.add('d0')).toBe(false);
    // One more: the oldest, d0 (seeing it again does not make it newer), is forgotten.
    expect(recent.add(`d${REMEMBERED}`)).toBe(true);
    expect(recent.add('d0')).toBe(true);
    // Which forgot d1, and nothing later.
    expect(recent.add('d2')).toBe(false);
    expect(recent.add('d1')).toBe(true);
  });
});
