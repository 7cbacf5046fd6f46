/**
 * How long the bus thread lets a batch gather before handing it over (bus-worker.ts).
 *
 * Every batch costs the main thread a fixed ~0.5 ms (the hand-over, a journal commit, each
 * plugin's code brought back into cache), so at a trickle small batches are most of what the
 * service costs. What bounds batches is freshness: a WebSocket client sees a message at the
 * first push tick after it was applied. Push ticks fall on multiples of the tick of the wall
 * clock (`Clock.aligned`), which this thread reads too, so a batch may gather until just
 * before the next tick (its cut) and still be pushed on that tick: to a live client that
 * linger costs nothing. The linger setting then bounds what only an HTTP reader sees.
 */

/**
 * Time left between a cut and its tick for the main thread's part: the journal commit and the
 * apply of a batch (a few ms at a trickle; 4 ms let a tenth of the cut batches miss their tick
 * here, which put the push p99 ten milliseconds up).
 */
export const CUT_MARGIN_MS = 10;

/**
 * The wait of a batch opened after the cut: short, as with no alignment, so that it still
 * makes the tick when the main thread is quick, instead of surely waiting for the next cut.
 */
export const AFTER_CUT_WAIT_MS = 2;

/**
 * Milliseconds the batch opened at `nowMs` (epoch ms) may wait: at most `lingerMs`, and never
 * past the cut before the next push tick (`tickMs` from the cut on: AFTER_CUT_WAIT_MS).
 * `tickMs` 0 (no push cadence to keep to): just `lingerMs`.
 */
export function lingerWait(nowMs: number, lingerMs: number, tickMs: number): number {
  if (tickMs <= 0 || lingerMs <= 0) return lingerMs;
  // A short tick keeps three quarters of itself for gathering.
  const cut = tickMs - Math.min(CUT_MARGIN_MS, tickMs / 4);
  const phase = nowMs % tickMs;
  return Math.min(lingerMs, phase < cut ? cut - phase : AFTER_CUT_WAIT_MS);
}

/** The timers a BatchLinger runs on: the thread's own (systemLingerTimers), or a test's. */
export interface LingerTimers {
  /** Epoch ms (the wall clock the push ticks are aligned to). */
  now(): number;
  /** Calls `fn` after `ms`, unless the returned function is called first. */
  after(ms: number, fn: () => void): () => void;
  /** Calls `fn` once the current turn of the event loop is done (setImmediate), unless cancelled. */
  soon(fn: () => void): () => void;
}

export const systemLingerTimers: LingerTimers = {
  now: () => Date.now(),
  after(ms, fn) {
    const t = setTimeout(fn, ms);
    return () => clearTimeout(t);
  },
  soon(fn) {
    const i = setImmediate(fn);
    return () => clearImmediate(i);
  },
};

interface Open {
  readonly ended: Promise<void>;
  readonly end: () => void;
  cancel: () => void;
  over: boolean;
}

/**
 * The open batch's linger on the bus thread (bus-worker.ts). While it runs, the receive loop
 * waits on it instead of on its socket when nothing is queued (idleWait), so a trickle wakes
 * the thread about once per batch, not once per message; when it is over, what queued
 * meanwhile is read back to back (microtasks: libzmq hands queued messages over without a
 * wake-up) and `expired` hands the batch over on the next turn.
 */
export class BatchLinger {
  private open: Open | null = null;
  /** The message just received came on a turn of its own: the thread had gone to sleep for it. */
  private woke = false;
  /** A turn is under way in which a message was received (cleared once the turn is done). */
  private inTurn = false;

  constructor(
    private readonly lingerMs: number,
    private readonly tickMs: number,
    private readonly expired: () => void,
    private readonly timers: LingerTimers = systemLingerTimers,
  ) {}

  get isOpen(): boolean {
    return this.open !== null;
  }

  /** Called for every message received: notes whether it woke the thread. */
  arrived(): void {
    this.woke = !this.inTurn;
    if (this.inTurn) return;
    this.inTurn = true;
    this.timers.soon(() => {
      this.inTurn = false;
    });
  }

  start(): void {
    let end = () => {};
    const ended = new Promise<void>((r) => {
      end = r;
    });
    const open: Open = { ended, end, cancel: () => {}, over: false };
    const expire = () => {
      open.over = true;
      // A paused receive loop wakes and reads what came meanwhile into this batch; the batch
      // goes once that is done.
      open.end();
      this.timers.soon(() => {
        if (this.open === open) this.expired();
      });
    };
    open.cancel =
      this.lingerMs > 0
        ? this.timers.after(lingerWait(this.timers.now(), this.lingerMs, this.tickMs), expire)
        : this.timers.soon(expire);
    this.open = open;
  }

  /** The batch goes now (full, closing, out of credit): its linger is over. */
  end(): void {
    const open = this.open;
    if (open === null) return;
    open.cancel();
    open.end();
    this.open = null;
  }

  /**
   * What the receive loop waits on, if nothing is queued, after a message: the linger's end,
   * while it runs, for the message that opened the batch and for one that woke the thread.
   * Otherwise (undefined) the loop reads on, asking libzmq nothing: after every message of a
   * burst read back to back, that asking took 14% of the bus thread at saturation. Only the
   * opening message waiting was not enough: when a second message was already queued as the
   * first was read, the rest of the linger woke the thread once per message.
   */
  idleWait(batchCount: number): Promise<void> | undefined {
    const open = this.open;
    if (open === null || open.over) return undefined;
    return batchCount === 1 || this.woke ? open.ended : undefined;
  }
}
