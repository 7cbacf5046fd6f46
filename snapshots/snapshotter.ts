import type { ChangeCursor } from '../actors/change-log.js';
import type { PluginRuntime } from '../actors/plugin-runtime.js';
import type { SnapshotCut } from '../actors/snapshot-cut.js';
import { encodeChecked } from './codec.js';
import { FORMAT_VERSION, type PluginRecord, type SnapshotMeta } from './format.js';
import type { DataStore, SlotCut } from './lmdb-store.js';
import type { NotLoadedMark } from './not-loaded.js';
import type { RestoreReport } from './restore.js';
import { NewestGeneration, nothingWritten } from './newest-generation.js';
import { SnapshotCancelledError } from './snapshot-cancelled.js';
import { Pacer } from './snapshot-pacer.js';
import { encodedValue, recordOf } from './snapshot-record.js';
import type { Position, SnapshotReport, SnapshotterOptions } from './snapshotter-options.js';

export { SnapshotCancelledError } from './snapshot-cancelled.js';
export type { Position, SnapshotReport, SnapshotterOptions } from './snapshotter-options.js';

/** Entries removed per LMDB call when a slot is cleared, so clearing is paced like writing. */
const CLEAR_STEP = 64;

/**
 * Writes snapshots into N rotating slots, so the last N generations stay readable: if the
 * newest is damaged, restore falls back to the one before it and the journal replays the
 * rest. Each slot is updated incrementally with the keys changed since that slot was last
 * written (each slot is a reader of every plugin's change log), in one LMDB transaction.
 *
 * The state is cut at one instant (the position and every plugin's copy-on-write cut are
 * taken in the same turn), then encoded and written in bounded chunks that yield to the
 * event loop, so a large snapshot never holds it for more than about `chunkMs`: messages go
 * on being applied meanwhile and the cut still answers with the values of its instant. The
 * LMDB transaction stays open across those turns, so a crash at any point leaves the slot
 * as it was (crash consistency is unchanged); journal appends queued meanwhile commit with it.
 */
export class Snapshotter {
  /**
   * Per plugin: one change-log reader per slot, and the log position of the last cut. A slot
   * whose next write is whole has none until that write's cut: a reader held from start-up
   * would make the log keep every write of the replay for a slot that never reads them.
   */
  private readonly tracked: { runtime: PluginRuntime; slots: (ChangeCursor | null)[] }[];
  private generation: number;
  /** `${slot}\0${ident}` pairs that must be rewritten whole (stale or migrated). */
  private readonly rewrite = new Set<string>();
  private chain: Promise<unknown> = Promise.resolve();
  /** Set by cancel(): no snapshot is written from now on. */
  private cancelled = false;

  constructor(
    runtimes: readonly PluginRuntime[],
    private readonly store: DataStore,
    private readonly options: SnapshotterOptions,
    restored: Pick<RestoreReport, 'meta' | 'migrated' | 'retained' | 'retainedSlot'> &
      Partial<Pick<RestoreReport, 'restored'>>,
  ) {
    this.generation = restored.meta?.generation ?? 0;
    this.newest = NewestGeneration.restored(runtimes, restored, options.slots);
    // Other slots hold older generations (or nothing): their next write must be whole.
    const whole = (slot: number, ident: string) => slot !== restored.meta?.slot || restored.migrated.includes(ident);
    this.tracked = runtimes.map((runtime) => ({
      runtime,
      slots: Array.from({ length: options.slots }, (_, slot) =>
        whole(slot, runtime.ident) ? null : runtime.openReader(),
      ),
    }));
    for (let slot = 0; slot < options.slots; slot++) {
      for (const { runtime } of this.tracked)
        if (whole(slot, runtime.ident)) this.rewrite.add(`${slot}\u0000${runtime.ident}`);
    }
    this.retained = restored.retained;
    const from = restored.retainedSlot ?? restored.meta?.slot;
    this.retainedFrom = Object.keys(this.retained).length > 0 && from !== undefined ? from : null;
    if (this.retainedFrom !== null) this.retainedCopied.add(this.retainedFrom);
  }

  /** Plugins not loaded now: their records go into every generation as restored, never changed. */
  private readonly retained: Readonly<Record<string, PluginRecord>>;
  /** The slot holding the retained plugins' entries (restored from), or null when none is retained. */
  private retainedFrom: number | null;
  /**
   * Slots whose entries of the retained plugins are those of retainedFrom. Any other slot holds
   * theirs from an older generation (or none): its next write copies them from retainedFrom once.
   */
  private readonly retainedCopied = new Set<number>();

  /**
   * Loaded plugins whose state stops short of the journal position written (a start-up catch-up
   * not done yet: src/catch-up.ts), with where it stops: their records carry it, so a start
   * after a stop meanwhile goes on from there.
   */
  private readonly behind = new Map<string, NotLoadedMark>();
  /** The newest generation on disk, restored or written, when it can still be exact (newest-generation.ts). */
  private newest: NewestGeneration | null;

  /** Where a loaded plugin's state stops while it is caught up; null once it holds every record written. */
  hold(ident: string, mark: NotLoadedMark | null): void {
    if (mark === null) this.behind.delete(ident);
    else this.behind.set(ident, mark);
  }

  /**
   * Takes a snapshot; calls are serialised so two never interleave. `writeUnchanged`, asked
   * only when nothing changed since the last one (in turn, after any snapshot queued before):
   * true writes a generation all the same (journal retention waits on an older one).
   */
  take(options: { readonly writeUnchanged?: () => boolean } = {}): Promise<SnapshotReport> {
    const next = this.chain.then(() => this.write(options.writeUnchanged));
    this.chain = next.catch(() => undefined);
    return next;
  }

  get currentGeneration(): number {
    return this.generation;
  }

  /**
   * For good (the service is closing): the snapshot being written stops at its next chunk
   * boundary, its transaction aborted, and every snapshot not yet begun is refused; each rejects
   * with SnapshotCancelledError. A large state's snapshot takes many turns, which close() waited
   * out in full, only to close the store after it.
   */
  cancel(): void {
    this.cancelled = true;
  }

  /** The newest generation on disk (written or restored) when nothing happened since: it is still exact; else null. */
  private unchanged(position: Position): NewestGeneration | null {
    const newest = this.newest;
    if (newest?.generation !== this.generation) return null;
    return newest.holds(this.tracked, position, this.retained, this.behind) ? newest : null;
  }

  private async write(writeUnchanged?: () => boolean): Promise<SnapshotReport> {
    if (this.cancelled) throw new SnapshotCancelledError();
    const started = performance.now();
    const position = this.options.position();
    const exact = this.unchanged(position);
    if (exact !== null && writeUnchanged?.() !== true) return nothingWritten(this.generation, exact.slot, position);
    const turnClock = this.options.turnClock ?? (() => performance.now());
    const cutStarted = turnClock();
    const generation = this.generation + 1;
    const slot = generation % this.options.slots;
    // The cut: position and every plugin's state at this one instant (no await before it).
    const cuts = this.tracked.map(({ runtime, slots }) => {
      const cut = runtime.cut();
      // Opened at the cut (the same turn: its position is the cut's), for the next write of this slot.
      const cursor = slots[slot] ?? (slots[slot] = runtime.openReader());
      const from = cursor.position;
      const whole = this.rewrite.has(`${slot}\u0000${runtime.ident}`) || !cut.covers(from);
      if (!whole) cut.pin(from);
      return { runtime, cut, from, whole };
    });
    // Where plugins being caught up stand, as of the cut: the write below yields, and the
    // catch-up goes on meanwhile.
    const behind = new Map(this.behind);
    const cutMs = turnClock() - cutStarted;
    let written = 0;
    let removed = 0;
    let bytes = 0;
    /** The meta this snapshot writes, once built: what the next one compares against once it is committed. */
    const built: { meta?: SnapshotMeta } = {};
    const rewritten: string[] = [];
    const copyFrom = this.retainedFrom !== null && !this.retainedCopied.has(slot) ? this.retainedFrom : null;
    const pacer = new Pacer(this.options, () => this.cancelled);
    try {
      await this.store.writeSnapshot(async (batch) => {
        pacer.start();
        const plugins: Record<string, PluginRecord> = { ...this.retained };
        // The records above describe the retained plugins' entries in retainedFrom: this slot gets those, as stored.
        if (copyFrom !== null) {
          for (const ident of Object.keys(this.retained)) {
            let n: number;
            while ((n = batch.clearSome(slot, ident, CLEAR_STEP)) > 0) if (pacer.due(n)) await pacer.yield();
            let step: { n: number; last: SlotCut | null } = { n: 0, last: null };
            do {
              step = batch.copySome(copyFrom, slot, ident, step.last, CLEAR_STEP);
              written += step.n;
              if (pacer.due(step.n)) await pacer.yield();
            } while (step.n > 0);
          }
        }
        for (const { runtime, cut, from, whole } of cuts) {
          if (whole) {
            let n: number;
            while ((n = batch.clearSome(slot, runtime.ident, CLEAR_STEP)) > 0) if (pacer.due(n)) await pacer.yield();
            rewritten.push(`${slot}\u0000${runtime.ident}`);
          }
          for (const { store, key, value } of whole ? cut.whole() : cut.changed(from)) {
            if (value === undefined) {
              batch.remove(slot, runtime.ident, store, key);
              removed++;
            } else {
              const encoded = encodedValue(runtime.ident, store, key, value);
              bytes += encoded.byteLength;
              batch.put(slot, runtime.ident, store, key, encoded);
              written++;
            }
            if (pacer.due()) await pacer.yield();
          }
          plugins[runtime.ident] = recordOf(runtime, cut, behind.get(runtime.ident));
        }
        const meta: SnapshotMeta = {
          format: FORMAT_VERSION,
          generation,
          slot,
          takenAt: this.options.now(),
          journalSeq: position.journalSeq,
          newestTimestamp: position.newestTimestamp,
          publishers: position.publishers,
          plugins,
          ...(position.keyBudget ? { keyBudget: position.keyBudget } : {}),
        };
        batch.putMeta(slot, encodeChecked(meta));
        built.meta = meta;
        pacer.end();
      });
    } finally {
      for (const { cut } of cuts) cut.close();
    }
    // Committed: this slot now holds every change up to each cut; a failed write leaves the cursors for the retry.
    for (const [i, t] of this.tracked.entries()) {
      const cut = (cuts[i] as { cut: SnapshotCut }).cut;
      t.runtime.advanceReader(t.slots[slot] as ChangeCursor, cut.position);
    }
    this.generation = generation;
    const positions = cuts.map(({ cut }) => cut.position);
    this.newest = built.meta === undefined ? null : NewestGeneration.written(built.meta, positions);
    for (const r of rewritten) this.rewrite.delete(r);
    if (copyFrom !== null) {
      this.retainedCopied.add(slot);
      // The copy is exact, so it serves as the source from now on: the slot restored from may be
      // one past a lowered --snapshot-generations, which goes after this snapshot (retireSlots).
      this.retainedFrom = slot;
    }
    return {
      generation,
      slot,
      journalSeq: position.journalSeq,
      durationMs: performance.now() - started,
      written,
      removed,
      bytes,
      yields: pacer.yields,
      longestTurnMs: Math.max(pacer.longest, cutMs),
      cutMs,
    };
  }
}
