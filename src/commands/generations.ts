import { decodeChecked } from '../../snapshots/codec.js';
import { metaProblem, type SnapshotMeta } from '../../snapshots/format.js';
import type { DataStore } from '../../snapshots/lmdb-store.js';
import { slotCandidates } from '../../snapshots/restore.js';

export type SlotInfo =
  | { readonly slot: number; readonly ok: true; readonly meta: SnapshotMeta }
  | { readonly slot: number; readonly ok: false; readonly problem: string };

export type Pairs = [key: string, value: unknown][];

export interface PluginState {
  readonly rows: Pairs;
  readonly stores: Record<string, Pairs>;
}

export interface GenerationContent {
  readonly meta: SnapshotMeta;
  readonly plugins: Record<string, PluginState>;
  /** Entries that failed their checksum or decode, and count mismatches; empty for a good generation. */
  readonly errors: string[];
}

/** Every slot with a meta record, decoded and checked, newest generation first (damaged ones last). */
export function listSlots(store: DataStore): SlotInfo[] {
  const out: SlotInfo[] = [];
  for (const slot of store.slots()) {
    try {
      const value = decodeChecked(store.readSlotMeta(slot) as Uint8Array);
      const problem = metaProblem(value);
      out.push(problem ? { slot, ok: false, problem } : { slot, ok: true, meta: value as SnapshotMeta });
    } catch (err) {
      out.push({ slot, ok: false, problem: (err as Error).message });
    }
  }
  return out.sort((a, b) =>
    a.ok && b.ok ? b.meta.generation - a.meta.generation : a.ok ? -1 : b.ok ? 1 : a.slot - b.slot,
  );
}

/**
 * Decodes every entry of a generation, for the given plugins (default: all its meta lists).
 * Nothing throws: what cannot be read is listed in `errors`, as restore would find it.
 */
export function readGeneration(
  store: DataStore,
  slot: number,
  meta: SnapshotMeta,
  only?: readonly string[],
): GenerationContent {
  const plugins: Record<string, PluginState> = {};
  const errors: string[] = [];
  for (const ident of only ?? Object.keys(meta.plugins)) {
    const stored: PluginState = { rows: [], stores: {} };
    store.forEachEntry(slot, ident, (name, key, bytes, size) => {
      let value: unknown;
      try {
        value = decodeChecked(bytes, size);
      } catch (err) {
        errors.push(`plugin "${ident}", store "${name}", key ${JSON.stringify(key)}: ${(err as Error).message}`);
        return;
      }
      (name === 'rows' ? stored.rows : (stored.stores[name] ??= [])).push([key, value]);
    });
    for (const [name, want] of Object.entries(meta.plugins[ident]?.entries ?? {})) {
      const got = name === 'rows' ? stored.rows.length : (stored.stores[name]?.length ?? 0);
      if (got !== want)
        errors.push(`plugin "${ident}", store "${name}": ${got} readable entries, the snapshot wrote ${want}`);
    }
    plugins[ident] = stored;
  }
  return { meta, plugins, errors };
}

/** The newest generation whose meta and every entry read back intact (what restore would use), or null. */
export function newestGood(store: DataStore): { slot: number; content: GenerationContent; skipped: string[] } | null {
  const slots = listSlots(store);
  // An unreadable meta hides its generation, so it may have been the newest: always report it.
  const skipped = slots.flatMap((info) => (info.ok ? [] : [`slot ${info.slot}: ${info.problem}`]));
  for (const info of slots) {
    if (!info.ok) continue;
    const content = readGeneration(store, info.slot, info.meta);
    if (content.errors.length === 0) return { slot: info.slot, content, skipped };
    skipped.push(
      `generation ${info.meta.generation} (slot ${info.slot}): ${content.errors[0]}${content.errors.length > 1 ? ` and ${content.errors.length - 1} more` : ''}`,
    );
  }
  return null;
}

/**
 * The generation number the next write should use: above every readable one, and every one a
 * newer statscache wrote (a start refuses those while they are the newest: restore.ts), so an
 * import with this version is what the next start restores.
 */
export function nextGeneration(store: DataStore): number {
  let max = 0;
  for (const info of listSlots(store)) if (info.ok) max = Math.max(max, info.meta.generation);
  for (const n of slotCandidates(store).newer) if (Number.isFinite(n.generation)) max = Math.max(max, n.generation);
  return max + 1;
}
