/**
 * The deliveries an AMQP input holds in memory, received and not yet settled (waiting on the
 * start-up hold or their journal commit), across all its connections, and the cap on them
 * (no amqplib here: amqp-bus.ts hands each delivery's settling promise in).
 *
 * Why across connections: a server-named queue dies with its connection, so what it delivered
 * is the only copy and stays held when the connection is lost; every reconnect during a long
 * start-up hold then added one more prefetch window, without bound. Past the cap, a new
 * connection declares and binds its queue but consumes only once a whole window fits again,
 * so the broker holds what arrives meanwhile (within its own queue limits) instead of us.
 */
/** An input's cap on held deliveries (--amqp-max-held): never below one window, or no connection could ever consume. */
export function heldCap(options: { readonly maxHeld?: number | undefined; readonly prefetch: number }): number {
  return Math.max(options.maxHeld ?? Number.POSITIVE_INFINITY, options.prefetch);
}

export class HeldDeliveries {
  private readonly pending = new Set<Promise<void>>();
  private wake: (() => void) | null = null;

  /** `max`: most deliveries held at once (Infinity: no cap). */
  constructor(readonly max: number) {}

  get size(): number {
    return this.pending.size;
  }

  /** A delivery received: `settled` must never reject. */
  add(settled: Promise<void>): void {
    this.pending.add(settled);
    void settled.finally(() => {
      this.pending.delete(settled);
      this.wake?.();
    });
  }

  /** Settles once every delivery held now has settled. */
  settled(): Promise<unknown> {
    return Promise.allSettled([...this.pending]);
  }

  /** Whether `window` more deliveries (a connection's prefetch) fit under the cap. */
  roomFor(window: number): boolean {
    return this.pending.size + window <= this.max;
  }

  /** Resolves true once `window` more fit, false if `gone` aborts first (its connection was lost, or the input closes). */
  async waitForRoom(window: number, gone: AbortSignal): Promise<boolean> {
    while (!this.roomFor(window)) {
      if (gone.aborted) return false;
      await new Promise<void>((resolve) => {
        const done = () => {
          gone.removeEventListener('abort', done);
          if (this.wake === done) this.wake = null;
          resolve();
        };
        this.wake = done;
        gone.addEventListener('abort', done, { once: true });
      });
    }
    return !gone.aborted;
  }
}
