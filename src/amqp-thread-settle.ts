/**
 * Settlements of AMQP deliveries on the main thread, posted to the AMQP input thread once per
 * turn of the event loop (amqp-input-thread.ts): a journal commit settles a window of
 * deliveries at once, and the thread acks what one message settles with one `multiple` ack.
 */
import type { ToAmqpThread } from './amqp-thread-protocol.js';

export class SettleOutbox {
  private okIds: number[] = [];
  private refusedIds: number[] = [];
  private failedIds: [number, string][] = [];
  private due = false;

  constructor(private readonly post: (message: ToAmqpThread) => void) {}

  /** Committed and applied: the thread may ack it. */
  ok(id: number): void {
    this.okIds.push(id);
    this.soon();
  }

  /** Never to be taken in: acked at once. */
  refused(id: number): void {
    this.refusedIds.push(id);
    this.soon();
  }

  /** Not stored: its connection is dropped and the broker delivers it again. */
  failed(id: number, message: string): void {
    this.failedIds.push([id, message]);
    this.soon();
  }

  private soon(): void {
    if (this.due) return;
    this.due = true;
    setImmediate(() => {
      this.due = false;
      const message: ToAmqpThread = {
        kind: 'settled',
        ok: this.okIds,
        refused: this.refusedIds,
        failed: this.failedIds,
      };
      this.okIds = [];
      this.refusedIds = [];
      this.failedIds = [];
      this.post(message);
    });
  }
}
