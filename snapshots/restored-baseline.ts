import type { PluginRuntime } from '../actors/plugin-runtime.js';
import { FORMAT_VERSION, type PluginRecord, type SnapshotMeta } from './format.js';
import type { NotLoadedMark } from './not-loaded.js';
import type { RestoreReport } from './restore.js';
import { recordOf } from './snapshot-record.js';
import type { Position, SnapshotReport } from './snapshotter-options.js';
import { stableJson } from './stable-json.js';

/**
 * The generation a start restored, for as long as it is still exactly the state: then a
 * snapshot has nothing to write, and reports that generation as the newest. Without it, each
 * start's first snapshot (the final one of a start and stop with nothing new) wrote a new
 * generation into the next slot, whose content this run does not know, so whole: 284 entries
 * for the 510 fixtures on every restart, the whole state at 1 M keys.
 *
 * Only a restore that loaded every plugin from that generation's slot unchanged qualifies (no
 * plugin new to the data dir, none migrated, the slot one still kept under the configured
 * --snapshot-generations, which retirement would remove). After it, the state is the restored
 * one while no plugin's change log moved (replay, catch-up, rows dropped or evicted at start,
 * messages) and the meta a snapshot would write now equals the restored one but for its
 * generation, slot and time: plugin records (versions, shapes, counts, health, a plugin taken
 * out of the config marked not loaded), the journal position, publishers, watermark and key
 * budget. Everything a start reads of a generation is then the same as in the one it would
 * write; the older takenAt keeps covering what the state holds (nothing was taken in since).
 */
export class RestoredBaseline {
  private constructor(
    private readonly meta: SnapshotMeta,
    /** Each runtime's change-log position right after the restore. */
    private readonly positions: readonly number[],
  ) {}

  /** Taken right after the restore, before anything is applied; null when no restore qualifies. */
  static of(
    runtimes: readonly PluginRuntime[],
    restored: Pick<RestoreReport, 'meta' | 'migrated'> & Partial<Pick<RestoreReport, 'restored'>>,
    slots: number,
  ): RestoredBaseline | null {
    const { meta, restored: loaded } = restored;
    if (meta === null || loaded === undefined || meta.slot < 0 || meta.slot >= slots || restored.migrated.length > 0)
      return null;
    // `journal replay` rebuilds the plugins from empty on a restored meta: none is in `restored`.
    if (!runtimes.every((r) => Object.hasOwn(loaded, r.ident))) return null;
    return new RestoredBaseline(
      meta,
      runtimes.map((r) => r.position),
    );
  }

  get generation(): number {
    return this.meta.generation;
  }

  /**
   * Whether a snapshot now would hold exactly what the restored generation holds. Called inside
   * the snapshotter's serialised write, so no other cut is open on the change logs meanwhile.
   */
  holds(
    tracked: readonly { readonly runtime: PluginRuntime }[],
    position: Position,
    retained: Readonly<Record<string, PluginRecord>>,
    behind: ReadonlyMap<string, NotLoadedMark>,
  ): boolean {
    if (position.journalSeq !== this.meta.journalSeq) return false;
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
      keyBudget: position.keyBudget ? position.keyBudget : undefined,
    };
    const { meta } = this;
    const then = {
      format: meta.format,
      journalSeq: meta.journalSeq,
      newestTimestamp: meta.newestTimestamp,
      publishers: meta.publishers,
      plugins: meta.plugins,
      keyBudget: meta.keyBudget ? meta.keyBudget : undefined,
    };
    return stableJson(now) === stableJson(then);
  }

  get slot(): number {
    return this.meta.slot;
  }
}

/** The report of a snapshot that found the newest generation on disk still exact: nothing written. */
export function nothingWritten(generation: number, slot: number, position: Position): SnapshotReport {
  return { generation, slot, journalSeq: position.journalSeq, durationMs: 0, written: 0, removed: 0, bytes: 0 };
}
