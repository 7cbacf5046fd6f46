/**
 * The AMQP input thread's deliveries of one turn (amqp-thread-worker.ts), each prepared as it
 * arrives and posted to the main thread together at the turn's end: amqplib hands a socket
 * read's deliveries over synchronously, one after the other, and a message costs the main
 * thread tens of µs whatever it carries. Every prepared record and head of the batch share one
 * transferred buffer, and the deliveries themselves are packed beside it (amqp-thread-batch.ts).
 */
import type { Delivery } from './amqp-message.js';
import { prepareDelivery } from './amqp-prepare.js';
import { refusalDigest } from './amqp-refusals.js';
import { DeliveryBatch, type PackedDeliveries } from './amqp-thread-batch.js';
import type { ItemBase } from './amqp-thread-protocol.js';
import type { ThreadLimits } from './bus-prepare.js';
import { decodedBytes } from './intake-commits.js';

/** The thread reads the system clock: the service runs on it whenever this thread is used. */
const fill = () => Date.now() / 1000;

export class ThreadOutbox {
  private batch = new DeliveryBatch();
  private parts: Uint8Array[] = [];
  private bytes = 0;
  private afterSend: (() => void)[] = [];

  constructor(
    private readonly limits: ThreadLimits,
    private readonly post: (items: PackedDeliveries, buffer: ArrayBuffer | null) => void,
  ) {}

  add(input: number, id: number, conn: number, delivery: Delivery): void {
    if (this.batch.count === 0) queueMicrotask(() => this.send());
    const fields: ItemBase = {
      input,
      id,
      conn,
      routingKey: delivery.routingKey,
      redelivered: delivery.redelivered,
      bytes: decodedBytes([delivery.content]),
    };
    let prepared: ReturnType<typeof prepareDelivery> | null;
    try {
      prepared = prepareDelivery(delivery, this.limits, fill);
    } catch {
      prepared = null;
    }
    if (prepared?.kind === 'ready') {
      this.parts.push(prepared.record, prepared.head);
      const end = this.bytes + prepared.record.byteLength;
      this.bytes = end + prepared.head.byteLength;
      this.batch.ready(fields, end, this.bytes, prepared.truncated, prepared.corrected, prepared.filled);
    } else if (prepared?.kind === 'rejected') {
      const { reason, detail } = prepared;
      this.batch.other(fields, { k: 'rejected', reason, detail, digest: refusalDigest(delivery, reason) });
    } else {
      // Preparing threw: the main thread decodes it, and counts and reports the failure as it would its own.
      const content = new Uint8Array(delivery.content.byteLength);
      content.set(delivery.content);
      this.batch.other(fields, { k: 'raw', content, messageId: delivery.messageId, headers: delivery.headers });
    }
  }

  /** Runs `fn` once this turn's batch is posted (tests: a thread that dies right after). */
  afterPost(fn: () => void): void {
    this.afterSend.push(fn);
  }

  private send(): void {
    const { parts, bytes, afterSend } = this;
    const items = this.batch.take();
    this.parts = [];
    this.bytes = 0;
    this.afterSend = [];
    let buffer: ArrayBuffer | null = null;
    if (bytes > 0) {
      const packed = new Uint8Array(bytes);
      let at = 0;
      for (const part of parts) {
        packed.set(part, at);
        at += part.byteLength;
      }
      buffer = packed.buffer;
    }
    this.post(items, buffer);
    for (const fn of afterSend) setImmediate(fn);
  }
}
