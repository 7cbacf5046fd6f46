/**
 * A small semaphore with a bounded queue for filtered `/raw` scans: each reads a whole time
 * window, so dozens at once would take the event loop from `/api` and the bus. At most
 * `concurrency` run; up to `queueLength` more wait their turn in arrival order; the rest are
 * refused at once (the caller answers 503 with Retry-After) rather than piling up. One client
 * (its per-IP key) holds at most half the places, running and waiting together: with the
 * places shared by all, one client sending ten scans at once had every other client refused.
 */
export class ScanGate {
  private running = 0;
  private readonly waiting: (() => void)[] = [];
  /** Refused because every slot and queue place was taken (or the client's share); scans stopped by their time budget. */
  readonly stats = { busy: 0, timedOut: 0 };
  /** Places (running or waiting) each client holds; a client holding none has no entry. */
  private readonly held = new Map<string, number>();

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

  /** Places one client may hold, running and waiting together. */
  get perClient(): number {
    return Math.max(1, Math.floor((this.concurrency + this.queueLength) / 2));
  }

  /** Runs `task` once a slot is free; null (counted) when the queue, or `client`'s share of the places, is full. */
  run<T>(task: () => Promise<T>, client = ''): Promise<T> | null {
    const mine = this.held.get(client) ?? 0;
    if ((this.running >= this.concurrency && this.waiting.length >= this.queueLength) || mine >= this.perClient) {
      this.stats.busy++;
      return null;
    }
    this.held.set(client, mine + 1);
    return this.slot().then(async () => {
      try {
        return await task();
      } finally {
        this.release();
        const left = (this.held.get(client) ?? 1) - 1;
        if (left > 0) this.held.set(client, left);
        else this.held.delete(client);
      }
    });
  }

  /** Clients holding a place now. */
  get clients(): number {
    return this.held.size;
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
