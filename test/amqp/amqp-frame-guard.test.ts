import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { capTables } from '../../src/amqp-codec-guard.js';
import '../../src/amqp-frame-guard.js';
import { FRAME_TOO_LARGE } from '../../src/amqp-message.js';

/**
 * The guard on amqplib's own frame reader (lib/connection.js, wrapped on import), fed the bytes
 * of a header frame and the frames after it in socket-sized chunks. The broker round trip
 * (a STOMP publisher's 65 MiB of headers) is test/e2e/amqp-header-cap.test.ts.
 */
const require = createRequire(import.meta.url);
const lib = join(dirname(require.resolve('amqplib')), 'lib');
const { Connection } = require(join(lib, 'connection.js')) as {
  Connection: { prototype: object };
};

type Decoded = {
  id?: number;
  channel?: number;
  size?: number;
  fields?: Record<string | symbol, unknown>;
  content?: Buffer;
};

const CAP = 65_536;

function frame(type: number, channel: number, payload: Buffer): Buffer {
  const head = Buffer.alloc(7);
  head.writeUInt8(type, 0);
  head.writeUInt16BE(channel, 1);
  head.writeUInt32BE(payload.length, 3);
  return Buffer.concat([head, payload, Buffer.from([206])]);
}

/** A content header frame: class 60 (basic), weight 0, the body size, no property flags, then `pad` bytes. */
function headerFrame(channel: number, bodySize: number, pad: number): Buffer {
  const payload = Buffer.alloc(14 + pad);
  payload.writeUInt16BE(60, 0);
  payload.writeBigUInt64BE(BigInt(bodySize), 4);
  return frame(2, channel, payload);
}

/** A connection (amqplib's prototype, no socket) reading from `stream`. */
function reader(stream: PassThrough) {
  const c = Object.create(Connection.prototype) as {
    rest: Buffer;
    stream: PassThrough;
    recvSinceLastCheck: boolean;
    maxFrameSize: number;
    frameMax: number;
    recvFrame(): Decoded | false;
  };
  c.rest = Buffer.alloc(0);
  c.stream = stream;
  c.recvSinceLastCheck = false;
  c.maxFrameSize = 64 * 1024 * 1024;
  c.frameMax = 131_072;
  return c;
}

/** Writes `bytes` in `chunk`-byte pieces, reading every frame after each; the largest buffer held is recorded. */
function feed(bytes: Buffer, chunk: number) {
  const stream = new PassThrough({ highWaterMark: chunk });
  const c = reader(stream);
  const frames: Decoded[] = [];
  let held = 0;
  for (let at = 0; at < bytes.length; at += chunk) {
    stream.write(bytes.subarray(at, at + chunk));
    for (let f = c.recvFrame(); f; f = c.recvFrame()) frames.push(f);
    held = Math.max(held, c.rest.length);
  }
  return { frames, held };
}

describe('amqp-frame-guard', () => {
  capTables(CAP);

  it('drops a header frame over 64 MiB as it arrives, marks it, and reads the frames after it', () => {
    const big = 65 * 1024 * 1024;
    const bytes = Buffer.concat([headerFrame(1, 3, big), frame(3, 1, Buffer.from('abc')), headerFrame(1, 0, 10)]);
    const { frames, held } = feed(bytes, 65_536);
    expect(frames).toHaveLength(3);
    expect(frames[0]).toMatchObject({ id: 60, channel: 1, size: 3 });
    expect(frames[0]?.fields?.[FRAME_TOO_LARGE]).toBe(big + 14);
    expect(frames[1]?.content?.toString()).toBe('abc');
    expect(frames[2]).toMatchObject({ id: 60, channel: 1, size: 0 });
    expect(frames[2]?.fields?.[FRAME_TOO_LARGE]).toBeUndefined();
    // Never gathered: at most what one read brought.
    expect(held).toBeLessThanOrEqual(65_536 * 2);
  });

  it('reads a header frame at the bound whole, and drops one just past it', () => {
    const room = CAP + 4096;
    const at = feed(headerFrame(2, 0, room - 14), 1000).frames;
    expect(at).toHaveLength(1);
    expect(at[0]?.fields?.[FRAME_TOO_LARGE]).toBeUndefined();
    const past = feed(headerFrame(2, 0, room - 13), 1000).frames;
    expect(past).toHaveLength(1);
    expect(past[0]?.fields?.[FRAME_TOO_LARGE]).toBe(room + 1);
  });

  it('still refuses a dropped frame that does not end where it said', () => {
    const bytes = headerFrame(1, 0, CAP * 2);
    bytes[bytes.length - 1] = 0;
    expect(() => feed(bytes, 4096)).toThrow(/Invalid frame/);
  });

  it('refuses a body frame over the agreed frame_max before gathering it, and reads one at it', () => {
    const at = feed(frame(3, 1, Buffer.alloc(131_072 - 8, 'a')), 65_536).frames;
    expect(at).toHaveLength(1);
    expect(at[0]?.content?.length).toBe(131_072 - 8);
    const stream = new PassThrough({ highWaterMark: 65_536 });
    const c = reader(stream);
    const big = frame(3, 1, Buffer.alloc(60 * 1024 * 1024, 'b'));
    stream.write(big.subarray(0, 65_536));
    // amqplib alone read on up to 64 MiB, re-joining its buffer on every read.
    expect(() => c.recvFrame()).toThrow(/Frame size 62914560 exceeds the negotiated frame_max 131072/);
    expect(c.rest.length).toBeLessThanOrEqual(65_536);
  });
});
