/** What a Snapshotter is given (the slots, clocks, pacing and where the state stands) and what a snapshot reports. */
import type { KeyBudgetRecord } from '../actors/key-budget.js';
import type { PublisherTable } from './format.js';

export interface SnapshotReport {
  readonly generation: number;
  readonly slot: number;
  readonly journalSeq: number;
  readonly durationMs: number;
  readonly written: number;
  readonly removed: number;
  readonly bytes: number;
  /** Times the snapshot yielded to the event loop between chunks. */
  readonly yields?: number;
  /** Longest stretch of snapshot work in one event-loop turn (ms): the cut, a chunk, or the last chunk. */
  readonly longestTurnMs?: number;
  /** The cut (position and every plugin's copy-on-write cut, one turn), ms. */
  readonly cutMs?: number;
}

/** Where the state stands when a snapshot is cut, read inside the write transaction. */
export interface Position {
  readonly journalSeq: number;
  readonly newestTimestamp: number;
  readonly publishers: PublisherTable;
  /** The key budget's state at this point (PluginHost.keyBudgetRecord), or null without one. */
  readonly keyBudget?: KeyBudgetRecord | null;
}

export interface SnapshotterOptions {
  /** Generations kept: each lives in its own slot, written in turn. */
  readonly slots: number;
  readonly now: () => number;
  /** The state the plugins hold: journalSeq is the last journal entry they have applied. */
  readonly position: () => Position;
  /** Longest stretch of snapshot work in one event-loop turn (ms) before it yields. Default 2. */
  readonly chunkMs?: number;
  /** Most entries encoded, written or cleared between two yields. Default 2048. */
  readonly chunkEntries?: number;
  /** Called at each yield between chunks (tests count them). */
  readonly onYield?: () => void;
  /**
   * Clock (ms) that times the turns reported in longestTurnMs; default performance.now. The
   * bench passes the process's CPU time, so preemption on a loaded machine is not counted.
   */
  readonly turnClock?: () => number;
}
