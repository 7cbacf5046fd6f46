/**
 * Settlements of AMQP deliveries on the main thread, posted to the AMQP input thread in one
 * message per journal commit (amqp-input-thread.ts): a commit settles a window of deliveries
 * in one run of the microtask queue, and the thread acks what one message settles with one
 * `multiple` ack. Posted as that run ends (process.nextTick, queued from a promise callback,
 * runs once the microtask queue is empty), not at a setImmediate: with a prefetch window of 25
 * the broker sends nothing new until the ack, so each turn waited here was a turn of the whole
 * round trip (bench/amqp-drain.ts).
 */
import type { ToAmqpThread } from './amqp-thread-protocol.js';

export class SettleOutbox {
  private okIds: number[] = [];
  private refusedIds: number[] = [];
  private failedIds: [number, string][] = [];
  private due = false;

  constructor(
    private readonly post: (message: ToAmqpThread) => void,
    private readonly defer: (run: () => void) => void = (run) => process.nextTick(run),
  ) {}

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
    this.defer(() => {
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
