import type { LifecycleState } from './lifecycle.js';

/**
 * update_error: the plugin threw; expired: older than retention; key_cap: it would grow a store
 * (of a windowed counter, its newest slice) past the key cap; key_too_long: it would write a key
 * longer than a snapshot can store (the message's doing, not the plugin's: it never counts
 * towards a quarantine); quarantined: the plugin failed too often in a row; hung: the plugin held
 * this message past --plugin-hang-timeout in an earlier run, which was ended for it (apply-beacon.ts),
 * or two earlier runs died while it applied it (snapshots/applying-mark.ts).
 */
export type DropReason = 'update_error' | 'expired' | 'key_cap' | 'key_too_long' | 'quarantined' | 'hung';

/** What the runtime counts for every plugin, so authors never write that code. */
export interface PluginCounters {
  received: number;
  applied: number;
  dropped: Record<DropReason, number>;
  evicted: number;
  /** Oldest rows, and entries of a windowed counter's oldest slices, removed to keep within the key cap. */
  capEvicted: number;
  /** Entries of expiring stores and windowed counters deleted as message time moved past them. */
  expired: number;
  /** Timestamp of the newest message applied, seconds. */
  lastMessageAt: number | null;
}

/** Everything the edges may know about a plugin's state, read in one call. */
export interface PluginStats {
  readonly counters: Readonly<PluginCounters> & { readonly dropped: Readonly<Record<DropReason, number>> };
  readonly rows: number;
  /** Entries of every container together (rows and extra stores). */
  readonly keys: number;
  readonly newestRow: number | undefined;
  readonly maxKeys: number;
  /** What each container is held to now: maxKeys, or less while the key budget is full. */
  readonly keyCap: number;
  readonly lifecycle: LifecycleState;
  /** Change-log position: moves on every write. */
  readonly position: number;
  /**
   * Order-independent fingerprint of every container's entries: equal on replicas fed the same
   * messages. A getter: bringing it up to date hashes the keys written since the last read, which
   * a `/metrics` scrape, reading everything else here for every plugin, should not pay in one turn.
   */
  readonly digest: string;
}
