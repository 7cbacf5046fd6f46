import { type Clock, systemClock } from '../../src/clock.js';

/**
 * The system time plus what the test has moved it on by: a period read on the service's clock
 * (a slow client's timeout, a log line's throttle) passes without the test waiting it out.
 * Timers stay the system clock's.
 */
export class MovedClock implements Clock {
  private offset = 0;
  now(): number {
    return Date.now() + this.offset;
  }
  moveOn(ms: number): void {
    this.offset += ms;
  }
  every(ms: number, fn: () => void): () => void {
    return systemClock.every(ms, fn);
  }
  aligned(ms: number, fn: () => void): () => void {
    return systemClock.aligned(ms, fn);
  }
}
