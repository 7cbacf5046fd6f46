/**
 * Bounds on what one untrusted envelope may be, checked before anything recursive (digests,
 * msgpack, meta rules, plugins) touches it: a few thousand nested arrays in 12 KB once
 * overflowed the stack deep inside the receive loop.
 */
export interface EnvelopeLimits {
  /** Deepest nesting of objects and arrays, the envelope itself being depth 1. */
  readonly maxDepth: number;
  /** Most object members plus array elements, summed over the whole envelope. */
  readonly maxKeys: number;
  /** Seconds a timestamp may run ahead of the wall clock before it is refused. */
  readonly maxClockSkew: number;
  readonly nowSeconds: () => number;
}

/** Real fedmsg envelopes nest at most 9 deep and hold at most ~500 members (the 510 samples). */
export const DEFAULT_MAX_DEPTH = 64;
/**
 * The most --max-message-depth may be: no message the bus took, nor its journal, nests deeper.
 * Exports encode the journal tail with msgpackr, whose recursive encoder overflows the stack
 * between 1,200 and 1,250 nested objects (raised to those, test/e2e/max-depth-roundtrip passed
 * and failed): raising this past ~1,150 makes a journaled message one no export can carry.
 */
export const MAX_MESSAGE_DEPTH = 1024;
export const DEFAULT_MAX_KEYS = 100_000;
export const DEFAULT_MAX_CLOCK_SKEW = 300;
/** --max-frame-bytes: a bus message, an archived one and a `meta` input line alike. */
export const DEFAULT_MAX_FRAME_BYTES = 1024 * 1024;

/**
 * Members intake may add to an envelope after its shape was checked: the first frame's topic
 * when the envelope names none, the receive time when it has no timestamp. Replay checks the
 * journaled envelope, so it allows these on top of the bound: without them a message at the
 * bound lacking either was counted live and refused by the replay after a crash.
 */
export const INTAKE_ADDED_MEMBERS = 2;

export type ShapeViolation = { readonly reason: 'too_deep' | 'too_many_keys'; readonly detail: string };

/** Walks the value iteratively (a recursive walk would itself overflow on the input it guards against). */
export function checkShape(value: unknown, maxDepth: number, maxKeys: number): ShapeViolation | null {
  const walked = walkShape(value, maxDepth, maxKeys);
  return typeof walked === 'boolean' ? null : walked;
}

/** Past this depth walkShape does not vouch for key order (stable-json.ts's walk bound). */
const MAX_ORDER_DEPTH = 128;

/**
 * checkShape's verdict, or when the value passes, whether every object in it enumerates its
 * keys in strictly increasing (UTF-16 code unit) order: fedmsg's wire JSON has sorted keys, and
 * the message id's digest text (journal-record.ts) can skip its own walk proving that when this
 * one, which visits every member anyway, already did. Integer-like keys enumerate first in
 * numeric order ("2" before "10"), which the comparison catches as unsorted, as keysInOrder does.
 * For values JSON.parse made (plain objects, own members only); anything else gets false.
 */
export function walkShape(value: unknown, maxDepth: number, maxKeys: number): ShapeViolation | boolean {
  if (typeof value !== 'object' || value === null) return true;
  const stack: unknown[] = [value];
  const depths: number[] = [1];
  let keys = 0;
  let sorted = true;
  while (stack.length > 0) {
    const node = stack.pop() as object;
    const depth = depths.pop() as number;
    if (depth > maxDepth) return { reason: 'too_deep', detail: `nesting deeper than ${maxDepth} levels` };
    if (depth > MAX_ORDER_DEPTH) sorted = false;
    if (Array.isArray(node)) {
      keys += node.length;
      if (keys > maxKeys) return tooMany(maxKeys);
      for (let i = 0; i < node.length; i++) {
        const child: unknown = node[i];
        if (typeof child === 'object' && child !== null) {
          stack.push(child);
          depths.push(depth + 1);
        }
      }
    } else {
      // Keys and values as two arrays, not for-in and node[key]: over the hundreds of shapes
      // envelopes have, each node[key] was a megamorphic keyed load (~31 a fixture message);
      // Object.values reads the values natively, in Object.keys order.
      const names = Object.keys(node);
      const values = Object.values(node);
      let previous: string | null = null;
      for (let i = 0; i < names.length; i++) {
        const key = names[i] as string;
        if (++keys > maxKeys) return tooMany(maxKeys);
        if (previous !== null && !(previous < key)) sorted = false;
        previous = key;
        const child: unknown = values[i];
        if (typeof child === 'object' && child !== null) {
          stack.push(child);
          depths.push(depth + 1);
        }
      }
    }
  }
  return sorted;
}

function tooMany(maxKeys: number): ShapeViolation {
  return { reason: 'too_many_keys', detail: `more than ${maxKeys} object members and array elements` };
}

/** How a timestamp was read when it was not in epoch seconds (checkTimestamp). */
export type Corrected = 'milliseconds' | 'microseconds' | null;

export type TimestampVerdict =
  | { readonly ok: true; readonly seconds: number; readonly corrected: Corrected }
  | { readonly ok: false; readonly detail: string };

/**
 * The documented rule (README, "Time"): epoch seconds stay below 1e11 until the year 5138, while
 * any millisecond stamp after 1973 is at least 1e11 and any microsecond one at least 1e14. So a
 * value >= 1e14 is read as microseconds and one >= 1e11 as milliseconds, and converted. Whatever
 * results must not be ahead of the wall clock by more than the allowed skew: one message dated
 * ahead would otherwise move every retention watermark and evict real history.
 */
export function checkTimestamp(seconds: number, nowSeconds: number, maxClockSkew: number): TimestampVerdict {
  let value = seconds;
  let corrected: Corrected = null;
  if (value >= 1e14) {
    value /= 1e6;
    corrected = 'microseconds';
  } else if (value >= 1e11) {
    value /= 1e3;
    corrected = 'milliseconds';
  }
  const ahead = aheadOfClock(value, seconds, corrected, nowSeconds, maxClockSkew);
  return ahead === null ? { ok: true, seconds: value, corrected } : { ok: false, detail: ahead };
}

/**
 * The clock half of checkTimestamp, for a timestamp already in seconds (`shown`: the value as
 * received, for the message): why it is refused, or null. The bus thread converts units; the
 * main thread, which has the service's clock, judges here.
 */
export function aheadOfClock(
  seconds: number,
  shown: number,
  corrected: Corrected,
  nowSeconds: number,
  maxClockSkew: number,
): string | null {
  if (seconds <= nowSeconds + maxClockSkew) return null;
  const ahead = Math.round(seconds - nowSeconds);
  return `timestamp ${shown}${corrected ? ` (read as ${corrected})` : ''} is ${ahead} s ahead of the clock; at most ${maxClockSkew} s is allowed`;
}
