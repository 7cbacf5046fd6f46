/**
 * When the AMQP input thread posts its inputs' statuses (amqp-thread-worker.ts): the counts a
 * settlement changes (acked) move when AckWindow sends the turn's ack, at a `setImmediate` the
 * settlement queues, so the post waits two immediates to come after it. A settlement that
 * arrives while a post is already due may queue its ack after that post's second immediate
 * (the first had run, and queued the second, before the settlement arrived): that post would
 * carry the count from before the ack, and nothing after it would carry the new one. So such a
 * settlement asks for one more post after the due one.
 */
export type Defer = (run: () => void) => void;

export class StatusPosts {
  /** 'first': a post is due, its first immediate not yet run; 'second': it ran, the second is queued. */
  private stage: 'idle' | 'first' | 'second' = 'idle';
  private again = false;

  constructor(
    private readonly post: () => void,
    private readonly defer: Defer = (run) => setImmediate(run),
  ) {}

  /** The statuses are posted after this turn's acks. */
  soon(): void {
    if (this.stage === 'first') return;
    if (this.stage === 'second') {
      this.again = true;
      return;
    }
    this.stage = 'first';
    this.defer(() => {
      this.stage = 'second';
      this.defer(() => {
        this.stage = 'idle';
        this.post();
        if (this.again) {
          this.again = false;
          this.soon();
        }
      });
    });
  }
}
