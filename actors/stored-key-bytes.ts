/** The longest key a container takes, in the bytes it costs in a snapshot's LMDB key: apart from KeyedStore as the snapshot's encoding, not the store, sets it. */

/** Longest key in bytes: snapshots store keys in LMDB, whose limit (1978 bytes) includes a prefix. */
export const MAX_KEY_BYTES = 1800;

export class KeyTooLongError extends Error {}

// biome-ignore lint/suspicious/noControlCharactersInRegex: the units the snapshot's key encoding doubles are the point
const LOW_UNIT = /[\u0000-\u0004]/g;
/** Units per stored part of a key holding a low unit (snapshots/lmdb-store.ts, entryKey). */
const PART = 63;

/**
 * Bytes a key takes in a snapshot's LMDB key, at most: its UTF-8 bytes, plus, when it holds a unit
 * 0-4, one escape byte per such unit and a separator per 63-unit part (ordered-binary's encoding,
 * snapshots/lmdb-store.ts). Counting UTF-8 alone let a key of 1,790 units 0x01 pass as 1,790 bytes
 * and take 3,683 in LMDB: every snapshot failed while the key was kept.
 */
export function storedKeyBytes(key: string): number {
  const utf8 = Buffer.byteLength(key);
  const low = key.match(LOW_UNIT)?.length ?? 0;
  return low === 0 ? utf8 : utf8 + low + Math.ceil(key.length / PART);
}
