import type { KeyedStore } from './keyed-store.js';
import type { PluginState } from './runtime-state.js';
import { RuntimeSnapshots } from './runtime-snapshots.js';
import { WindowedCounter } from './windowed-counter.js';

/**
 * The runtime's key cap, and the extra stores' undo scope it is checked in: each message opens
 * the scope with every store's size noted, and one that grew a store past the cap is taken back.
 * Rows and windowed counters are cut down to the cap instead (evictToCap).
 */
export class RuntimeKeyCap extends RuntimeSnapshots {
  /** Each extra store's size when the current message began: a store over the cap may not grow. */
  protected readonly sizesBefore: number[] = this.storeList.map(() => 0);

  // ── key cap ────────────────────────────────────────────────────────────────────

  /**
   * Holds every container to `cap` (at most maxKeys; Infinity lifts it) from now on, and cuts
   * rows and windowed counters down to it at once, committed outside any message as expiry is;
   * other stores stop growing. Returns the entries evicted.
   */
  limitKeys(cap: number): number {
    this.cap = Math.min(this.maxKeys, cap);
    return this.evictToCap();
  }

  /**
   * Cuts rows and windowed counters down to the key cap, as each applied message does: restored
   * under a --plugin-max-keys lowered since they were written, they were held whole until the
   * plugin's next message. Other stores cannot give way; they stop growing (storeOverCap).
   */
  enforceKeyCap(): number {
    return this.evictToCap();
  }

  // ── the per-message path ───────────────────────────────────────────────────────

  /** Each extra store opens the message's undo scope, its size noted for storeOverCap(). */
  protected beginStores(): void {
    for (let i = 0; i < this.storeList.length; i++) {
      const s = this.storeList[i] as KeyedStore<unknown>;
      this.sizesBefore[i] = s.size;
      s.beginMessage();
    }
  }

  protected endStores(): void {
    for (const s of this.storeList) s.endMessage();
  }

  protected rollbackAll(state: PluginState): void {
    state.rows.rollback();
    for (const s of this.storeList) s.rollback();
  }

  /**
   * Rows past the cap lose their oldest; a windowed counter past it forgets its oldest slices
   * (storeOverCap() let it through only if that suffices): the cost is the entries forgotten,
   * each once, as with expiry.
   */
  protected evictToCap(): number {
    const { rows, counters } = this.state;
    let evicted = 0;
    if (rows.size > this.cap) evicted += rows.evictOldest(rows.size - this.cap);
    for (let i = 0; i < this.windowed.length; i++) {
      const c = this.windowed[i] as WindowedCounter;
      if (c.size > this.cap) evicted += c.evictOldestSlices(this.cap);
    }
    counters.capEvicted += evicted;
    return evicted;
  }

  /**
   * Whether the message must be dropped for the key cap: it grew a store past it, other than a
   * windowed counter whose older slices can make room (one whose newest slice alone exceeds the
   * cap cannot). A store already past a lowered cap (limitKeys()) still takes messages that add
   * no key, or a full key budget would freeze every count it holds.
   */
  protected storeOverCap(): boolean {
    for (let i = 0; i < this.storeList.length; i++) {
      const s = this.storeList[i] as KeyedStore<unknown>;
      if (s.size <= this.cap || s.size <= (this.sizesBefore[i] as number)) continue;
      if (!(s instanceof WindowedCounter) || s.newestSliceSize > this.cap) return true;
    }
    return false;
  }
}
