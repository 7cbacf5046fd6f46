import { setImmediate as yieldToLoop } from 'node:timers/promises';
import { forgetOldest } from '../src/forget-oldest.js';
import { IdFilter } from './id-filter.js';
import type { DataStore } from './lmdb-store.js';

/** Ids read from the index per event-loop turn while a filter fills (~1.5 ms here). */
const BUILD_CHUNK = 2_000;

export interface KnownIdsStats {
  /** New ids the filter settled without reading the id index. */
  filterSkips: number;
  /** Reads of the id index (duplicates, the filter's false positives, and every new id before it is built). */
  indexReads: number;
  /** Filters filled from the index (the first, then one each time the last grew past its size). */
  filterBuilds: number;
  /** Bytes of the filter in use, 0 before the first is built. */
  filterBytes: number;
  /** Builds that could not read the id index: after one, no more are tried (the index answers as before). */
  filterBuildFailures: number;
}

/**
 * Whether a message id was journaled before: the de-duplication authority behind Journal. The
 * newest `window` ids are held in memory; older ones are in the journal's id index in LMDB,
 * which a Bloom filter (id-filter.ts) fronts once built, so a new id (nearly every message)
 * is settled without a B-tree read.
 *
 * The filter must hold every id in the index. It is filled from the index a chunk per turn
 * (build(), which the service starts once live), and every id appended from the moment a
 * build starts goes into it as well; the build first waits for appends already handed to LMDB
 * to commit, so none falls between the two. Ids the journal trims stay in the filter: when it
 * holds more ids than it was sized for, a new one is filled the same way while the old one
 * still answers (it holds a superset, so it is never wrong, only less often useful).
 */
export class KnownIds {
  /** The newest `window` ids, oldest first (forget-oldest.ts says why not `values().next()`). */
  private readonly recent = new Set<string>();
  private filter: IdFilter | null = null;
  /** The filter being filled, if any. */
  private next: IdFilter | null = null;
  private stopped = false;
  readonly stats: KnownIdsStats = {
    filterSkips: 0,
    indexReads: 0,
    filterBuilds: 0,
    filterBytes: 0,
    filterBuildFailures: 0,
  };

  constructor(
    private readonly store: Pick<DataStore, 'seqOfId' | 'idsAfter' | 'idCount'>,
    private readonly window: number,
    /** Settles once every append handed to LMDB so far is committed (Journal.flush). */
    private readonly committed: () => Promise<void>,
    /** Ids read from the index per turn while a filter fills. */
    private readonly chunk = BUILD_CHUNK,
  ) {}

  has(id: string): boolean {
    if (this.recent.has(id)) return true;
    const filter = this.filter;
    if (filter !== null && !filter.mightHold(id)) {
      this.stats.filterSkips++;
      return false;
    }
    this.stats.indexReads++;
    return this.store.seqOfId(id) !== undefined;
  }

  /** An id replayed from the journal (its index holds it already). */
  remember(id: string): void {
    this.recent.add(id);
    if (this.recent.size > this.window) forgetOldest(this.recent);
  }

  /** An id being appended to the journal now. */
  appended(id: string): void {
    this.remember(id);
    const filter = this.filter;
    if (filter !== null) {
      filter.add(id);
      if (filter.added > filter.capacity && this.next === null) void this.build();
    }
    this.next?.add(id);
  }

  /**
   * Fills a filter from the id index over many turns, then answers from it. Never rejects: a
   * build that fails (the store closed under it) leaves the previous filter, or none, in use,
   * and is counted; no build is tried after one, or every append past the old filter's size
   * would try again.
   */
  async build(): Promise<void> {
    if (this.next !== null || this.stopped) return;
    let next: IdFilter;
    try {
      // Room for twice the ids indexed now: the journal keeps growing until it trims.
      next = new IdFilter(2 * this.store.idCount());
    } catch {
      this.failed();
      return;
    }
    this.next = next;
    try {
      await this.committed();
      let after: string | undefined;
      for (;;) {
        if (this.stopped) return;
        const ids = this.store.idsAfter(after, this.chunk);
        for (let i = 0; i < ids.length; i++) next.add(ids[i] as string);
        if (ids.length < this.chunk) break;
        after = ids[ids.length - 1];
        await yieldToLoop();
      }
      if (this.stopped) return;
      this.filter = next;
      this.stats.filterBuilds++;
      this.stats.filterBytes = next.bytes;
    } catch {
      // The index could not be read: keep answering as before.
      this.failed();
    } finally {
      this.next = null;
    }
  }

  /** Ends any build: the store is about to close. */
  stop(): void {
    this.stopped = true;
  }

  private failed(): void {
    this.stats.filterBuildFailures++;
    this.stopped = true;
  }
}
