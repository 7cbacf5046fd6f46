import type { ChangeSet, KeyedStore } from '../actors/keyed-store.js';
import type { PluginRuntime } from '../actors/plugin-runtime.js';
import { encode } from './codec.js';
import { FORMAT_VERSION, type PluginRecord, type SnapshotMeta } from './format.js';
import { MAX_ENTRY_KEY_BYTES, type SnapshotStore } from './lmdb-store.js';

export interface SnapshotReport {
  readonly generation: number;
  readonly durationMs: number;
  readonly written: number;
  readonly removed: number;
  readonly bytes: number;
  /** Entries left out because their key is too long for LMDB. */
  readonly skipped: number;
}

interface Tracked {
  readonly runtime: PluginRuntime;
  readonly containers: readonly { readonly name: string; readonly store: KeyedStore<unknown>; readonly changes: ChangeSet }[];
}

/**
 * Writes what changed since the last snapshot, for every plugin, in one LMDB transaction.
 * Change sets are drained inside the transaction callback, so the values written are one
 * consistent point in time; if the transaction fails the keys go back into the change sets.
 */
export class Snapshotter {
  private readonly tracked: Tracked[];
  private generation: number;
  private readonly rewrite: Set<string>;
  private chain: Promise<unknown> = Promise.resolve();

  constructor(
    runtimes: readonly PluginRuntime[],
    private readonly store: SnapshotStore,
    private readonly now: () => number,
    previous: SnapshotMeta | null,
    /** Plugins whose whole state must be rewritten (after a migration or a fresh start). */
    rewrite: Iterable<string>,
    private readonly retained: Readonly<Record<string, PluginRecord>> = {},
  ) {
    this.generation = previous?.generation ?? 0;
    this.rewrite = new Set(rewrite);
    this.tracked = runtimes.map((runtime) => {
      const containers = [
        { name: 'rows', store: runtime.state.rows as KeyedStore<unknown> },
        ...Object.entries(runtime.state.stores).map(([name, store]) => ({ name, store })),
      ].map((c) => ({ ...c, changes: c.store.track() }));
      if (this.rewrite.has(runtime.ident)) for (const c of containers) c.store.touchAll();
      return { runtime, containers };
    });
  }

  /** Takes a snapshot; calls are serialised so two never interleave. */
  take(): Promise<SnapshotReport> {
    const next = this.chain.then(() => this.write());
    this.chain = next.catch(() => undefined);
    return next;
  }

  private async write(): Promise<SnapshotReport> {
    const started = performance.now();
    const idle = this.generation > 0 && this.rewrite.size === 0 && this.tracked.every((t) => t.containers.every((c) => c.changes.size === 0));
    // Nothing changed since the last snapshot: the one on disk is still exact.
    if (idle) return { generation: this.generation, durationMs: performance.now() - started, written: 0, removed: 0, bytes: 0, skipped: 0 };
    let written = 0;
    let removed = 0;
    let bytes = 0;
    let skipped = 0;
    const drained: { changes: ChangeSet; keys: string[] }[] = [];
    const generation = this.generation + 1;
    const rewrite = new Set(this.rewrite);
    try {
      await this.store.write((batch) => {
        const plugins: Record<string, PluginRecord> = { ...this.retained };
        for (const { runtime, containers } of this.tracked) {
          if (rewrite.has(runtime.ident)) batch.clear(runtime.ident);
          for (const { name, store, changes } of containers) {
            const keys = [...changes];
            changes.clear();
            drained.push({ changes, keys });
            for (const key of keys) {
              if (Buffer.byteLength(key) > MAX_ENTRY_KEY_BYTES) {
                skipped++;
                continue;
              }
              const value = store.get(key);
              if (value === undefined) {
                batch.remove(runtime.ident, name, key);
                removed++;
              } else {
                const encoded = encode(value);
                bytes += encoded.byteLength;
                batch.put(runtime.ident, name, key, encoded);
                written++;
              }
            }
          }
          plugins[runtime.ident] = { version: runtime.plugin.version, rows: runtime.state.rows.size, stores: containers.map((c) => c.name) };
        }
        const meta: SnapshotMeta = { format: FORMAT_VERSION, generation, takenAt: this.now(), plugins };
        batch.putMeta(encode(meta));
      });
    } catch (err) {
      for (const { changes, keys } of drained) for (const k of keys) changes.add(k);
      throw err;
    }
    this.generation = generation;
    for (const ident of rewrite) this.rewrite.delete(ident);
    return { generation, durationMs: performance.now() - started, written, removed, bytes, skipped };
  }
}
