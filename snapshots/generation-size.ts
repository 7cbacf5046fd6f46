import type { DataStore } from './lmdb-store.js';
import type { WalkPacing } from './store-slot-reads.js';

/** Entries and their stored bytes (values plus keys, as DataStore.slotSizes counts them). */
export interface StoredSize {
  readonly entries: number;
  readonly bytes: number;
}

/**
 * What one generation takes on disk, whole: the figure `snapshot list` shows (SIZE, `bytes`)
 * and `snapshot take` reports as `generationBytes`. The take report's own `bytes` is what that
 * snapshot wrote (only the values that changed since its slot was last written, 0 when nothing
 * had), so the two differed for the same generation and an operator could not tell why.
 */
export function generationSize(
  store: Pick<DataStore, 'slotSizes'>,
  slot: number,
): StoredSize & { readonly plugins: Readonly<Record<string, StoredSize>> } {
  return totalled(store.slotSizes(slot));
}

/** generationSize() walked in chunks between which the event loop runs (the service's admin route). */
export async function generationSizePaced(
  store: Pick<DataStore, 'slotSizesPaced'>,
  slot: number,
  pacing: WalkPacing = {},
): Promise<StoredSize> {
  return totalled(await store.slotSizesPaced(slot, pacing));
}

function totalled(
  plugins: Readonly<Record<string, StoredSize>>,
): StoredSize & { readonly plugins: Readonly<Record<string, StoredSize>> } {
  let entries = 0;
  let bytes = 0;
  for (const size of Object.values(plugins)) {
    entries += size.entries;
    bytes += size.bytes;
  }
  return { entries, bytes, plugins };
}
