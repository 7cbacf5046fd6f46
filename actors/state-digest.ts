/**
 * An order-independent fingerprint of a plugin's state: the XOR of a 64-bit hash of every
 * (container, key, value) it holds. A write XORs the old entry's hash out and the new one's in
 * (lazily for overwrites: see digest-epoch.ts), so the digest costs O(size of one value) per key
 * written per epoch, and a read folds at most FOLD_AFTER pending keys. Through restore and
 * replay it is deferred instead: writes go unhashed, and each entry is hashed once at the end
 * (defer()). Replicas fed the same messages hold the same entries,
 * whatever order or batching they were applied in, so equal digests mean equal state (up to
 * 2^-64 collisions) and unequal digests are divergence worth an alert. Entries are hashed
 * structurally (digest-hash.ts).
 */

import { DigestEpoch, FOLD_AFTER } from './digest-epoch.js';
import { hashEntry, hashEntryParts, hashEntryUnits, la, lb } from './digest-hash.js';
import type { EntryWalk } from './entry-walk.js';

/** The entries a deferred digest is rebuilt from: a walk of the container's own (entry-walk.ts). */
export type DigestSource = () => EntryWalk;

export class StateDigest extends DigestEpoch {
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
      if (walk.headUnits >= 0) hashEntryUnits(this.container, walk.units, walk.headUnits, walk.rest, walk.value);
      else hashEntryParts(this.container, walk.head, walk.rest, walk.value);
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
