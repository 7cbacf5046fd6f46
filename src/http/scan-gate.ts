/**
 * A small semaphore with a bounded queue for filtered `/raw` scans: each reads a whole time
 * window, so dozens at once would take the event loop from `/api` and the bus. At most
 * `concurrency` run; up to `queueLength` more wait their turn in arrival order; the rest are
 * refused at once (the caller answers 503 with Retry-After) rather than piling up.
 */
export class ScanGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Refused because every slot and queue place was taken; scans stopped by their time budget. */
  readonly stats = { busy: 0, timedOut: 0 };

  constructor(
    readonly concurrency: number,
    readonly queueLength: number,
  ) {}

  get active(): number {
    return this.running;
  }

  get queued(): number {
    return this.waiting.length;
  }

  /** Runs `task` once a slot is free; null (counted) when the queue is full. */
  run<T>(task: () => Promise<T>): Promise<T> | null {
    if (this.running >= this.concurrency && this.waiting.length >= this.queueLength) {
      this.stats.busy++;
      return null;
    }
    return this.slot().then(async () => {
      try {
        return await task();
      } finally {
        this.release();
      }
    });
  }

  private slot(): Promise<void> {
    if (this.running < this.concurrency) {
      this.running++;
      return Promise.resolve();
    }
    return new Promise((resolve) =>
      this.waiting.push(() => {
        this.running++;
        resolve();
      }),
    );
  }

  private release(): void {
    this.running--;
    this.waiting.shift()?.();
  }
}
