/**
 * Reading a slot's entries for restore: from the store, or as the start-up check's child read
 * them ahead; with the checks and the words both make of an entry that cannot be restored.
 */
import { StatscacheError } from '../actors/errors.js';
import type { LoadedState } from '../actors/plugin-runtime.js';
import { ChecksumError, checksumProblem, decodeVerified } from './codec.js';
import { KeyShare } from './key-share.js';
import type { DataStore } from './lmdb-store.js';

/**
 * A slot's entries read ahead of restore by the start-up check's child (check-and-read.ts),
 * checksums verified there; per plugin whose entries could not be read, why (the message
 * readStored would give).
 */
export interface PrereadSlot {
  readonly slot: number;
  readonly generation: number;
  readonly plugins: ReadonlyMap<string, LoadedState>;
  readonly unreadable: ReadonlyMap<string, string>;
}

export function fromPreread(preread: PrereadSlot, ident: string): LoadedState {
  const problem = preread.unreadable.get(ident);
  if (problem !== undefined) throw new StatscacheError('SC_SNAPSHOT_UNREADABLE', problem);
  return preread.plugins.get(ident) ?? { rows: { keys: [], values: [] }, stores: {} };
}

/**
 * Keys and values side by side, filled as read (a Map per container cost a hash and its growth
 * per entry, twice over with the load): here and by the start-up check's stream reader.
 */
export interface Filling {
  readonly keys: string[];
  readonly values: unknown[];
}

export function readStored(ident: string, slot: number, store: DataStore): LoadedState {
  const rows: Filling = { keys: [], values: [] };
  const stores: Record<string, Filling> = {};
  let keyShare = new KeyShare();
  let sharing = 'rows';
  store.forEachEntry(slot, ident, (name, key, bytes, size) => {
    let value: unknown;
    try {
      // The checks the start-up check's stream child makes, then the decode it leaves to us.
      const problem = storedEntryProblem(key, bytes, size);
      if (problem !== null) throw problem;
      value = decodeVerified(bytes, size);
    } catch (err) {
      throw new StatscacheError('SC_SNAPSHOT_UNREADABLE', entryUnreadable(slot, ident, name, key, err as Error), {
        cause: err,
      });
    }
    // LMDB hands a plugin's entries in key order, store by store, each key once: no lookup needed.
    if (name !== sharing) {
      keyShare = new KeyShare();
      sharing = name;
    }
    keyShare.share(key, value);
    const into = name === 'rows' ? rows : (stores[name] ??= { keys: [], values: [] });
    into.keys.push(key);
    into.values.push(value);
  });
  return { rows, stores };
}

/**
 * Why an entry of a slot cannot be restored, in the words restore's fallback reports: read here
 * and by the start-up check's stream child (slot-stream.ts), which must say the same.
 */
export function entryUnreadable(slot: number, ident: string, store: string, key: unknown, problem: Error): string {
  return `slot ${slot}, plugin "${ident}", store "${store}", key ${JSON.stringify(key)}: ${problem.message}`;
}

/** What is wrong with an entry as stored (its key's type, its value's checksum), or null: restore's checks before it decodes. */
export function storedEntryProblem(key: unknown, bytes: Uint8Array, size: number): Error | null {
  // Only a tampered file holds one: the snapshotter writes string keys.
  if (typeof key !== 'string') return new Error('the key is not a string');
  const problem = checksumProblem(bytes, size);
  return problem === null ? null : new ChecksumError(problem);
}
