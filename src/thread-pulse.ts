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

  /**
   * The first beat, unless the main thread gave the worker up before it (PulseWatch.giveUp: a
   * stop during the start): then false, and the worker ends without opening anything.
   */
  begin(): boolean {
    return Atomics.compareExchange(this.count, 0, 0, 1) === 0;
  }

  /** Beats every BEAT_MS from now on, while the event loop turns; never keeps the thread alive. */
  keepBeating(): void {
    this.beat();
    setInterval(() => this.beat(), BEAT_MS).unref();
  }
}

/**
 * What a stalled worker was doing: `loading` (created, never beat: stuck loading its modules or
 * in their top-level code) or `running` (it beat, then stood still).
 */
export type PulseStage = 'loading' | 'running';

/** The two bounds of a PulseWatch (ms; 0: that stage is not watched). */
export interface PulseBounds {
  /** Longest from the first beat on without another (--thread-hang-timeout). */
  readonly hangMs: number;
  /** Longest from start() to the first beat (--thread-start-timeout). */
  readonly startMs: number;
}

const pollOf = (timeoutMs: number): number => Math.min(1000, Math.max(50, timeoutMs / 10));

/**
 * The main thread's side: calls `onStall` once if the count stands still for `hangMs` after the
 * worker's first beat, or never moves within `startMs` of start(). The first bound alone left a
 * worker that hung before it beat (loading its modules, or in their top-level code) unwatched:
 * the bus thread's start sat in "starting" for good, the replay thread's replay in "replaying".
 */
export class PulseWatch {
  readonly buffer = new SharedArrayBuffer(4);
  private readonly count = new Int32Array(this.buffer);
  private seen = 0;
  private since = 0;
  private started = 0;
  private timer: ReturnType<typeof setInterval> | null = null;

  constructor(
    private readonly bounds: PulseBounds,
    private readonly onStall: (stillMs: number, stage: PulseStage) => void,
  ) {}

  /**
   * Starts watching, as the worker is created (nothing when both bounds are 0: off). The timer
   * never keeps the process alive.
   */
  start(): this {
    const { hangMs, startMs } = this.bounds;
    if ((hangMs <= 0 && startMs <= 0) || this.timer !== null) return this;
    this.started = performance.now();
    // A tenth of the shorter bound, so a stall is seen within 110% of it; never busier than 20 a second.
    const pollMs = Math.min(...[hangMs, startMs].filter((ms) => ms > 0).map(pollOf));
    this.timer = setInterval(() => this.look(), pollMs);
    this.timer.unref();
    return this;
  }

  stop(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  /**
   * Gives the worker up if it has not beaten yet, and stops watching it: true then, and it never
   * will (Pulse.begin), so it opened nothing and nothing is lost if it is ended now. False (and
   * still watched) once it has.
   */
  giveUp(): boolean {
    if (Atomics.compareExchange(this.count, 0, 0, -1) !== 0) return false;
    this.stop();
    return true;
  }

  private look(): void {
    const now = performance.now();
    const count = Atomics.load(this.count, 0);
    if (count === 0) {
      const { startMs } = this.bounds;
      if (startMs > 0 && now - this.started >= startMs) this.stall(now - this.started, 'loading');
      return;
    }
    if (count !== this.seen) {
      this.seen = count;
      this.since = now;
      return;
    }
    if (this.bounds.hangMs > 0 && now - this.since >= this.bounds.hangMs) this.stall(now - this.since, 'running');
  }

  private stall(stillMs: number, stage: PulseStage): void {
    this.stop();
    this.onStall(stillMs, stage);
  }
}
