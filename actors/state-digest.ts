/**
 * An order-independent fingerprint of a plugin's state: the XOR of a 64-bit hash of every
 * (container, key, value) it holds. A write XORs the old entry's hash out and the new one's in
 * (lazily for overwrites: see StateDigest), so the digest costs O(size of one value) per key
 * written per epoch, and a read folds at most FOLD_AFTER pending keys. Through restore and
 * replay it is deferred instead: writes go unhashed, and each entry is hashed once at the end
 * (defer()). Replicas fed the same messages hold the same entries,
 * whatever order or batching they were applied in, so equal digests mean equal state (up to
 * 2^-64 collisions) and unequal digests are divergence worth an alert. Entries are hashed
 * structurally (digest-hash.ts).
 */

import { hashEntry, hashEntryParts, la, lb } from './digest-hash.js';
import type { EntryWalk } from './entry-walk.js';
import { SEP } from './row-key.js';

/**
 * Keys overwritten since the last fold: a plugin writes the same few keys many times (a
 * counter per bucket), so the digest hashes a key's old value when it is first overwritten in
 * an epoch and its current value when the epoch is folded, not the old and new value of every
 * write. A new key is hashed in with no lookup (it has no old value, and most keys are written
 * once), when the container's next new key is written or at the fold (StateDigest.heldKey).
 */
const FOLD_AFTER = 4096;

/** The entries a deferred digest is rebuilt from: a walk of the container's own (entry-walk.ts). */
export type DigestSource = () => EntryWalk;

export class StateDigest {
  /**
   * Held as signed 32-bit values (what XOR gives) and made unsigned only when read: stored
   * `>>> 0`, half of them are over 2^31, which made fold()'s optimized code deoptimize on every
   * call ("lost precision", the OSR code kept and re-entered) and boxed the fields as doubles.
   */
  private hiValue = 0;
  private loValue = 0;
  /**
   * While set, writes are not hashed at all: the digest is rebuilt from the entries, once, by
   * settleSome() or on the first read. Restore and replay write each key of a large state once
   * or a few times and nobody reads the digest meanwhile, so one hash per entry at the end
   * replaces one or two per write.
   */
  private deferredFrom: DigestSource | null = null;
  /** A settle in progress: its entries so far, and how many writes there had been when it began. */
  private settling: { entries: EntryWalk; hi: number; lo: number; writes: number } | null = null;
  /** Writes while deferred: a settle spread over turns starts over when one lands between its steps. */
  private deferredWrites = 0;
  /** Container number mixed into every entry's hash (the runtime's change-log number). */
  private container = 0;
  /**
   * Key → slot of its hash before its first overwrite in this epoch (0, 0 for a key written new
   * in it: overwriteHeld). Invariant: every key neither pending nor held has its current value's
   * hash in hiValue/loValue; a pending key has its old one, or none; the held key none.
   */
  private readonly pending = new Map<string, number>();
  /** Slots handed out this epoch (a key deleted while pending frees its entry, not its slot). */
  private slots = 0;
  private oldHi = new Uint32Array(64);
  private oldLo = new Uint32Array(64);
  /** Each pending key's value now (never undefined: a deleted key leaves `pending`). */
  private current: unknown[] = new Array(64).fill(undefined);
  /** Each pending key as first written this epoch: later writes of it hand that string to the change log. */
  private keys: string[] = new Array(64).fill('');
  /**
   * The key of the last overwrite and its slot (a pending key). Most overwrites rewrite the key
   * the one before wrote (of the 18.6 overwrites a fixture message makes over the built-ins,
   * 12.5: a plugin's messages are applied back to back, each bumping the same bucket's
   * counter), and a string compare is cheaper than the pending map's lookup, which hashes a
   * key made afresh for the write and whose table a trickle's batch finds cold in cache.
   */
  private lastKey = '';
  /** lastKey's slot, or -1 for none (lastKey stays a string: the compare is one of strings, inlined). */
  private lastSlot = -1;
  /**
   * lastKey as `String(lastTs)` U+001F `lastRest` when the write that made it the last came
   * through touchSplit() (NaN otherwise): the next split write of it is found by its parts.
   */
  private lastTs = Number.NaN;
  private lastRest = '';
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
  private heldKey = '';
  private heldValue: unknown = undefined;
  /**
   * The held key in parts, `String(heldTs)` U+001F `heldRest`, when touchSplit() held it (heldKey
   * is '' then); NaN when heldKey is the key. A grouped row's new key is then never made: its
   * hash feeds the two parts (hashEntryParts), as a settle's walk does.
   */
  private heldTs = Number.NaN;
  private heldRest = '';
  /** The last `String(ts)` U+001F hashHeld() or touchSplit() made, and its ts: a plugin's new keys share its newest bucket's. */
  private headTs = Number.NaN;
  private head = '';

  get hi(): number {
    this.settleSome(Number.POSITIVE_INFINITY);
    this.fold();
    return this.hiValue >>> 0;
  }

  get lo(): number {
    this.settleSome(Number.POSITIVE_INFINITY);
    this.fold();
    return this.loValue >>> 0;
  }

  /** Whether writes go unhashed until a settle (see defer()). */
  get deferred(): boolean {
    return this.deferredFrom !== null;
  }

  /** Changes the container number; entries hashed so far keep theirs (fold first). */
  setContainer(container: number): void {
    if (this.deferredFrom === null) this.fold();
    this.container = container;
  }

  /** Stops hashing writes; the digest is rebuilt from `source` by settleSome() or on the next read. */
  defer(source: DigestSource): void {
    this.fold();
    this.deferredFrom = source;
    this.settling = null;
  }

  /**
   * Hashes up to `budget` entries of a deferred digest (a settle spread over event-loop turns);
   * true once it is up to date. A write between two steps starts the settle over: the entries
   * already hashed may be the ones it changed.
   */
  settleSome(budget: number): boolean {
    const source = this.deferredFrom;
    if (source === null) return true;
    let run = this.settling;
    if (run === null || run.writes !== this.deferredWrites) {
      run = { entries: source(), hi: 0, lo: 0, writes: this.deferredWrites };
      this.settling = run;
    }
    for (let n = 0; n < budget; n++) {
      const walk = run.entries;
      if (!walk.step()) {
        this.deferredFrom = null;
        this.settling = null;
        this.hiValue = run.hi;
        this.loValue = run.lo;
        return true;
      }
      if (walk.value === undefined) continue;
      hashEntryParts(this.container, walk.head, walk.rest, walk.value);
      run.hi ^= lb;
      run.lo ^= la;
    }
    return false;
  }

  /**
   * Call on every change of `key` from `previous` to `next` (undefined: absent). Returns the
   * string to record the write under: `key`, or for a key rewritten in this epoch the string it
   * was first written with, so a counter bumped on every message keeps one key string alive in
   * the change log, not one per write (each of which the GC would otherwise copy and promote).
   * While deferred, always `key`: that bookkeeping is the pending map's, which a deferred digest
   * does not keep (tried: 1% fewer instructions per replayed message, 394 k against 399 k, and
   * no difference in replay time).
   */
  touch(key: string, previous: unknown, next: unknown): string {
    if (this.deferredFrom !== null) {
      this.deferredWrites++;
      return key;
    }
    if (next === undefined) {
      this.touchRemoval(key, previous);
      return key;
    }
    if (previous === undefined) {
      // A new key (never pending: a delete takes a key out) stays out of `pending`: most keys
      // are written once (a bucket's row, a restored entry), and for them the one hash it gets
      // when the next new key comes is all there is to do. Written again before that, it enters
      // `pending` with nothing hashed (overwriteHeld); after, as any key whose hash is in.
      if (this.heldValue !== undefined) this.hashHeld();
      this.heldKey = key;
      this.heldTs = Number.NaN;
      this.heldValue = next;
      return key;
    }
    const last = this.lastSlot;
    if (key === this.lastKey && last >= 0) {
      this.current[last] = next;
      return this.keys[last] as string;
    }
    if (previous === this.heldValue && this.isHeld(key)) return this.overwriteHeld(key, next);
    const pending = this.pending;
    const at = pending.get(key);
    if (at !== undefined) {
      this.current[at] = next;
      this.lastKey = key;
      this.lastSlot = at;
      this.lastTs = Number.NaN;
      return this.keys[at] as string;
    }
    if (this.slots >= FOLD_AFTER) this.fold();
    const slot = this.slots++;
    if (slot === this.oldHi.length) this.grow();
    hashEntry(this.container, key, previous);
    this.oldHi[slot] = lb;
    this.oldLo[slot] = la;
    this.current[slot] = next;
    this.keys[slot] = key;
    pending.set(key, slot);
    this.lastKey = key;
    this.lastSlot = slot;
    this.lastTs = Number.NaN;
    return key;
  }

  /**
   * touch() of the key `String(ts)` U+001F `rest` written to `next` (not undefined; `ts` a number,
   * not NaN), with the key made only when a pending key must be looked up by it: a row grouped by
   * timestamp written new, or rewritten as the last write was, needs no key string (a write's
   * key made and flattened to be hashed was ~230 bytes of garbage a message over the built-ins).
   */
  touchSplit(ts: number, rest: string, previous: unknown, next: unknown): void {
    if (this.deferredFrom !== null) {
      this.deferredWrites++;
      return;
    }
    if (previous === undefined) {
      if (this.heldValue !== undefined) this.hashHeld();
      this.heldKey = '';
      this.heldTs = ts;
      this.heldRest = rest;
      this.heldValue = next;
      return;
    }
    const last = this.lastSlot;
    if (last >= 0 && this.lastTs === ts && this.lastRest === rest) {
      this.current[last] = next;
      return;
    }
    const key = this.headFor(ts) + rest;
    // The held key's first overwrite found by its parts (a bucket's row opened by one message and
    // bumped by the next), without touch() comparing the key made now with them.
    if (previous === this.heldValue && this.heldTs === ts && this.heldRest === rest) this.overwriteHeld(key, next);
    else this.touch(key, previous, next);
    // Either left that key as the last, with its slot.
    this.lastTs = ts;
    this.lastRest = rest;
  }

  /** Whether `key` is the held key (held whole or in parts). */
  private isHeld(key: string): boolean {
    const ts = this.heldTs;
    if (Number.isNaN(ts)) return key === this.heldKey;
    const rest = this.heldRest;
    const head = this.headFor(ts);
    return key.length === head.length + rest.length && key.startsWith(head) && key.endsWith(rest);
  }

  /** `String(ts)` U+001F, kept for the last ts asked. */
  private headFor(ts: number): string {
    // -0 and 0 share a head: String() writes both "0".
    if (ts !== this.headTs) {
      this.head = String(ts) + SEP;
      this.headTs = ts;
    }
    return this.head;
  }

  /** The first overwrite of the held key: it enters `pending` with no hash to take out at the fold (none went in). */
  private overwriteHeld(key: string, next: unknown): string {
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
  private hashHeld(): void {
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
  private forgetLast(): void {
    this.lastKey = '';
    this.lastSlot = -1;
    this.lastTs = Number.NaN;
    this.lastRest = '';
  }

  /** Call when `key` is deleted, with its value then: its entry leaves the digest at once. */
  touchRemoval(key: string, previous: unknown): void {
    if (previous === undefined) return;
    if (this.deferredFrom !== null) {
      this.deferredWrites++;
      return;
    }
    if (previous === this.heldValue && this.isHeld(key)) {
      // Never hashed in: nothing to take out (left held, it would be hashed in later to cancel
      // a toggle out now: two hashes for nothing).
      this.heldValue = undefined;
      this.heldKey = '';
      this.heldTs = Number.NaN;
      this.heldRest = '';
      return;
    }
    if (this.pending.size > 0) {
      const at = this.pending.get(key);
      if (at !== undefined) {
        // The digest still holds the hash from before the key's first overwrite: that goes.
        this.hiValue ^= this.oldHi[at] as number;
        this.loValue ^= this.oldLo[at] as number;
        this.current[at] = undefined;
        this.pending.delete(key);
        this.forgetLast();
        return;
      }
    }
    this.toggle(this.container, key, previous);
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

  private grow(): void {
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

/** 16 lowercase hex digits: the XOR of the containers' digests. */
export function formatDigest(parts: readonly StateDigest[]): string {
  let hi = 0;
  let lo = 0;
  for (const p of parts) {
    hi ^= p.hi;
    lo ^= p.lo;
  }
  return (hi >>> 0).toString(16).padStart(8, '0') + (lo >>> 0).toString(16).padStart(8, '0');
}
