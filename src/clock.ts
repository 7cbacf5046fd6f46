/**
 * Time is injected so tests drive timers by hand instead of sleeping. Plugins never see a
 * clock at all: their time comes from the message.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
  /**
   * Calls `fn` at every multiple of `ms` of `now()` until the returned function is called: its
   * phase is the clock's, so another thread reading the same wall clock knows when it fires
   * (the bus thread hands batches over just before the WebSocket tick: src/bus-linger.ts).
   */
  aligned(ms: number, fn: () => void): () => void;
}

/**
 * The multiple of `ms` an aligned timer aims at next, called at `now` when it fired aiming at
 * `aimed`. A timer may fire a little before the wall clock reaches its multiple: the next is
 * then the one after it, not an extra call a moment later. Otherwise the first multiple after
 * `now`: a late timer skips what it missed, and a wall clock stepped back (NTP) does not leave
 * the timer aiming an hour ahead.
 */
export function nextMultiple(now: number, aimed: number, ms: number): number {
  const early = aimed - now;
  return early > 0 && early < ms ? aimed + ms : (Math.floor(now / ms) + 1) * ms;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    // Timers must not keep a stopping process alive.
    t.unref();
    return () => clearInterval(t);
  },
  aligned(ms, fn) {
    let live = true;
    let timer: NodeJS.Timeout | undefined;
    let due = nextMultiple(Date.now(), Number.NaN, ms);
    const arm = () => {
      timer = setTimeout(() => {
        if (!live) return;
        due = nextMultiple(Date.now(), due, ms);
        arm();
        fn();
      }, due - Date.now());
      timer.unref();
    };
    arm();
    return () => {
      live = false;
      clearTimeout(timer);
    };
  },
};

/** Calls `fn` once, `ms` from now on `clock` (tests drive it by hand), unless the returned function is called first. */
export function after(clock: Clock, ms: number, fn: () => void): () => void {
  const cancel = clock.every(ms, () => {
    cancel();
    fn();
  });
  return cancel;
}

/** Resolves in the event loop's check phase: I/O (HTTP, the bus) gets a turn before the caller goes on. */
export const nextTurn = (): Promise<void> => new Promise<void>((resolve) => setImmediate(resolve));

/** Resolves after `ms` on `clock` (tests drive it by hand), or at once when `signal` aborts. */
export function delay(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  if (ms <= 0 || signal?.aborted) return Promise.resolve();
  return new Promise((resolve) => {
    const done = () => {
      cancel();
      signal?.removeEventListener('abort', done);
      resolve();
    };
    const cancel = clock.every(ms, done);
    signal?.addEventListener('abort', done, { once: true });
  });
}

/** A clock that only moves when told to: `advance(ms)` fires due timers in order. */
export class ManualClock implements Clock {
  private timers: { due: number; ms: number; fn: () => void; live: boolean }[] = [];

  constructor(private current = 0) {}

  now(): number {
    return this.current;
  }

  every(ms: number, fn: () => void): () => void {
    return this.schedule(this.current + ms, ms, fn);
  }

  aligned(ms: number, fn: () => void): () => void {
    return this.schedule(nextMultiple(this.current, Number.NaN, ms), ms, fn);
  }

  /** A timer first due at `due`, then every `ms` (a manual clock neither fires early nor steps back). */
  private schedule(due: number, ms: number, fn: () => void): () => void {
    const timer = { due, ms, fn, live: true };
    this.timers.push(timer);
    return () => {
      timer.live = false;
    };
  }

  advance(ms: number): void {
    const end = this.current + ms;
    for (;;) {
      const next = this.timers.filter((t) => t.live && t.due <= end).sort((a, b) => a.due - b.due)[0];
      if (!next) break;
      this.current = next.due;
      next.due += next.ms;
      next.fn();
    }
    this.current = end;
    this.timers = this.timers.filter((t) => t.live);
  }
}
