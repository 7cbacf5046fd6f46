import { describe, expect, it } from 'vitest';
import { RESTART_MAX_MS, STEADY_MS, ThreadRestarts } from '../../src/thread-restarts.js';

/** When a failed worker thread (the AMQP prepare thread) is started afresh, and when no more. */
describe('thread restarts', () => {
  it('wait doubling from 1 s to the cap, at most the bound in a row', () => {
    const restarts = new ThreadRestarts(8);
    const waits = Array.from({ length: 9 }, () => restarts.next(0, null));
    expect(waits).toEqual([1000, 2000, 4000, 8000, 16_000, 32_000, RESTART_MAX_MS, RESTART_MAX_MS, null]);
    expect(restarts.attempt).toBe(8);
    expect(restarts.next(RESTART_MAX_MS * 100, null)).toBeNull();
  });

  it('start the row again after a thread that served STEADY_MS, not one that served less', () => {
    const restarts = new ThreadRestarts(2);
    expect(restarts.next(0, null)).toBe(1000);
    // Up at 1 s, dead just before it served STEADY_MS: the same trouble again.
    expect(restarts.next(1000 + STEADY_MS - 1, 1000)).toBe(2000);
    expect(restarts.attempt).toBe(2);
    // This one served STEADY_MS: a new failure, the first wait again.
    expect(restarts.next(2 * STEADY_MS, STEADY_MS)).toBe(1000);
    expect(restarts.attempt).toBe(1);
  });

  it('never with a bound of 0', () => {
    expect(new ThreadRestarts(0).next(0, null)).toBeNull();
  });
});
