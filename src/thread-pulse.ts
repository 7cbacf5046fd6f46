/**
 * The liveness of a worker thread (the bus thread, the replay thread), as the main thread sees
 * it: the worker counts beats in a shared int32, the main thread watches the count move. A beat
 * is progress (a record read, a message prepared) or a turn of the worker's event loop (a timer):
 * a thread that is idle (a quiet bus) or waiting for credit (the main thread is busy applying)
 * turns its loop and beats; one stuck in synchronous code (an endless loop) or in a native call
 * never does. The count is read on the main thread's own clock, but it is the worker that
 * writes it: a main thread that was itself busy for long finds it moved, and blames no one.
 */

/** How often an idle worker beats: a tenth of a one-second timeout, so a loaded machine's late timers are no hang. */
export const BEAT_MS = 100;

/** The worker's side. */
export class Pulse {
  private readonly count: Int32Array;

  constructor(buffer: SharedArrayBuffer) {
    this.count = new Int32Array(buffer, 0, 1);
  }

  /** Progress, or a turn of the event loop. */
  beat(): void {
    Atomics.add(this.count, 0, 1);
  }

  /** Beats every BEAT_MS from now on, while the event loop turns; never keeps the thread alive. */
  keepBeating(): void {
    this.beat();
    setInterval(() => this.beat(), BEAT_MS).unref();
  }
}

/**
 * The main thread's side: calls `onStall` once if the count stands still for `timeoutMs`. The
 * clock starts at the worker's first beat (its modules loaded): a worker that never beats is
 * one that failed to start, and says so through its 'error' and 'exit' events.
 */
export class PulseWatch {
  readonly buffer = new SharedArrayBuffer(4);
  private readonly count = new Int32Array(this.buffer);
  private seen = 0;
  private since = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly timeoutMs: number,
    private readonly onStall: (stillMs: number) => void,
  ) {}

  /** Starts watching (nothing when the timeout is 0: off). The timer never keeps the process alive. */
  start(): this {
    if (this.timeoutMs <= 0 || this.timer !== null) return this;
    // A tenth of the timeout, so a stall is seen within 110% of it; never busier than 20 a second.
    const pollMs = Math.min(1000, Math.max(50, this.timeoutMs / 10));
    this.timer = setInterval(() => this.look(), pollMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private look(): void {
    const now = performance.now();
    const count = Atomics.load(this.count, 0);
    if (count !== this.seen) {
      this.seen = count;
      this.since = now;
      return;
    }
    if (count === 0 || now - this.since < this.timeoutMs) return;
    this.stop();
    this.onStall(now - this.since);
  }
}
