import { type SlotCut, type SnapshotKey, entryKey, metaKey, pluginRange } from './store-entry-keys.js';
import type { StoreTables, Table } from './store-tables.js';

/** What a snapshot's fill writes through, inside its one transaction. */
export interface SnapshotBatch {
  putMeta(slot: number, value: Uint8Array): void;
  put(slot: number, ident: string, store: string, key: string, value: Uint8Array): void;
  remove(slot: number, ident: string, store: string, key: string): void;
  /** Removes every entry of one plugin in a slot (before rewriting it whole). */
  clear(slot: number, ident: string): void;
  /** Removes at most `limit` entries of one plugin in a slot; returns how many (0: none left). */
  clearSome(slot: number, ident: string, limit: number): number;
  /**
   * Copies at most `limit` entries of one plugin from slot `from` into slot `to` as stored (key
   * and checksummed value alike), starting after `after` (from its first entry when null).
   * Returns how many, and where the next call starts.
   */
  copySome(
    from: number,
    to: number,
    ident: string,
    after: SlotCut | null,
    limit: number,
  ): { n: number; last: SlotCut | null };
}

/**
 * The writes of one snapshot transaction (SlotWrites.writeSnapshot) on the snapshots table `db`;
 * the slot metas it puts go in `metas`. Each write the fill makes is progress (writesWaiting), told
 * to `moved`: a clock read is ~50 ns, an entry's encoding microseconds.
 */
export function snapshotBatch(
  db: Table<Uint8Array, SnapshotKey>,
  compare: StoreTables['compareKeys'],
  moved: () => void,
  metas: Map<number, Uint8Array>,
): SnapshotBatch {
  return {
    putMeta: (slot, value) => {
      moved();
      // A copy: an encoder may hand out bytes of a buffer it writes into again (msgpackr's pack).
      metas.set(slot, Uint8Array.from(value));
      void db.put(metaKey(slot), value);
    },
    put: (slot, ident, store, key, value) => {
      moved();
      void db.put(entryKey(slot, ident, store, key), value);
    },
    remove: (slot, ident, store, key) => {
      moved();
      void db.remove(entryKey(slot, ident, store, key));
    },
    clear: (slot, ident) => {
      moved();
      for (const key of db.getKeys(pluginRange(slot, ident))) db.remove(key);
    },
    clearSome: (slot, ident, limit) => {
      moved();
      let n = 0;
      for (const key of [...db.getKeys({ ...pluginRange(slot, ident), limit })]) {
        db.remove(key);
        n++;
      }
      return n;
    },
    copySome: (from, to, ident, after, limit) => {
      moved();
      const range = pluginRange(from, ident);
      // The start is inclusive: one more is read, and `after` itself (copied last time) left out.
      const read = [...db.getRange({ start: after ?? range.start, end: range.end, limit: limit + 1 })];
      const next = read.filter(({ key }) => after === null || compare(key, after) !== 0);
      let last: SlotCut | null = after;
      let n = 0;
      for (const { key, value } of next.slice(0, limit)) {
        const parts = [...(key as unknown as unknown[])];
        parts[0] = to;
        void db.put(parts as unknown as SnapshotKey, value);
        last = key;
        n++;
      }
      return { n, last };
    },
  };
}
