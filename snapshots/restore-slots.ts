/** Which slots restore may read, newest generation first, and the refusal of a newer build's generations. */
import { StatscacheError } from '../actors/errors.js';
import { decodeChecked } from './codec.js';
import { FORMAT_VERSION, metaProblem, newerFormatOf, type SnapshotMeta } from './format.js';
import type { DataStore } from './lmdb-store.js';

export interface Fallback {
  readonly slot: number;
  readonly generation: number | null;
  readonly reason: string;
}

/** A generation a newer statscache wrote, in a snapshot format this one cannot read. */
export interface NewerGeneration {
  readonly slot: number;
  /** Its generation number; +Infinity when its meta record gives none this build reads. */
  readonly generation: number;
  readonly format: number;
}

/**
 * Stops a start (and `journal replay`) on a data dir that a newer statscache wrote last: a
 * generation in a newer format above the newest one this build reads. Falling back past it,
 * as past damage, served the older state (or none: empty plugins, ready) and the next snapshots
 * overwrote the newer build's generations. One below a readable generation is history (an
 * older state imported over it by this version): that start goes on.
 */
export function refuseNewerFormat(newer: readonly NewerGeneration[], newestReadable: number | null): void {
  const above = newer.filter((n) => newestReadable === null || n.generation > newestReadable);
  if (above.length === 0) return;
  const which = above
    .map(
      (n) =>
        `generation ${Number.isFinite(n.generation) ? n.generation : '?'} (slot ${n.slot}) is in snapshot format ${n.format}`,
    )
    .join('; ');
  throw new StatscacheError(
    'SC_SNAPSHOT_TOO_NEW',
    `the data dir was written by a newer statscache: ${which}, and this one reads format ${FORMAT_VERSION}; refusing to start rather than read it wrongly or overwrite it (run the newer statscache, or import an export with this version: statscache snapshot import)`,
  );
}

/**
 * Slots whose meta record reads, newest generation first, those whose does not, and those a
 * newer statscache wrote (newer, also listed in fallbacks). The first candidate is what restore
 * tries first (and what the start-up check streams ahead: check-and-read.ts).
 */
export function slotCandidates(store: DataStore): {
  candidates: { slot: number; meta: SnapshotMeta }[];
  fallbacks: Fallback[];
  newer: NewerGeneration[];
} {
  const fallbacks: Fallback[] = [];
  const candidates: { slot: number; meta: SnapshotMeta }[] = [];
  const newer: NewerGeneration[] = [];
  for (const slot of store.slots()) {
    try {
      const value = decodeChecked(store.readSlotMeta(slot) as Uint8Array);
      const format = newerFormatOf(value);
      if (format !== null) {
        const generation = (value as Record<string, unknown>)['generation'];
        newer.push({
          slot,
          format,
          generation:
            typeof generation === 'number' && !Number.isNaN(generation) ? generation : Number.POSITIVE_INFINITY,
        });
      }
      const problem = metaProblem(value);
      if (problem) throw new Error(problem);
      candidates.push({ slot, meta: value as SnapshotMeta });
    } catch (err) {
      fallbacks.push({ slot, generation: null, reason: `meta record: ${(err as Error).message}` });
    }
  }
  candidates.sort((a, b) => b.meta.generation - a.meta.generation);
  return { candidates, fallbacks, newer };
}
