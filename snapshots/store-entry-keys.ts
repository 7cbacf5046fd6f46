/**
 * The snapshot table's keys (ordered-binary arrays, so no separator character can clash with a
 * key): [slot, 'm'] → slot meta; [slot, 'e', ident, store, key] → one entry (a key of 64+ units
 * holding a unit 0-4 as parts of 63 after `store`: see entryKey), and the ranges that select
 * a slot's or a plugin's entries. Pure: LMDB's own key order comes in as `compare`.
 */

/** Slots are numbered 0…MAX_SLOTS-1 (generations kept). */
export const MAX_SLOTS = 16;

export type SnapshotKey = [number, 'm'] | [number, 'e', string, string, string];
/** Where one reader's share of a slot's entries begins or ends (slotCuts). */
export type SlotCut = SnapshotKey;

/** Entries per plugin ident and container name, as a slot's meta record gives them (PluginRecord.entries). */
export type SlotSizes = Readonly<Record<string, Readonly<Record<string, number>> | undefined>>;

/** A slot's containers in LMDB's key order, with their sizes; null when a size is missing or not a count. */
export function containersInKeyOrder(
  slot: number,
  sizes: SlotSizes,
  compare: (a: SnapshotKey, b: SnapshotKey) => number,
): { start: SlotCut; n: number }[] | null {
  const out: { start: SlotCut; n: number }[] = [];
  for (const [ident, entries] of Object.entries(sizes)) {
    if (entries === undefined) return null;
    for (const [store, n] of Object.entries(entries)) {
      if (!Number.isSafeInteger(n) || n < 0) return null;
      out.push({ start: [slot, 'e', ident, store] as unknown as SlotCut, n });
    }
  }
  return out.sort((a, b) => compare(a.start, b.start));
}

export const metaKey = (slot: number): SnapshotKey => [slot, 'm'];

/**
 * LMDB's key encoding (ordered-binary) escapes UTF-16 units 0-4 only in strings of fewer than 64
 * units; in a longer one a unit 0 ends the string on reading (it separates a key's parts), so
 * such a key came back cut short after a restart, and two keys differing after it became one.
 * A key of 64 or more units holding one is stored as parts of 63 units after the store name,
 * each escaped as a short string is; the reader joins the parts (entryKeyOf). Other keys are
 * stored as one part, as they always were.
 */
const PART = 63;
// biome-ignore lint/suspicious/noControlCharactersInRegex: the units ordered-binary escapes are the point
const LOW_UNIT = /[\u0000-\u0004]/;

export function entryKey(slot: number, ident: string, store: string, key: string): SnapshotKey {
  if (key.length <= PART || !LOW_UNIT.test(key)) return [slot, 'e', ident, store, key];
  const parts: string[] = [];
  for (let at = 0; at < key.length; at += PART) parts.push(key.slice(at, at + PART));
  return [slot, 'e', ident, store, ...parts] as unknown as SnapshotKey;
}

/** The entry key a stored key holds: its one part, or its parts joined; not a string when a part is not one. */
export function entryKeyOf(k: readonly unknown[]): unknown {
  if (k.length <= 5) return k[4];
  let key = '';
  for (let i = 4; i < k.length; i++) {
    const part = k[i];
    if (typeof part !== 'string') return part;
    key += part;
  }
  return key;
}
// A prefix sorts before everything it starts; `ident + \u0001` sorts after every [ident, …].
export const pluginRange = (slot: number, ident: string) => ({
  start: [slot, 'e', ident] as unknown as SnapshotKey,
  end: [slot, 'e', `${ident}\u0001`] as unknown as SnapshotKey,
});
export const slotEntries = (slot: number) => ({
  start: [slot, 'e'] as unknown as SnapshotKey,
  end: [slot, 'e\u0001'] as unknown as SnapshotKey,
});

/** One entry of a slot into its plugin's count: value bytes plus the UTF-8 bytes of its key's parts. */
export function tallyEntry(
  out: Record<string, { entries: number; bytes: number }>,
  key: SnapshotKey,
  value: Uint8Array,
): void {
  const [, , ident, store] = key as [number, 'e', string, string, string];
  const k = entryKeyOf(key as unknown[]);
  const s = (out[ident] ??= { entries: 0, bytes: 0 });
  s.entries++;
  s.bytes += value.byteLength + Buffer.byteLength(ident) + Buffer.byteLength(store) + Buffer.byteLength(String(k));
}
