import type { ChangeSet, KeyedStore } from '../actors/keyed-store.js';
import type { PluginRuntime } from '../actors/plugin-runtime.js';
import { encodeChecked } from './codec.js';
import { FORMAT_VERSION, type PluginRecord, type PublisherTable, type SnapshotMeta } from './format.js';
import type { DataStore } from './lmdb-store.js';
import type { RestoreReport } from './restore.js';

export interface SnapshotReport {
  readonly generation: number;
  readonly slot: number;
  readonly journalSeq: number;
  readonly durationMs: number;
  readonly written: number;
  readonly removed: number;
  readonly bytes: number;
}

/** Where the state stands when a snapshot is cut, read inside the write transaction. */
export interface Position {
  readonly journalSeq: number;
  readonly newestTimestamp: number;
  readonly publishers: PublisherTable;
}

export interface SnapshotterOptions {
  /** Generations kept: each lives in its own slot, written in turn. */
  readonly slots: number;
  readonly now: () => number;
  /** The state the plugins hold: journalSeq is the last journal entry they have applied. */
  readonly position: () => Position;
}

interface Container {
  readonly name: string;
  readonly store: KeyedStore<unknown>;
  /** Keys changed since the last snapshot (one Set.add per write on the hot path). */
  readonly changes: ChangeSet;
  /** Keys changed in recent generations → the newest generation that changed them. */
  readonly pending: Map<string, number>;
}

/**
 * Writes snapshots into N rotating slots, so the last N generations stay readable: if the
 * newest is damaged, restore falls back to the one before it and the journal replays the
 * rest. Each slot is updated incrementally with the keys changed since that slot was last
 * written, in one LMDB transaction; changes are read inside the transaction callback so the
 * values written are one consistent point in time.
 */
export class Snapshotter {
  private readonly tracked: { runtime: PluginRuntime; containers: Container[] }[];
  private generation: number;
  /** `${slot}\0${ident}` pairs that must be rewritten whole (stale or migrated). */
  private readonly rewrite = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  private lastSeq = -1;

  constructor(
    runtimes: readonly PluginRuntime[],
    private readonly store: DataStore,
    private readonly options: SnapshotterOptions,
    restored: Pick<RestoreReport, 'meta' | 'migrated' | 'retained'>,
  ) {
    this.generation = restored.meta?.generation ?? 0;
    this.tracked = runtimes.map((runtime) => ({
      runtime,
      containers: [
        { name: 'rows', store: runtime.state.rows as KeyedStore<unknown> },
        ...Object.entries(runtime.state.stores).map(([name, store]) => ({ name, store })),
      ].map((c) => ({ ...c, changes: c.store.track(), pending: new Map<string, number>() })),
    }));
    for (let slot = 0; slot < options.slots; slot++) {
      for (const { runtime } of this.tracked) {
        // Other slots hold older generations (or nothing): their next write must be whole.
        if (slot !== restored.meta?.slot || restored.migrated.includes(runtime.ident)) this.rewrite.add(`${slot}\u0000${runtime.ident}`);
      }
    }
    this.retained = restored.retained;
    this.slotGeneration = Array.from({ length: options.slots }, (_, slot) => (slot === restored.meta?.slot ? restored.meta.generation : 0));
  }

  /** The generation last written into each slot: a slot gets the keys changed after it. */
  private readonly slotGeneration: number[];

  private readonly retained: Readonly<Record<string, PluginRecord>>;

  /** Takes a snapshot; calls are serialised so two never interleave. */
  take(): Promise<SnapshotReport> {
    const next = this.chain.then(() => this.write());
    this.chain = next.catch(() => undefined);
    return next;
  }

  get currentGeneration(): number {
    return this.generation;
  }

  private async write(): Promise<SnapshotReport> {
    const started = performance.now();
    const position = this.options.position();
    // Nothing happened since the last snapshot: the newest generation on disk is still exact.
    if (this.generation > 0 && position.journalSeq === this.lastSeq && this.tracked.every((t) => t.containers.every((c) => c.changes.size === 0))) {
      return { generation: this.generation, slot: this.generation % this.options.slots, journalSeq: position.journalSeq, durationMs: 0, written: 0, removed: 0, bytes: 0 };
    }
    const generation = this.generation + 1;
    const slot = generation % this.options.slots;
    let written = 0;
    let removed = 0;
    let bytes = 0;
    let journalSeq = 0;
    const rewritten: string[] = [];
    {
      await this.store.writeSnapshot((batch) => {
        const at = this.options.position();
        journalSeq = at.journalSeq;
        const plugins: Record<string, PluginRecord> = { ...this.retained };
        for (const { runtime, containers } of this.tracked) {
          const whole = this.rewrite.has(`${slot}\u0000${runtime.ident}`);
          if (whole) {
            batch.clear(slot, runtime.ident);
            rewritten.push(`${slot}\u0000${runtime.ident}`);
          }
          for (const { name, store, changes, pending } of containers) {
            // Stamped inside the transaction: if it fails, the stamps stay and the retry writes them.
            for (const key of changes) pending.set(key, generation);
            changes.clear();
            const since = this.slotGeneration[slot] ?? 0;
            const keys = whole ? [...store.keys()] : [...pending].filter(([, g]) => g > since).map(([k]) => k);
            for (const key of keys) {
              const value = store.get(key);
              if (value === undefined) {
                batch.remove(slot, runtime.ident, name, key);
                removed++;
              } else {
                const encoded = encodeChecked(value);
                bytes += encoded.byteLength;
                batch.put(slot, runtime.ident, name, key, encoded);
                written++;
              }
            }
          }
          plugins[runtime.ident] = {
            version: runtime.plugin.version,
            rows: runtime.state.rows.size,
            stores: containers.map((c) => c.name),
            entries: Object.fromEntries(containers.map((c) => [c.name, c.store.size])),
            lastMessageAt: runtime.state.counters.lastMessageAt,
          };
        }
        const meta: SnapshotMeta = {
          format: FORMAT_VERSION,
          generation,
          slot,
          takenAt: this.options.now(),
          journalSeq: at.journalSeq,
          newestTimestamp: at.newestTimestamp,
          publishers: at.publishers,
          plugins,
        };
        batch.putMeta(slot, encodeChecked(meta));
      });
    }
    this.generation = generation;
    this.slotGeneration[slot] = generation;
    // Every slot has what changed up to the oldest slot's generation: forget those stamps.
    const oldest = Math.min(...this.slotGeneration);
    for (const { containers } of this.tracked) for (const { pending } of containers) for (const [k, g] of pending) if (g <= oldest) pending.delete(k);
    this.lastSeq = journalSeq;
    for (const r of rewritten) this.rewrite.delete(r);
    return { generation, slot, journalSeq, durationMs: performance.now() - started, written, removed, bytes };
  }
}
