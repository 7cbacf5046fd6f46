/**
 * When a worker thread that failed, hung or exited is started afresh (the AMQP prepare thread:
 * amqp-prepare-thread.ts): after a wait doubling from RESTART_FIRST_MS to RESTART_MAX_MS, at
 * most `max` times in a row. A thread that dies again at once (a delivery that kills it each
 * time, a module that no longer loads) is not started for good, and its work costs the main
 * thread meanwhile; past the bound it stays there, as a failure did before restarts.
 */
import { backoffStep } from './amqp-timing.js';

/** The first wait: long enough that a thread dying as it starts costs little, short enough to heal soon. */
export const RESTART_FIRST_MS = 1000;
export const RESTART_MAX_MS = 60_000;

/**
 * A thread that served this long before it failed starts the row again: a failure after ten
 * quiet minutes is a new one, not the last one again (a service up for months would otherwise
 * use its bound up on failures weeks apart).
 */
export const STEADY_MS = 10 * 60_000;

export class ThreadRestarts {
  private inRow = 0;

  /** `max`: --amqp-thread-restarts (0: never). */
  constructor(readonly max: number) {}

  /** Fresh threads started since the last that served STEADY_MS (the one being waited for included). */
  get attempt(): number {
    return this.inRow;
  }

  /**
   * After a failure at `now` of a thread serving since `upAt` (null: it never was; both on the
   * service's clock): how long until the next fresh thread, or null when the bound is reached.
   */
  next(now: number, upAt: number | null): number | null {
    if (upAt !== null && now - upAt >= STEADY_MS) this.inRow = 0;
    if (this.inRow >= this.max) return null;
    this.inRow++;
    return backoffStep(this.inRow, RESTART_FIRST_MS, RESTART_MAX_MS);
  }
}
