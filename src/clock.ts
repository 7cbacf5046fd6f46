/**
 * Time is injected so tests drive timers by hand instead of sleeping. Plugins never see a
 * clock at all: their time comes from the message.
 */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `fn` every `ms` until the returned function is called. */
  every(ms: number, fn: () => void): () => void;
}

export const systemClock: Clock = {
  now: () => Date.now(),
  every(ms, fn) {
    const t = setInterval(fn, ms);
    // Timers must not keep a stopping process alive.
    t.unref();
    return () => clearInterval(t);
  },
};

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
    const timer = { due: this.current + ms, ms, fn, live: true };
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
