/**
 * The 64-bit structural hash of the state digest (state-digest.ts): a (container, key, value)
 * entry hashed into two 32-bit lanes, read from `la` and `lb` after each hashEntry() call.
 * Values are hashed structurally, without encoding them to a string (the hot path allocates
 * nothing): an object is the XOR of its members' hashes, so property order does not matter,
 * and members holding `undefined` are skipped, as a snapshot round trip drops them.
 */

// Two 32-bit lanes (JS bit operations are 32-bit), mixed as in cyrb53. The lanes are kept as
// signed int32 (the same bits as the unsigned value): an unsigned value above 2^31 stored in
// a module variable is a heap number, allocated on every store, which made hashing allocate.
// Exported so that state-digest.ts reads a hash where hashEntry() leaves it, with no result
// object per call; an importer cannot assign them (ES imports are read-only).
export let la = 0;
export let lb = 0;
const SEED_A = 0xdeadbeef | 0;
const SEED_B = 0x41c6ce57;
/**
 * Called on the object and the key of its own for-in: TurboFan then proves the property own from
 * the loop's enum cache and makes no call; `Object.hasOwn` it calls per member (its builtin and
 * hasOwnProperty's: ~11% of an entry's hash on a counter's row). Same answer for any object.
 */
const isOwn = Object.prototype.hasOwnProperty;
const f64 = new Float64Array(1);
const u32 = new Uint32Array(f64.buffer);

function mix(x: number): void {
  la = Math.imul(la ^ x, 2654435761);
  lb = Math.imul(lb ^ x, 1597334677);
}

function finish(): void {
  const a = Math.imul(la ^ (la >>> 16), 2246822507) ^ Math.imul(lb ^ (lb >>> 13), 3266489909);
  const b = Math.imul(lb ^ (lb >>> 16), 2246822507) ^ Math.imul(a ^ (a >>> 13), 3266489909);
  la = a;
  lb = b;
}

function feedString(s: string): void {
  feedParts(s, '');
}

/**
 * mix() of the length of a + b, then of each of its UTF-16 units, without making the
 * concatenation (a settle walks keys in two parts: entry-walk.ts). On locals: the module's lanes
 * are module variables, which mix() loads and stores per call (a key is hashed 27% faster so,
 * same values).
 */
function feedParts(a: string, b: string): void {
  const n = a.length;
  const m = b.length;
  let x = Math.imul(la ^ (n + m), 2654435761);
  let y = Math.imul(lb ^ (n + m), 1597334677);
  for (let i = 0; i < n; i++) {
    const c = a.charCodeAt(i);
    x = Math.imul(x ^ c, 2654435761);
    y = Math.imul(y ^ c, 1597334677);
  }
  for (let i = 0; i < m; i++) {
    const c = b.charCodeAt(i);
    x = Math.imul(x ^ c, 2654435761);
    y = Math.imul(y ^ c, 1597334677);
  }
  la = x;
  lb = y;
}

function feed(v: unknown): void {
  switch (typeof v) {
    case 'number':
      if (Number.isNaN(v)) mix(7);
      else {
        mix(1);
        // -0 and 0 are one value once stored.
        f64[0] = v === 0 ? 0 : v;
        mix(u32[0] as number);
        mix(u32[1] as number);
      }
      return;
    case 'string':
      mix(2);
      feedString(v);
      return;
    case 'boolean':
      mix(v ? 3 : 4);
      return;
    case 'bigint':
      mix(10);
      feedString(v.toString());
      return;
    case 'object':
      if (v === null) mix(6);
      else if (Array.isArray(v)) {
        mix(8);
        mix(v.length);
        for (let i = 0; i < v.length; i++) {
          const el: unknown = v[i];
          if (el === undefined) mix(6);
          else feed(el);
        }
      } else feedObject(v as Record<string, unknown>);
      return;
    default:
      // undefined, functions, symbols: not storable data; hashed alike.
      mix(5);
  }
}

/**
 * A member's hash starts from the seeds with its name: the same lanes for every row of a plugin
 * (`timestamp`, `volume`, …), so they are kept per name instead of fed char by char for every
 * row hashed (~118 of the ~466 chars a fixture message has hashed over the built-ins, live).
 * Direct-mapped by length and first unit; a slot holding another name is refilled.
 */
const NAME_SLOTS = 64;
const nameKeys: string[] = new Array<string>(NAME_SLOTS).fill('');
const nameA = new Int32Array(NAME_SLOTS);
const nameB = new Int32Array(NAME_SLOTS);

/** la/lb as after `la = SEED_A; lb = SEED_B; feedString(k)`. */
function seedName(k: string): void {
  // '' gives NaN for its first unit, and NaN & 63 is 0.
  const i = (k.length * 7 + k.charCodeAt(0)) & (NAME_SLOTS - 1);
  if (nameKeys[i] === k) {
    la = nameA[i] as number;
    lb = nameB[i] as number;
    return;
  }
  la = SEED_A;
  lb = SEED_B;
  feedString(k);
  nameKeys[i] = k;
  nameA[i] = la;
  nameB[i] = lb;
}

/**
 * A member holding a short string (a row's topic, user, package or category) hashes to the same
 * lanes wherever that (name, string) pair recurs: a counter's row of each new bucket holds the
 * strings of the bucket before, and one message's topic is in the rows of several plugins
 * (~135 chars a fixture message had hashed). Kept by the string (a Map lookup uses the hash V8
 * keeps in the string, computed once) with the name it was hashed under, at most MEMBER_SLOTS
 * strings of at most MEMBER_MAX_LENGTH units: the cache starts over when full.
 */
export const MEMBER_SLOTS = 2048;
export const MEMBER_MAX_LENGTH = 256;
const memberSlot = new Map<string, number>();
const memberName: string[] = new Array<string>(MEMBER_SLOTS).fill('');
const memberA = new Int32Array(MEMBER_SLOTS);
const memberB = new Int32Array(MEMBER_SLOTS);

/** Strings the member cache holds now (tests: it stays within MEMBER_SLOTS). */
export function memberCacheSize(): number {
  return memberSlot.size;
}

/** la/lb as after `seedName(k); feed(v); finish()` for a string `v`. */
function stringMember(k: string, v: string): void {
  let at = memberSlot.get(v);
  if (at !== undefined && memberName[at] === k) {
    la = memberA[at] as number;
    lb = memberB[at] as number;
    return;
  }
  seedName(k);
  mix(2);
  feedString(v);
  finish();
  if (at === undefined) {
    if (memberSlot.size >= MEMBER_SLOTS) memberSlot.clear();
    at = memberSlot.size;
    memberSlot.set(v, at);
  }
  memberName[at] = k;
  memberA[at] = la;
  memberB[at] = lb;
}

function feedObject(o: Record<string, unknown>): void {
  const a = la;
  const b = lb;
  let xa = 0;
  let xb = 0;
  let n = 0;
  for (const k in o) {
    if (!isOwn.call(o, k)) continue;
    const value = o[k];
    if (value === undefined) continue;
    if (typeof value === 'string' && value.length <= MEMBER_MAX_LENGTH) stringMember(k, value);
    else {
      seedName(k);
      feed(value);
      finish();
    }
    xa ^= la;
    xb ^= lb;
    n++;
  }
  la = a;
  lb = b;
  mix(9);
  mix(n);
  mix(xa);
  mix(xb);
}

/** Entries hashed into (or out of) the digest, by value: the hash of (container, key, value) in la/lb. */
export function hashEntry(container: number, key: string, value: unknown): void {
  la = SEED_A;
  lb = SEED_B;
  mix(container);
  feedString(key);
  feed(value);
  finish();
}

/** hashEntry(container, units[0..n) + rest, value): a settle's walk hands a timestamp's head as units (entry-walk.ts). */
export function hashEntryUnits(container: number, units: Int32Array, n: number, rest: string, value: unknown): void {
  la = SEED_A;
  lb = SEED_B;
  mix(container);
  const m = rest.length;
  let x = Math.imul(la ^ (n + m), 2654435761);
  let y = Math.imul(lb ^ (n + m), 1597334677);
  for (let i = 0; i < n; i++) {
    const c = units[i] as number;
    x = Math.imul(x ^ c, 2654435761);
    y = Math.imul(y ^ c, 1597334677);
  }
  for (let i = 0; i < m; i++) {
    const c = rest.charCodeAt(i);
    x = Math.imul(x ^ c, 2654435761);
    y = Math.imul(y ^ c, 1597334677);
  }
  la = x;
  lb = y;
  feed(value);
  finish();
}

/** hashEntry(container, head + rest, value), for a settle's walk. */
export function hashEntryParts(container: number, head: string, rest: string, value: unknown): void {
  la = SEED_A;
  lb = SEED_B;
  mix(container);
  feedParts(head, rest);
  feed(value);
  finish();
}
