// Loading lib/channel.js loads lib/defs.js, which copies the table decoder: the codec guard goes first.
import './amqp-codec-guard.js';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { DECLARED_BYTES } from './amqp-message.js';

/**
 * amqplib gathers a delivery's whole body (every content frame, then one Buffer.concat) before
 * it hands the message over, so our size check saw a body only once it was all in memory: a
 * prefetch window cost prefetch × the broker's largest message (RabbitMQ: 128 MiB), twice over
 * while the frames were concatenated.
 *
 * AMQP declares the body's size in the content header frame, before any body frame. This
 * module wraps amqplib's per-channel message state machine (Channel#acceptMessageFrame in
 * lib/channel.js, reached by path as amqp-codec-guard.ts reaches lib/codec.js): on a channel
 * given a cap (capBodies), a header declaring more than the cap is handed on as a header of an
 * empty body, marked with the declared size (DECLARED_BYTES on its properties), and the content
 * frames that follow are dropped as they arrive, counted against the declared size. The
 * delivery then reaches the service as usual, is refused as `oversized` and acked like any
 * other refused delivery; what it held at a time is one frame (frame_max, 128 KiB), not the body.
 */

/** The cap of a channel (bytes of body), set by capBodies(). */
const CAP: unique symbol = Symbol('statscache.amqp.bodyCap');
/** Body bytes still to be dropped on a channel, while it skips an oversized delivery's content frames. */
const SKIPPING: unique symbol = Symbol('statscache.amqp.skipping');

interface Frame {
  readonly id?: number;
  readonly size?: number;
  readonly fields?: Record<string | symbol, unknown>;
  readonly content?: Buffer;
}

interface GuardedChannel {
  [CAP]?: number;
  [SKIPPING]?: number;
  acceptMessageFrame(f: Frame): void;
  closeWithError(id: number | undefined, reason: string, code: number, error: Error): void;
}

/** Bodies larger than `maxBytes` on this amqplib channel are dropped unread (see above). Call before consuming. */
export function capBodies(channel: object, maxBytes: number): void {
  (channel as GuardedChannel)[CAP] = maxBytes;
}

let installed = false;

/** Wraps amqplib's message state machine; idempotent. Channels without a cap behave as before. */
export function guardAmqpBodies(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  // The package's exports map hides lib/: reach the same files (the same cached modules) by path.
  const lib = join(dirname(require.resolve('amqplib')), 'lib');
  const { Channel } = require(join(lib, 'channel.js')) as { Channel: { prototype: GuardedChannel } };
  const defs = require(join(lib, 'defs.js')) as { BasicProperties: number; constants: { UNEXPECTED_FRAME: number } };
  const original = Channel.prototype.acceptMessageFrame;
  Channel.prototype.acceptMessageFrame = function (this: GuardedChannel, f: Frame): void {
    const skipping = this[SKIPPING];
    if (skipping !== undefined) {
      const left = f.id === undefined && f.content ? skipping - f.content.length : -1;
      if (left > 0) this[SKIPPING] = left;
      else delete this[SKIPPING];
      if (left >= 0) return;
      // Not a content frame, or more content than declared: what amqplib itself closes the channel for.
      const reason = 'Unexpected frame while skipping an oversized message body';
      this.closeWithError(f.id, reason, defs.constants.UNEXPECTED_FRAME, new Error(reason));
      return;
    }
    const cap = this[CAP];
    if (cap !== undefined && f.id === defs.BasicProperties && typeof f.size === 'number' && f.size > cap) {
      const fields = { ...f.fields, [DECLARED_BYTES]: f.size };
      original.call(this, { ...f, size: 0, fields });
      this[SKIPPING] = f.size;
      return;
    }
    original.call(this, f);
  };
}

guardAmqpBodies();
