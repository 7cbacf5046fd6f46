/**
 * mulberry32: a small seeded generator of floats in [0, 1), for tests that draw random cases.
 * The same seed gives the same sequence on every run, so a failure that names its seed replays.
 */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * A linear congruential generator (Numerical Recipes' constants): cruder than mulberry32, kept
 * because the store tests' cases were drawn from its sequence.
 */
export function lcg(seed: number): () => number {
  let x = seed >>> 0;
  return () => {
    x = (Math.imul(x, 1664525) + 1013904223) >>> 0;
    return x / 2 ** 32;
  };
}

/**
 * A linear congruential generator with the C standard's example constants: the msgpack read
 * tests' cases were drawn from its sequence.
 */
export function lcgC(seed: number): () => number {
  let s = seed;
  return () => (s = (Math.imul(s, 1103515245) + 12345) >>> 0) / 2 ** 32;
}
