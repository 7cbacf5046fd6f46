/** The acks of one channel's deliveries (no amqplib here: the channel is handed in by amqp-bus.ts). */

/** The one call AckWindow makes on amqplib's Channel. */
export interface AckChannel {
  ack(message: { fields: { deliveryTag: number } }, allUpTo: boolean): void;
}

/** Defers a call to the end of this turn of the event loop (setImmediate; tests may run it by hand). */
export type Defer = (run: () => void) => void;

const nextTurn: Defer = (run) => setImmediate(run);

/**
 * Acks in delivery order with `multiple`: a tag is acked once it and every earlier tag are
 * done, and no tag is ever acked twice. The `multiple` ack is sent once per turn of the event
 * loop, after every delivery whose commit settled in that turn is done: a journal commit (or
 * LMDB's, which joins the batches queued behind it) settles many deliveries' waits at once,
 * and each had sent a frame of its own, one socket write each (~55 µs of the main thread per
 * delivery, the largest single cost of an AMQP delivery in bench/amqp-intake.ts). A refused
 * tag is acked alone at once; a later `multiple` ack then ends at a tag not yet acked (the
 * broker closes the channel on an ack of an unknown tag).
 */
export class AckWindow {
  private readonly order: number[] = [];
  private readonly finished = new Set<number>();
  /** Finished tags already acked on their own (refused ones). */
  private readonly acked = new Set<number>();
  /** The newest tag the next `multiple` ack covers, and how many stored deliveries it acks; null: none due. */
  private dueUpTo: number | null = null;
  private dueCount = 0;

  constructor(
    private readonly channel: AckChannel,
    private readonly live: () => boolean,
    private readonly onAcked: (n: number, stored: boolean) => void,
    private readonly defer: Defer = nextTurn,
  ) {}

  expect(tag: number): void {
    this.order.push(tag);
  }

  /** A delivery that can never be taken in: acked now, whatever before it is still in progress. */
  refused(tag: number): void {
    if (!this.live()) {
      this.done(tag);
      return;
    }
    try {
      this.channel.ack({ fields: { deliveryTag: tag } }, false);
      this.acked.add(tag);
      this.onAcked(1, false);
    } catch {
      // The channel closed meanwhile: the broker redelivers, and it is refused again.
    }
    this.done(tag);
  }

  done(tag: number): void {
    this.finished.add(tag);
    let upTo: number | null = null;
    let n = 0;
    while (this.order.length > 0 && this.finished.has(this.order[0] as number)) {
      const head = this.order.shift() as number;
      this.finished.delete(head);
      if (this.acked.delete(head)) continue;
      upTo = head;
      n++;
    }
    if (upTo === null) return;
    if (this.dueUpTo === null) this.defer(() => this.flush());
    this.dueUpTo = upTo;
    this.dueCount += n;
  }

  /** Sends the ack due (at the end of the turn otherwise): before the channel closes. */
  flush(): void {
    const upTo = this.dueUpTo;
    const n = this.dueCount;
    this.dueUpTo = null;
    this.dueCount = 0;
    if (upTo === null || !this.live()) return;
    try {
      this.channel.ack({ fields: { deliveryTag: upTo } }, true);
      this.onAcked(n, true);
    } catch {
      // The channel closed meanwhile: the broker redelivers, de-duplication absorbs it.
    }
  }
}
