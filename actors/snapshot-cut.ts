import type { ChangeLog } from './change-log.js';
import type { KeyedStore } from './keyed-store.js';
import { HEALTHY, type UpdateHealth } from './lifecycle.js';
import type { RowStore, Row } from './row-store.js';

/** One container entry as of the cut; `value` undefined: the key is gone (remove it on disk). */
export interface CutEntry {
  readonly store: string;
  readonly key: string;
  readonly value: unknown;
}

/**
 * A plugin's state frozen at one instant for a snapshot, readable over many event-loop turns
 * while messages keep changing the live state: each container saves a key's value on its
 * first write after the cut (copy-on-write), and the change log is pinned so the keys changed
 * since a slot's cursor stay readable. The snapshotter pulls entries in bounded chunks.
 */
export class SnapshotCut {
  /** Change-log position at the cut: a slot written from this cut has every change before it. */
  readonly position: number;
  /** Container names, `rows` first, in the order of the log's container numbers. */
  readonly stores: readonly string[];
  /** Entries per container at the cut (the snapshot's torn-write check). */
  readonly entries: Readonly<Record<string, number>>;
  private readonly containers: readonly KeyedStore<unknown>[];
  private closed = false;

  constructor(
    readonly ident: string,
    private readonly log: ChangeLog,
    rows: RowStore<Row>,
    stores: Readonly<Record<string, KeyedStore<unknown>>>,
    readonly lastMessageAt: number | null,
    /** Message time expiry reached, when ahead of `lastMessageAt` (the newest messages were dropped); else null. */
    readonly expiredTo: number | null = null,
    /** Update errors in a row and any quarantine, as of the cut. */
    readonly health: UpdateHealth = HEALTHY,
  ) {
    this.position = log.position;
    this.stores = ['rows', ...Object.keys(stores)];
    this.containers = [rows as KeyedStore<unknown>, ...Object.values(stores)];
    this.entries = Object.fromEntries(
      this.stores.map((name, i) => [name, (this.containers[i] as KeyedStore<unknown>).size]),
    );
    for (const c of this.containers) c.openCut();
  }

  get rows(): number {
    return this.entries['rows'] ?? 0;
  }

  /** Whether the log still holds every change since `from` (else the slot needs a whole rewrite). */
  covers(from: number): boolean {
    return this.log.covers(from);
  }

  /** Pins the log from `from` so changed(from) can be read over several turns. */
  pin(from: number): void {
    this.log.pin(from);
  }

  /** Each key changed between `from` and the cut, once, with its value at the cut. Call pin(from) first. */
  *changed(from: number): Generator<CutEntry> {
    const seen = this.containers.map(() => new Set<string>());
    for (let pos = from; pos < this.position; pos++) {
      const container = this.log.containerAt(pos);
      const key = this.log.keyAt(pos);
      if (container === undefined || key === undefined)
        throw new Error(`change log no longer holds position ${pos} (pin it)`);
      const set = seen[container] as Set<string>;
      if (set.has(key)) continue;
      set.add(key);
      yield {
        store: this.stores[container] as string,
        key,
        value: (this.containers[container] as KeyedStore<unknown>).valueAtCut(key),
      };
    }
  }

  /** Every entry of every container as of the cut, walking the live maps (no copy of the key set). */
  *whole(): Generator<CutEntry> {
    for (let i = 0; i < this.containers.length; i++) {
      const c = this.containers[i] as KeyedStore<unknown>;
      const store = this.stores[i] as string;
      // Keys added after the cut have no value at it; keys deleted before the walk reached them come after.
      for (const key of c.keys()) {
        const value = c.valueAtCut(key);
        if (value !== undefined) yield { store, key, value };
      }
      for (const [key, value] of c.deletedSinceCut()) yield { store, key, value };
    }
  }

  close(): void {
    if (this.closed) return;
    this.closed = true;
    for (const c of this.containers) c.closeCut();
    this.log.unpin();
  }
}
