import type { PluginRuntime } from '../actors/plugin-runtime.js';
import { FORMAT_VERSION, type PluginRecord, type SnapshotMeta } from './format.js';
import type { NotLoadedMark } from './not-loaded.js';
import type { RestoreReport } from './restore.js';
import { recordOf } from './snapshot-record.js';
import type { Position, SnapshotReport } from './snapshotter-options.js';
import { stableJson } from './stable-json.js';

/**
 * The newest generation on disk, restored or written by this run, for as long as it is still
 * exactly the state: then a snapshot has nothing to write, and reports that generation. Without
 * it, each start's first snapshot (the final one of a start and stop with nothing new) wrote a
 * new generation into the next slot, whose content this run does not know, so whole: 284
 * entries for the 510 fixtures on every restart, the whole state at 1 M keys.
 *
 * A restore qualifies only when it loaded every plugin from that generation's slot unchanged (no
 * plugin new to the data dir, none migrated, the slot one still kept under the configured
 * --snapshot-generations, which retirement would remove). After it, or after a write, the state
 * is that generation's while no plugin's change log moved (replay, catch-up, rows dropped or
 * evicted at start, messages) and the meta a snapshot would write now equals its meta but for
 * the generation, slot and time: plugin records (versions, shapes, counts, health, a plugin
 * taken out of the config marked not loaded, one being caught up marked where it stops), the
 * journal position, publishers, watermark and key budget. Everything a start reads of a
 * generation is then the same as in the one it would write; the older takenAt keeps covering
 * what the state holds (nothing was taken in since).
 *
 * A written one is compared so too, not by the positions alone: records change with neither
 * moving. A catch-up's last records may be ones its plugin takes no change from (its mark goes),
 * and the key budget's check once recovery is done moves where the next check falls: skipped,
 * the restart restored the older records (test/snapshots/unchanged-records.test.ts).
 */
export class NewestGeneration {
  /** What holds() compares, as text: made once, not at every snapshot that finds the positions still. */
  private readonly was: string;

  private constructor(
    meta: SnapshotMeta,
    /** Each runtime's change-log position when the generation was restored or cut. */
    private readonly positions: readonly number[],
  ) {
    this.generation = meta.generation;
    this.slot = meta.slot;
    this.journalSeq = meta.journalSeq;
    this.was = comparable(meta);
  }

  readonly generation: number;
  readonly slot: number;
  private readonly journalSeq: number;

  /** The generation restored, taken right after the restore, before anything is applied; null when none qualifies. */
  static restored(
    runtimes: readonly PluginRuntime[],
    restored: Pick<RestoreReport, 'meta' | 'migrated'> & Partial<Pick<RestoreReport, 'restored'>>,
    slots: number,
  ): NewestGeneration | null {
    const { meta, restored: loaded } = restored;
    if (meta === null || loaded === undefined || meta.slot < 0 || meta.slot >= slots || restored.migrated.length > 0)
      return null;
    // `journal replay` rebuilds the plugins from empty on a restored meta: none is in `restored`.
    if (!runtimes.every((r) => Object.hasOwn(loaded, r.ident))) return null;
    return new NewestGeneration(
      meta,
      runtimes.map((r) => r.position),
    );
  }

  /** The generation a snapshot of this run committed: its meta, and each runtime's position at its cut. */
  static written(meta: SnapshotMeta, positions: readonly number[]): NewestGeneration {
    return new NewestGeneration(meta, positions);
  }

  /**
   * Whether a snapshot now would hold exactly what this generation holds. Called inside the
   * snapshotter's serialised write, so no other cut is open on the change logs meanwhile. The
   * journal position and the change logs are read first: while messages come in, one of them
   * has moved and no record is built.
   */
  holds(
    tracked: readonly { readonly runtime: PluginRuntime }[],
    position: Position,
    retained: Readonly<Record<string, PluginRecord>>,
    behind: ReadonlyMap<string, NotLoadedMark>,
  ): boolean {
    if (position.journalSeq !== this.journalSeq) return false;
    const runtimes = tracked.map((t) => t.runtime);
    if (!runtimes.every((r, i) => r.position === this.positions[i])) return false;
    const plugins: Record<string, PluginRecord> = { ...retained };
    for (const runtime of runtimes) {
      const cut = runtime.cut();
      try {
        plugins[runtime.ident] = recordOf(runtime, cut, behind.get(runtime.ident));
      } finally {
        cut.close();
      }
    }
    const now = {
      format: FORMAT_VERSION,
      journalSeq: position.journalSeq,
      newestTimestamp: position.newestTimestamp,
      publishers: position.publishers,
      plugins,
      keyBudget: position.keyBudget,
    };
    return comparable(now) === this.was;
  }
}

/** The meta's fields a snapshot written now would carry over, as text (a falsy keyBudget: none written). */
function comparable(
  meta: Pick<SnapshotMeta, 'format' | 'journalSeq' | 'newestTimestamp' | 'publishers' | 'plugins'> & {
    readonly keyBudget?: unknown;
  },
): string {
  const text = stableJson({
    format: meta.format,
    journalSeq: meta.journalSeq,
    newestTimestamp: meta.newestTimestamp,
    publishers: meta.publishers,
    plugins: meta.plugins,
    keyBudget: meta.keyBudget ? meta.keyBudget : undefined,
  });
  // An object always has a text; undefined is for undefined alone.
  return text ?? '';
}

/** The report of a snapshot that found the newest generation on disk still exact: nothing written. */
export function nothingWritten(generation: number, slot: number, position: Position): SnapshotReport {
  return { generation, slot, journalSeq: position.journalSeq, durationMs: 0, written: 0, removed: 0, bytes: 0 };
}
