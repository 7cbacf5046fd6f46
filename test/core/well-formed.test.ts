import { describe, expect, it } from 'vitest';
import { decodeDelivery } from '../../src/amqp-message.js';
import { decodeEnvelope, decodeFrames } from '../../src/decode-frames.js';
import { mayHoldLoneSurrogate, mayNeedWellFormed, wellFormed } from '../../src/well-formed.js';
import { decode, encode } from '../../snapshots/codec.js';

const NOW = 1_700_000_000;
const limits = { maxFrameBytes: 10_000, maxDepth: 64, maxKeys: 100_000, maxClockSkew: 300, nowSeconds: () => NOW };

describe('unpaired surrogates replaced at intake (well-formed.ts)', () => {
  it('replaces them in strings and member names at any depth, keeping pairs and order (a __proto__ member named as msgpack reads it)', () => {
    const input = JSON.parse(
      '{"a":"x\\ud800","b":["ok",{"\\udc00k":"\\ud83d\\ude00"}],"__proto__":{"c":"\\udbff"},"d":"fine"}',
    ) as Record<string, unknown>;
    const out = wellFormed(input) as Record<string, unknown>;
    expect(JSON.stringify(out)).toBe(
      '{"a":"x\ufffd","b":["ok",{"\ufffdk":"😀"}],"__proto_":{"c":"\ufffd"},"d":"fine"}',
    );
    expect(Object.getPrototypeOf(out)).toBe(Object.prototype);
    expect(Object.keys(out)).toEqual(['a', 'b', '__proto_', 'd']);
    // Nothing modified in place: the input still holds what it held.
    expect(input['a']).toBe('x\ud800');
  });

  it('hands back the very same value when there is nothing to replace', () => {
    const input = JSON.parse('{"a":"é😀","b":[1,null,true,{"c":"\\u00e9"}]}') as unknown;
    expect(wellFormed(input)).toBe(input);
    expect(wellFormed('plain')).toBe('plain');
  });

  it('merges two names that differ only in the unpaired half, the later value winning', () => {
    const out = wellFormed(JSON.parse('{"k\\ud800":1,"k\\udc00":2,"z":3}')) as Record<string, unknown>;
    expect(out).toEqual({ 'k\ufffd': 2, z: 3 });
  });

  it('tells from the JSON text when no walk is needed, and never misses an escape of one', () => {
    for (const t of ['{"a":"\\ud800"}', '{"a":"\\uDFFF"}', '{"a":"\\uD83D\\uDE00"}'])
      expect(mayHoldLoneSurrogate(t)).toBe(true);
    for (const t of ['{"a":"\\u00e9"}', '{"a":"😀"}', '{"a":"d800"}', '{}'])
      expect(mayHoldLoneSurrogate(t)).toBe(false);
  });

  it('applies on every intake path: ZeroMQ frames, AMQP deliveries, datagrepper envelopes', () => {
    const body = JSON.stringify({
      topic: 'org.fedoraproject.prod.wiki.article.edit\udbff',
      timestamp: 5,
      msg: { user: 'u\ud800' },
    });
    const zmq = decodeFrames([Buffer.from('t'), Buffer.from(body)], limits);
    expect(zmq.ok && zmq.envelope).toMatchObject({
      topic: 'org.fedoraproject.prod.wiki.article.edit\ufffd',
      msg: { user: 'u\ufffd' },
    });
    const amqp = decodeDelivery(
      {
        routingKey: 'org.fedoraproject.prod.copr.build.end',
        content: Buffer.from(JSON.stringify({ owner: '\udc00o', '\ud800': 1 })),
        messageId: 'm',
        headers: { 'sent-at': new Date(NOW * 1000).toISOString() },
        redelivered: false,
      },
      limits,
    );
    expect(amqp.ok && amqp.envelope.msg).toEqual({ owner: '\ufffdo', '\ufffd': 1 });
    const archived = decodeEnvelope({ topic: 'a.b', timestamp: 5, msg: { n: ['\udfff'] } }, '', limits);
    expect(archived.ok && archived.envelope.msg).toEqual({ n: ['\ufffd'] });
  });

  it('names a __proto__ member as msgpack reads it back (__proto_), at every depth and on every intake path', () => {
    const parsed = JSON.parse(
      '{"msg":{"attendees":{"__proto__":1,"b":2},"l":[{"__proto__":{"__proto__":3}}]}}',
    ) as unknown;
    const out = wellFormed(parsed) as { msg: Record<string, unknown> };
    expect(JSON.stringify(out)).toBe('{"msg":{"attendees":{"__proto_":1,"b":2},"l":[{"__proto_":{"__proto_":3}}]}}');
    // What the journal gives back is what intake kept: live and replay see one name.
    expect(decode(encode(out))).toEqual(out);
    // Own members, never a prototype.
    expect(Object.getPrototypeOf(out.msg['attendees'])).toBe(Object.prototype);
    for (const t of ['{"__proto__":1}', '{"\\u005f_proto__":1}', '{"a":{"__pr\\u006fto__":1}}'])
      expect(mayNeedWellFormed(t), t).toBe(true);
    for (const t of ['{"a":"\\u00e9"}', '{"proto":1}', '{}']) expect(mayNeedWellFormed(t), t).toBe(false);
    const body =
      '{"topic":"org.fedoraproject.prod.meetbot.meeting.complete","timestamp":5,"msg":{"attendees":{"\\u005f_proto__":1}}}';
    const zmq = decodeFrames([Buffer.from('t'), Buffer.from(body)], limits);
    expect(zmq.ok && zmq.envelope.msg).toEqual({ attendees: { __proto_: 1 } });
    const amqp = decodeDelivery(
      {
        routingKey: 'org.fedoraproject.prod.copr.build.end',
        content: Buffer.from('{"__proto__":{"x":1}}'),
        messageId: 'm',
        headers: { 'sent-at': new Date(NOW * 1000).toISOString() },
        redelivered: false,
      },
      limits,
    );
    expect(amqp.ok && amqp.envelope.msg).toEqual({ __proto_: { x: 1 } });
  });
});
