/** The pacing of a snapshot's write: bounded chunks of work, each ending in a yield to the event loop. */
import { SnapshotCancelledError } from './snapshot-cancelled.js';
import type { SnapshotterOptions } from './snapshotter-options.js';

/**
 * A chunk's time budget. With the HTTP answers, the messages and any young-generation GC that
 * share its turn, 5 ms chunks made turns of 15-30 ms at 1 M keys; 2 ms leaves room for those
 * within a 10 ms stall. Yielding costs a setImmediate, so smaller chunks add little time.
 */
const DEFAULT_CHUNK_MS = 2;
const DEFAULT_CHUNK_ENTRIES = 2048;
/** Entries between two reads of the clock. */
const CLOCK_EVERY = 8;

/** Counts work and yields to the event loop when a chunk's budget is spent. */
export class Pacer {
  private n = 0;
  private unchecked = 0;
  private since = performance.now();
  private turnStart = 0;
  private readonly clock: () => number;
  yields = 0;
  /** Longest turn of snapshot work seen so far (ms, by turnClock). */
  longest = 0;

  constructor(
    private readonly options: Pick<SnapshotterOptions, 'chunkMs' | 'chunkEntries' | 'onYield' | 'turnClock'>,
    /** Whether the snapshot is to be given up: asked when the event loop hands back a turn. */
    private readonly cancelled: () => boolean = () => false,
  ) {
    this.clock = options.turnClock ?? (() => performance.now());
  }

  /** Adds `count` units of work; true when the caller should `await yield()` now. */
  due(count = 1): boolean {
    this.n += count;
    if (this.n >= (this.options.chunkEntries ?? DEFAULT_CHUNK_ENTRIES)) return true;
    // The clock is read every few entries (an entry costs microseconds), so a chunk overruns its time by little.
    this.unchecked += count;
    if (this.unchecked < CLOCK_EVERY) return false;
    this.unchecked = 0;
    return performance.now() - this.since >= (this.options.chunkMs ?? DEFAULT_CHUNK_MS);
  }

  /** A turn of snapshot work starts now (the write transaction's callback, or after a yield). */
  start(): void {
    this.n = 0;
    this.unchecked = 0;
    this.since = performance.now();
    this.turnStart = this.clock();
  }

  /** The current turn of snapshot work ends here (a yield, or the last chunk). */
  end(): void {
    this.longest = Math.max(this.longest, this.clock() - this.turnStart);
  }

  /**
   * Ends the chunk and hands the event loop a turn. Rejects with SnapshotCancelledError when the
   * snapshot was cancelled meanwhile (a close() runs in some other turn, so this is where it is seen).
   */
  async yield(): Promise<void> {
    this.end();
    this.yields++;
    this.options.onYield?.();
    await new Promise<void>((resolve) => setImmediate(resolve));
    if (this.cancelled()) throw new SnapshotCancelledError();
    this.start();
  }
}
