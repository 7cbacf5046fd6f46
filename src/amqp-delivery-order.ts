/**
 * The journaling order of one AMQP input's deliveries. A delivery prepared on the AMQP prepare
 * thread (amqp-prepare-thread.ts) is ready later than a small one after it, prepared at once on
 * the main thread: each delivery takes a turn as it arrives and is journaled only after every
 * earlier one has left its turn (journaled, refused or let go). While no turn is open a
 * delivery goes through at once, in the same turn of the event loop, as before the thread.
 */
export interface Turn {
  /** Settles once every earlier turn was left; null: none was open. */
  readonly after: Promise<void> | null;
  /** Leaves the turn (once; later calls do nothing). */
  readonly leave: () => void;
}

export class DeliveryOrder {
  private open = 0;
  /** Settles once every turn taken so far was left. */
  private tail: Promise<void> = Promise.resolve();

  take(): Turn {
    const after = this.open === 0 ? null : this.tail;
    this.open++;
    let release = () => {};
    const left = new Promise<void>((resolve) => {
      release = resolve;
    });
    this.tail = after === null ? left : Promise.all([after, left]).then(() => undefined);
    let done = false;
    return {
      after,
      leave: () => {
        if (done) return;
        done = true;
        this.open--;
        release();
      },
    };
  }
}
