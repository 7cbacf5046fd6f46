import stringify from 'safe-stable-stringify';

/**
 * An order-independent fingerprint of a plugin's state: the XOR of a 64-bit hash of every
 * (container, key, value) it holds. A write XORs the old entry's hash out and the new one's in,
 * so the digest is kept at O(one value's encoding) per write and read for free; a restore
 * rebuilds it through the same path. Replicas fed the same messages hold the same entries,
 * whatever order or batching they were applied in, so equal digests mean equal state (up to
 * 2^-64 collisions) and unequal digests are divergence worth an alert.
 *
 * Values are encoded as canonical JSON (sorted keys, so objects built in another property
 * order hash alike); they are plain data by the plugin contract (snapshots store them).
 */

/** Two 32-bit lanes, since JS bit operations are 32-bit; a digest is (hi, lo). */
export class StateDigest {
  hi = 0;
  lo = 0;

  /** XORs the entry in (or out: XOR is its own inverse). Undefined values are absent entries. */
  toggle(container: number, key: string, value: unknown): void {
    if (value === undefined) return;
    const text = `${container}\u0000${key}\u0000${stringify(value) ?? ''}`;
    // cyrb53's mixing, keeping both full 32-bit lanes.
    let h1 = 0xdeadbeef;
    let h2 = 0x41c6ce57;
    for (let i = 0; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      h1 = Math.imul(h1 ^ ch, 2654435761);
      h2 = Math.imul(h2 ^ ch, 1597334677);
    }
    h1 = Math.imul(h1 ^ (h1 >>> 16), 2246822507);
    h1 ^= Math.imul(h2 ^ (h2 >>> 13), 3266489909);
    h2 = Math.imul(h2 ^ (h2 >>> 16), 2246822507);
    h2 ^= Math.imul(h1 ^ (h1 >>> 13), 3266489909);
    this.hi = (this.hi ^ h2) >>> 0;
    this.lo = (this.lo ^ h1) >>> 0;
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
