/**
 * Damage done to stored snapshot values through LMDB itself (the file stays sound): the
 * snapshot-corruption and check-and-read tests share it.
 */
import { decodeChecked } from '../../snapshots/codec.js';
import type { SnapshotMeta } from '../../snapshots/format.js';
import { DataStore } from '../../snapshots/lmdb-store.js';

// A meta record in a newer snapshot format is not damage but a newer statscache's (a downgrade),
// which a start refuses: test/recovery/newer-format.test.ts.
type Corruption = 'bitflip' | 'truncate' | 'garbage' | 'delete' | 'drop-meta';
const KINDS: Corruption[] = ['bitflip', 'truncate', 'garbage', 'delete', 'drop-meta'];

/** One to five random damages to stored snapshot values and meta records; says what it did. */
export async function corrupt(dir: string, random: () => number): Promise<string[]> {
  const store = new DataStore(dir);
  const done: string[] = [];
  const slots = store.slots();
  // One to five damages per start, often in every generation at once.
  const count = 1 + Math.floor(random() * 5);
  for (let n = 0; n < count; n++) {
    const slot = slots[Math.floor(random() * slots.length)] as number;
    const entries = [...store.slotRaw(slot)];
    const kind = KINDS[Math.floor(random() * KINDS.length)] as Corruption;
    // slotRaw yields the meta record first.
    const target = kind === 'drop-meta' ? entries[0] : entries[Math.floor(random() * entries.length)];
    if (!target) continue;
    const bytes = Buffer.from(target.value);
    switch (kind) {
      case 'bitflip': {
        const at = Math.floor(random() * bytes.length);
        bytes[at] = (bytes[at] as number) ^ (1 << Math.floor(random() * 8));
        await store.putRaw(target.key, bytes);
        break;
      }
      case 'truncate':
        await store.putRaw(target.key, bytes.subarray(0, Math.floor(random() * bytes.length)));
        break;
      case 'garbage':
        await store.putRaw(
          target.key,
          Buffer.from(Array.from({ length: 1 + Math.floor(random() * 64) }, () => Math.floor(random() * 256))),
        );
        break;
      case 'delete':
      case 'drop-meta':
        await store.removeRaw(target.key);
        break;
    }
    done.push(`${kind}@slot${slot}:${JSON.stringify(target.key).slice(0, 80)}`);
  }
  await store.close();
  return done;
}

/**
 * Flips the last byte of one stored entry of `ident` in the newest generation of `dir` (or in
 * `generation`): its checksum fails and restore falls back to an older generation. Returns the
 * damaged generation.
 */
export async function damageNewestGeneration(dir: string, ident: string, generation?: number): Promise<number> {
  const store = new DataStore(dir);
  try {
    const newest = store
      .slots()
      .map((slot) => decodeChecked(store.readSlotMeta(slot) as Uint8Array) as SnapshotMeta)
      .filter((m) => generation === undefined || m.generation === generation)
      .sort((a, b) => b.generation - a.generation)[0];
    if (newest === undefined) throw new Error(`no generation ${generation} in ${dir}`);
    for (const { key, value } of store.slotRaw(newest.slot)) {
      if ((key as unknown[])[1] !== 'e' || (key as unknown[])[2] !== ident) continue;
      const bytes = Buffer.from(value);
      bytes[bytes.length - 1] = (bytes[bytes.length - 1] as number) ^ 0xff;
      await store.putRaw(key, bytes);
      return newest.generation;
    }
    throw new Error(`no ${ident} entry in generation ${newest.generation}`);
  } finally {
    await store.close();
  }
}
