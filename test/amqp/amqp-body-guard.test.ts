import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { capBodies } from '../../src/amqp-body-guard.js';
import { DECLARED_BYTES } from '../../src/amqp-message.js';

/**
 * The guard's frame handling on amqplib's own message state machine (lib/channel.js, wrapped on
 * import), fed the frames a channel receives after a basic.deliver. The broker round trip is
 * test/e2e/amqp-body-cap.test.ts.
 */
const require = createRequire(import.meta.url);
const lib = join(dirname(require.resolve('amqplib')), 'lib');
const { Channel, acceptMessage } = require(join(lib, 'channel.js')) as {
  Channel: { prototype: object };
  acceptMessage(k: (m: Message) => void): unknown;
};
const { BasicProperties } = require(join(lib, 'defs.js')) as { BasicProperties: number };

type Message = { properties: Record<string | symbol, unknown>; content: Buffer };
type Frame = { id?: number; size?: number; fields?: Record<string, unknown>; content?: Buffer };

/** A channel (amqplib's prototype, no connection) in the state after a basic.deliver. */
function channel(cap: number | null) {
  const delivered: Message[] = [];
  const closed: string[] = [];
  const ch = Object.create(Channel.prototype) as {
    handleMessage: unknown;
    acceptMessageFrame(f: Frame): void;
    closeWithError(id: unknown, reason: string): void;
  };
  ch.handleMessage = acceptMessage((m) => delivered.push(m));
  ch.closeWithError = (_id, reason) => closed.push(reason);
  if (cap !== null) capBodies(ch, cap);
  return { ch, delivered, closed };
}

const header = (size: number): Frame => ({ id: BasicProperties, size, fields: { headers: { a: 1 } } });
const body = (n: number): Frame => ({ content: Buffer.alloc(n, 'x') });

describe('amqplib bodies over the cap, dropped as their frames arrive', () => {
  it('delivers an empty body marked with its declared size at once, and drops exactly that many bytes', () => {
    const { ch, delivered, closed } = channel(100);
    ch.acceptMessageFrame(header(101));
    expect(delivered).toHaveLength(1);
    expect(delivered[0]?.content.length).toBe(0);
    expect(delivered[0]?.properties[DECLARED_BYTES]).toBe(101);
    expect(delivered[0]?.properties['headers']).toEqual({ a: 1 });
    ch.acceptMessageFrame(body(60));
    ch.acceptMessageFrame(body(41));
    expect(closed).toEqual([]);
    // In step again: a body at the cap is gathered as amqplib always did.
    ch.handleMessage = acceptMessage((m) => delivered.push(m));
    ch.acceptMessageFrame(header(100));
    ch.acceptMessageFrame(body(100));
    expect(delivered[1]?.content.length).toBe(100);
    expect(delivered[1]?.properties[DECLARED_BYTES]).toBeUndefined();
  });

  it('closes the channel on more content than declared, as amqplib does', () => {
    const { ch, closed } = channel(100);
    ch.acceptMessageFrame(header(150));
    ch.acceptMessageFrame(body(100));
    ch.acceptMessageFrame(body(51));
    expect(closed).toEqual(['Unexpected frame while skipping an oversized message body']);
  });

  it('closes the channel on a frame other than content while skipping', () => {
    const { ch, closed } = channel(100);
    ch.acceptMessageFrame(header(150));
    ch.acceptMessageFrame(header(10));
    expect(closed).toHaveLength(1);
  });

  it('leaves a channel without a cap as amqplib made it', () => {
    const { ch, delivered } = channel(null);
    ch.acceptMessageFrame(header(200));
    ch.acceptMessageFrame(body(200));
    expect(delivered[0]?.content.length).toBe(200);
  });
});
