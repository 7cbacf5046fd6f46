import type { UpdateHealth } from './lifecycle.js';
import type { Row } from './row-store.js';
import { RuntimeReads } from './runtime-reads.js';
import { SnapshotCut } from './snapshot-cut.js';

/** One container's entries as a restore read them: keys and values side by side (no Map to fill and then copy). */
export interface LoadedEntries {
  readonly keys: readonly string[];
  readonly values: readonly unknown[];
}

/** A plugin's stored state as load() takes it. */
export interface LoadedState {
  readonly rows: LoadedEntries;
  readonly stores: Readonly<Record<string, LoadedEntries>>;
}

/**
 * The runtime's snapshot hooks: the cut a snapshot writes from, the health restored with it,
 * load() for a restore, and what a restore enforces of settings lowered since (rows dated
 * ahead, retention).
 */
export class RuntimeSnapshots extends RuntimeReads {
  /** A point-in-time view of the state for a snapshot, valid over several event-loop turns until closed. */
  cut(): SnapshotCut {
    const last = this.state.counters.lastMessageAt;
    const ahead = Number.isFinite(this.clock) && (last === null || this.clock > last) ? this.clock : null;
    return new SnapshotCut(this.ident, this.log, this.state.rows, this.state.stores, last, ahead, this.health);
  }

  /** Update errors in a row and any quarantine: restored with the state, so a restart resumes them. */
  get health(): UpdateHealth {
    return { failures: this.failures, quarantinedUntil: this.quarantinedUntil };
  }

  /**
   * Replaces the state with a stored one (restore): readers start over. `expiredTo`: the message
   * time expiry had reached when it was ahead of `lastMessageAt` (see SnapshotCut). `health`:
   * the update errors in a row and quarantine when it was written (a record from before they
   * were kept has none: healthy).
   */
  load(
    stored: LoadedState,
    lastMessageAt: number | null,
    expiredTo: number | null = null,
    health: UpdateHealth | null = null,
  ): void {
    this.state.rows.loadAll(stored.rows.keys, stored.rows.values as readonly Row[]);
    for (const [name, entries] of Object.entries(stored.stores)) {
      // A store the plugin no longer declares: a migration should have dropped it.
      this.state.stores[name]?.loadAll(entries.keys, entries.values);
    }
    this.state.counters.lastMessageAt = lastMessageAt;
    this.clock = Math.max(expiredTo ?? Number.NEGATIVE_INFINITY, lastMessageAt ?? Number.NEGATIVE_INFINITY);
    this.failures = health?.failures ?? 0;
    this.quarantinedUntil = health?.quarantinedUntil ?? null;
    this.lifecycle.send(this.quarantinedUntil === null ? 'release' : 'quarantine');
    this.log.reset();
  }

  /** Deletes rows dated after `cutoff` (recorded in the log, so snapshots drop them too). */
  dropRowsAfter(cutoff: number): number {
    return this.state.rows.evictAfter(cutoff);
  }

  /**
   * Evicts rows older than the retention behind the newest row, as each applied message does
   * (recorded in the log, so snapshots drop them too): restored under a retention lowered since
   * they were written, they were served, and counted in the digest, until the plugin's next
   * message, where a replica fed the same messages with that retention never had them.
   */
  enforceRetention(): number {
    const retention = this.plugin.retentionSeconds;
    const top = this.state.rows.newestTimestamp;
    if (retention === null || top === undefined) return 0;
    const evicted = this.state.rows.evictBefore(top - retention);
    this.state.counters.evicted += evicted;
    return evicted;
  }
}
