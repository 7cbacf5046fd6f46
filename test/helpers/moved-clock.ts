import { type Clock, systemClock } from '../../src/clock.js';

/**
 * The system time plus what the test has moved it on by: a period read on the service's clock
 * (a slow client's timeout, a log line's throttle) passes without the test waiting it out.
 * Held, it stands still until moved on, so requests the test makes fall in one second of it.
 * Timers stay the system clock's.
 */
export class MovedClock implements Clock {
  private offset = 0;
  private held: number | null = null;
  now(): number {
    return this.held ?? Date.now() + this.offset;
  }
  moveOn(ms: number): void {
    this.offset += ms;
    if (this.held !== null) this.held += ms;
  }
  /** Stops the time where it is (moveOn still moves it). */
  hold(): void {
    this.held = this.now();
  }
  every(ms: number, fn: () => void): () => void {
    return systemClock.every(ms, fn);
  }
  aligned(ms: number, fn: () => void): () => void {
    return systemClock.aligned(ms, fn);
  }
}
