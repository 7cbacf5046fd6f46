/**
 * A live state digest's epoch (state-digest.ts): the keys overwritten since the last fold, each
 * with the hash its value had before its first overwrite, and the last new key, held unhashed;
 * fold() brings the digest up to date. StateDigest extends it with the writes (touch,
 * touchSplit, touchRemoval) and the deferred digest of restore and replay.
 */

import { hashEntry, hashEntryParts, la, lb } from './digest-hash.js';
import { SEP } from './row-key.js';

/**
 * Keys overwritten since the last fold: a plugin writes the same few keys many times (a
 * counter per bucket), so the digest hashes a key's old value when it is first overwritten in
 * an epoch and its current value when the epoch is folded, not the old and new value of every
 * write. A new key is hashed in with no lookup (it has no old value, and most keys are written
 * once), when the container's next new key is written or at the fold (DigestEpoch.heldKey).
 */
export const FOLD_AFTER = 4096;

export class DigestEpoch {
  /**
   * Held as signed 32-bit values (what XOR gives) and made unsigned only when read: stored
   * `>>> 0`, half of them are over 2^31, which made fold()'s optimized code deoptimize on every
   * call ("lost precision", the OSR code kept and re-entered) and boxed the fields as doubles.
   */
  protected hiValue = 0;
  protected loValue = 0;
  /** Container number mixed into every entry's hash (the runtime's change-log number). */
  protected container = 0;
  /**
   * Key → slot of its hash before its first overwrite in this epoch (0, 0 for a key written new
   * in it: overwriteHeld). Invariant: every key neither pending nor held has its current value's
   * hash in hiValue/loValue; a pending key has its old one, or none; the held key none.
   */
  protected readonly pending = new Map<string, number>();
  /** Slots handed out this epoch (a key deleted while pending frees its entry, not its slot). */
  protected slots = 0;
  protected oldHi = new Uint32Array(64);
  protected oldLo = new Uint32Array(64);
  /** Each pending key's value now (never undefined: a deleted key leaves `pending`). */
  protected current: unknown[] = new Array(64).fill(undefined);
  /** Each pending key as first written this epoch: later writes of it hand that string to the change log. */
  protected keys: string[] = new Array(64).fill('');
  /**
   * The key of the last overwrite and its slot (a pending key). Most overwrites rewrite the key
   * the one before wrote (of the 18.6 overwrites a fixture message makes over the built-ins,
   * 12.5: a plugin's messages are applied back to back, each bumping the same bucket's
   * counter), and a string compare is cheaper than the pending map's lookup, which hashes a
   * key made afresh for the write and whose table a trickle's batch finds cold in cache.
   */
  protected lastKey = '';
  /** lastKey's slot, or -1 for none (lastKey stays a string: the compare is one of strings, inlined). */
  protected lastSlot = -1;
  /**
   * lastKey as `String(lastTs)` U+001F `lastRest` when the write that made it the last came
   * through touchSplit() (NaN otherwise): the next split write of it is found by its parts.
   */
  protected lastTs = Number.NaN;
  protected lastRest = '';
  /**
   * The last new key written and its value, not yet hashed in (undefined: none held): a key
   * written new is hashed when the next new key of the container is written, or at the fold,
   * and one overwritten before then enters `pending` with nothing to take out. Of the 5.7 new
   * keys a fixture message writes over the built-ins, 2.3 are overwritten so (a bucket's row
   * opened by one message and bumped by the next: a plugin's messages are applied back to
   * back), and each of those was hashed when written and again, at its current value, at the
   * fold. Sound because a stored value is replaced, never mutated in place (keyed-store.ts: a
   * write of the same object skips the digest too): while the key holds `heldValue`, nothing
   * else changed it.
   */
  protected heldKey = '';
  protected heldValue: unknown = undefined;
  /**
   * The held key in parts, `String(heldTs)` U+001F `heldRest`, when touchSplit() held it (heldKey
   * is '' then); NaN when heldKey is the key. A grouped row's new key is then never made: its
   * hash feeds the two parts (hashEntryParts), as a settle's walk does.
   */
  protected heldTs = Number.NaN;
  protected heldRest = '';
  /** The last `String(ts)` U+001F hashHeld() or touchSplit() made, and its ts: a plugin's new keys share its newest bucket's. */
  private headTs = Number.NaN;
  private head = '';

  /** Whether `key` is the held key (held whole or in parts). */
  protected isHeld(key: string): boolean {
    const ts = this.heldTs;
    if (Number.isNaN(ts)) return key === this.heldKey;
    const rest = this.heldRest;
    const head = this.headFor(ts);
    return key.length === head.length + rest.length && key.startsWith(head) && key.endsWith(rest);
  }

  /** `String(ts)` U+001F, kept for the last ts asked. */
  protected headFor(ts: number): string {
    // -0 and 0 share a head: String() writes both "0".
    if (ts !== this.headTs) {
      this.head = String(ts) + SEP;
      this.headTs = ts;
    }
    return this.head;
  }

  /** The first overwrite of the held key: it enters `pending` with no hash to take out at the fold (none went in). */
  protected overwriteHeld(key: string, next: unknown): string {
    // Let go first: the fold below would hash it in.
    this.heldValue = undefined;
    this.heldKey = '';
    this.heldTs = Number.NaN;
    this.heldRest = '';
    if (this.slots >= FOLD_AFTER) this.fold();
    const slot = this.slots++;
    if (slot === this.oldHi.length) this.grow();
    this.oldHi[slot] = 0;
    this.oldLo[slot] = 0;
    this.current[slot] = next;
    this.keys[slot] = key;
    this.pending.set(key, slot);
    this.lastKey = key;
    this.lastSlot = slot;
    this.lastTs = Number.NaN;
    return key;
  }

  /** The held key's entry into the digest: it is no longer the last new key, or the digest is read. */
  protected hashHeld(): void {
    const ts = this.heldTs;
    if (Number.isNaN(ts)) hashEntry(this.container, this.heldKey, this.heldValue);
    else hashEntryParts(this.container, this.headFor(ts), this.heldRest, this.heldValue);
    this.hiValue ^= lb;
    this.loValue ^= la;
    this.heldValue = undefined;
    this.heldKey = '';
    this.heldTs = Number.NaN;
    this.heldRest = '';
  }

  /** lastSlot is no longer lastKey's: the key left `pending`, or every key did (a fold). */
  protected forgetLast(): void {
    this.lastKey = '';
    this.lastSlot = -1;
    this.lastTs = Number.NaN;
    this.lastRest = '';
  }

  /** XORs the entry in (or out: XOR is its own inverse) at once. Undefined values are absent entries. */
  toggle(container: number, key: string, value: unknown): void {
    if (value === undefined) return;
    hashEntry(container, key, value);
    this.hiValue ^= lb;
    this.loValue ^= la;
  }

  /** Brings the digest up to date: the held key's hash in, each overwritten key's old hash out and its current one in. */
  fold(): void {
    if (this.heldValue !== undefined) this.hashHeld();
    if (this.slots === 0) return;
    foldPending(this.pending, this.oldHi, this.oldLo, this.current, this.container, this.hiValue, this.loValue);
    // Not kept alive until the slots are reused.
    this.current.fill(undefined, 0, this.slots);
    this.keys.fill('', 0, this.slots);
    this.pending.clear();
    this.forgetLast();
    this.slots = 0;
    this.hiValue = foldedHi;
    this.loValue = foldedLo;
  }

  protected grow(): void {
    const hi = new Uint32Array(this.oldHi.length * 2);
    const lo = new Uint32Array(this.oldLo.length * 2);
    hi.set(this.oldHi);
    lo.set(this.oldLo);
    this.oldHi = hi;
    this.oldLo = lo;
    const current = new Array(this.current.length * 2).fill(undefined);
    const keys = new Array(this.keys.length * 2).fill('');
    for (let i = 0; i < this.current.length; i++) {
      current[i] = this.current[i];
      keys[i] = this.keys[i];
    }
    this.current = current;
    this.keys = keys;
  }
}

/** foldPending()'s result (module variables, as digest-hash.ts's la and lb). */
let foldedHi = 0;
let foldedLo = 0;

/**
 * fold()'s loop, on its own and ending in nothing that needs type feedback. A first fold goes
 * over 4,096 keys, so V8 compiles its loop on-stack before the code after the loop has ever
 * run, keeps that code, and enters it again at every later fold: while the code after the loop
 * was in the same function, each fold deoptimized there (8–17 times in 200 k messages of the
 * ingest bench, every time the same code: the only deoptimization that repeated).
 */
function foldPending(
  pending: ReadonlyMap<string, number>,
  oldHi: Uint32Array,
  oldLo: Uint32Array,
  current: readonly unknown[],
  container: number,
  hi: number,
  lo: number,
): void {
  for (const [key, slot] of pending) {
    hi ^= oldHi[slot] as number;
    lo ^= oldLo[slot] as number;
    hashEntry(container, key, current[slot]);
    hi ^= lb;
    lo ^= la;
  }
  foldedHi = hi;
  foldedLo = lo;
}
