// The table cap lives with the table decoder; that module also patches amqplib first.
import { tableCap } from './amqp-codec-guard.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { FRAME_TOO_LARGE } from './amqp-message.js';

/**
 * A content header frame cannot be split (body frames can), and RabbitMQ hands one over whole
 * however it was made (a STOMP publisher's headers become one AMQP header frame). amqplib reads
 * a frame into memory whole, re-joining its buffer on every socket read, and throws on one over
 * 64 MiB as soon as it reads the size: the connection closed before the delivery reached us,
 * the broker put it back at the head of a durable queue, and every reconnect met it again
 * (nothing behind it taken in), while a server-named queue died with everything in it.
 *
 * This module wraps amqplib's frame reader (Connection#recvFrame in lib/connection.js, reached
 * by path as amqp-codec-guard.ts reaches lib/codec.js): a content header frame larger than the
 * table cap (capTables, --max-frame-bytes) plus PROPERTY_ROOM is dropped as its bytes arrive,
 * and handed on as a header of the declared body size whose properties hold only the
 * FRAME_TOO_LARGE mark (the frame's size). The delivery then reaches the service, is refused as
 * `oversized` and acked; its body frames pass as usual (amqp-body-guard.ts bounds those).
 * Any other frame larger than the frame_max agreed with the broker closes the connection
 * before it is gathered (a broker must split bodies to it; amqplib took up to 64 MiB).
 */

const FRAME_HEADER = 2;
const FRAME_END = 206;
/** Type, channel, size. */
const PREFIX = 7;
/** Prefix and frame end: what frame_max counts besides the payload. */
const OVERHEAD = PREFIX + 1;
/** RabbitMQ's default frame_max, and what amqplib proposes. */
const FRAME_MAX_FLOOR = 131_072;
/** Class id, weight, body size: what is read of a dropped header frame. */
const HEAD = 12;
/** A header frame's own fields and its properties but the headers table: 13 short strings and numbers at most. */
const PROPERTY_ROOM = 4096;

const SKIP: unique symbol = Symbol('statscache.amqp.skipFrame');

interface HeaderFrame {
  readonly id: number;
  readonly channel: number;
  readonly size: number;
  readonly fields: Record<string | symbol, unknown>;
}

interface GuardedConnection {
  rest: Buffer;
  stream: { read(): Buffer | null };
  recvSinceLastCheck: boolean;
  /** Agreed in the handshake (AMQP's 4096-byte minimum until then; 0xffffffff for "no limit"). */
  frameMax: number;
  [SKIP]?: { left: number; frame: HeaderFrame };
  recvFrame(): unknown;
}

/** Appends what the socket holds to `rest`; false when it holds nothing yet. */
function readMore(c: GuardedConnection): boolean {
  const incoming = c.stream.read();
  if (incoming === null) return false;
  c.recvSinceLastCheck = true;
  c.rest = c.rest.length === 0 ? incoming : Buffer.concat([c.rest, incoming]);
  return true;
}

let installed = false;

/** Wraps amqplib's frame reader; idempotent. Without a table cap it behaves as before. */
export function guardAmqpFrames(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  const lib = join(dirname(require.resolve('amqplib')), 'lib');
  const { Connection } = require(join(lib, 'connection.js')) as { Connection: { prototype: GuardedConnection } };
  const original = Connection.prototype.recvFrame;
  Connection.prototype.recvFrame = function (this: GuardedConnection): unknown {
    for (;;) {
      const skip = this[SKIP];
      if (skip !== undefined) {
        if (this.rest.length === 0 && !readMore(this)) return false;
        if (skip.left > 0) {
          const n = Math.min(skip.left, this.rest.length);
          skip.left -= n;
          this.rest = this.rest.subarray(n);
          continue;
        }
        if (this.rest[0] !== FRAME_END) throw new Error('Invalid frame');
        this.rest = this.rest.subarray(1);
        delete this[SKIP];
        return skip.frame;
      }
      const rest = this.rest;
      if (rest.length < PREFIX) return original.call(this);
      const size = rest.readUInt32BE(3);
      if (rest[0] !== FRAME_HEADER) {
        // Any other frame the broker must split to the frame_max both sides agreed on; amqplib
        // gathered one up to 64 MiB whatever was agreed. Before the agreement frameMax is
        // AMQP's minimum (4096): the floor leaves room for a broker's larger connection.start.
        const max = Math.max(this.frameMax, FRAME_MAX_FLOOR);
        if (size + OVERHEAD > max) throw new Error(`Frame size ${size} exceeds the negotiated frame_max ${max}`);
        return original.call(this);
      }
      if (size <= tableCap() + PROPERTY_ROOM) return original.call(this);
      if (size < HEAD) throw new Error(`Header frame of ${size} bytes`);
      if (rest.length < PREFIX + HEAD) {
        if (!readMore(this)) return false;
        continue;
      }
      const fields: Record<string | symbol, unknown> = { headers: {}, [FRAME_TOO_LARGE]: size };
      this[SKIP] = {
        left: size,
        frame: {
          id: rest.readUInt16BE(PREFIX),
          channel: rest.readUInt16BE(1),
          size: Number(rest.readBigUInt64BE(PREFIX + 4)),
          fields,
        },
      };
      this.rest = rest.subarray(PREFIX);
    }
  };
}

guardAmqpFrames();
