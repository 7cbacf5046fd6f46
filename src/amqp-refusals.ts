import { createHash } from 'node:crypto';
import type { Delivery } from './amqp-message.js';

/**
 * What identifies a refused delivery when the broker delivers it again: what it redelivers
 * unchanged (routing key, message id, body, the sizes of what was dropped unread) and why it
 * was refused. Not the headers: brokers add their own to a redelivery (x-delivery-count).
 */
export function refusalDigest(delivery: Delivery, reason: string): string {
  const sum = createHash('sha1').update(reason).update('\n').update(delivery.routingKey).update('\n');
  sum.update(typeof delivery.messageId === 'string' ? delivery.messageId : '').update('\n');
  sum.update(`${delivery.declaredBytes ?? ''}/${delivery.headerFrameBytes ?? ''}\n`);
  return sum.update(delivery.content).digest('base64');
}

/**
 * The digests of the last REMEMBERED refused deliveries of one input. A refused delivery's ack
 * goes out at once, so one whose ack was lost comes back within a reconnect or two, long before
 * this many more were refused. At worst (a publisher sending the very same bad message again,
 * and that copy redelivered) one refusal goes uncounted; without it every lost ack counted one
 * refusal twice.
 */
export const REMEMBERED = 4096;

export class RecentRefusals {
  private readonly seen = new Set<string>();

  /** Remembers `digest`; false if it was remembered already. */
  add(digest: string): boolean {
    if (this.seen.has(digest)) return false;
    this.seen.add(digest);
    // A Set iterates in insertion order: the first is the oldest.
    if (this.seen.size > REMEMBERED) this.seen.delete(this.seen.values().next().value as string);
    return true;
  }
}
