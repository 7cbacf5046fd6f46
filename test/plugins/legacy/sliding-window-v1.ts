/** Version 1 of the sliding windows behind top-n, kept verbatim (imports aside) for the migration test. */
/**
 * Running totals over sliding windows (last hour, day, week) that cost O(1) amortised per
 * message, driven by message time only (no timers, no clock).
 *
 * Counts are kept per sub-bucket ("slice"): per minute for the hour window, per hour for the
 * day and week windows. Each window keeps a running total per name plus a cut: slices that
 * start before the cut have been subtracted. When a message moves time forward, the slices
 * that fell behind a cut are walked once and subtracted; a slice is deleted once it falls
 * behind the longest window of its resolution. Every (slice, name) entry is therefore added
 * once and subtracted at most once per window. The names of a slice form a linked list
 * through its entries, so adding a name and walking a slice never copy a list and every
 * write is a plain `set` the runtime can roll back.
 */
import type { KeyedStore, ReadonlyKeyedStore } from '../../../actors/keyed-store.js';
import { compareText } from '../../../plugins/fields.js';

/** Version 1's joinKey, which escaped nothing (today's escapes `\` and U+001F, so nested joins differ). */
const joinKey = (a: string | number, b: string | number): string => `${a}\u001f${b}`;

export const WINDOWS = ['hour', 'day', 'week'] as const;
export type WindowName = (typeof WINDOWS)[number];

type Resolution = 'm' | 'h';
const STEP: Readonly<Record<Resolution, number>> = { m: 60, h: 3_600 };

interface WindowSpec {
  readonly res: Resolution;
  /** Slices in the window, the current one included. */
  readonly slots: number;
}
const SPEC: Readonly<Record<WindowName, WindowSpec>> = {
  hour: { res: 'm', slots: 60 },
  day: { res: 'h', slots: 24 },
  week: { res: 'h', slots: 168 },
};
/** The longest window per resolution: its cut deletes slices. */
const LONGEST: Readonly<Record<Resolution, WindowName>> = { m: 'hour', h: 'week' };

/** One name's count in one slice, and the next name of that slice. */
export interface SliceEntry {
  readonly n: number;
  readonly next: string | null;
}
/** A slice: the most recently added name (head of its list) and how many names it holds. */
export interface SliceHead {
  readonly head: string;
  readonly size: number;
}

export interface WindowStores {
  readonly entries: KeyedStore<SliceEntry>;
  readonly slices: KeyedStore<SliceHead>;
  readonly hour: KeyedStore<number>;
  readonly day: KeyedStore<number>;
  readonly week: KeyedStore<number>;
  /** `now` (newest message time) and one cut per window. */
  readonly clock: KeyedStore<number>;
}

const sliceStart = (t: number, res: Resolution) => Math.floor(t / STEP[res]) * STEP[res];
const cutAt = (now: number, w: WindowName) => sliceStart(now, SPEC[w].res) - (SPEC[w].slots - 1) * STEP[SPEC[w].res];
const sliceKey = (res: Resolution, start: number) => joinKey(res, start);
const entryKey = (res: Resolution, start: number, name: string) => joinKey(joinKey(res, start), name);

/** Adds one message (its time and the names it counts for) to every window. */
export function addToWindows(s: WindowStores, t: number, names: readonly string[]): void {
  const now = s.clock.get('now');
  if (now === undefined || t > now) advance(s, t);
  for (const w of WINDOWS) {
    if (sliceStart(t, SPEC[w].res) < (s.clock.get(w) as number)) continue; // already behind this window
    const totals = s[w];
    for (const name of names) totals.set(name, (totals.get(name) ?? 0) + 1);
  }
  for (const res of ['m', 'h'] as const) {
    const start = sliceStart(t, res);
    if (start < (s.clock.get(LONGEST[res]) as number)) continue;
    const sk = sliceKey(res, start);
    for (const name of names) {
      const ek = entryKey(res, start, name);
      const entry = s.entries.get(ek);
      if (entry) {
        s.entries.set(ek, { n: entry.n + 1, next: entry.next });
        continue;
      }
      const slice = s.slices.get(sk);
      s.entries.set(ek, { n: 1, next: slice?.head ?? null });
      s.slices.set(sk, { head: name, size: (slice?.size ?? 0) + 1 });
    }
  }
}

function advance(s: WindowStores, now: number): void {
  s.clock.set('now', now);
  for (const w of WINDOWS) {
    const next = cutAt(now, w);
    const previous = s.clock.get(w);
    s.clock.set(w, next);
    if (previous === undefined || next <= previous) continue;
    const { res, slots } = SPEC[w];
    for (const start of expiring(s, res, previous, next, slots)) expireSlice(s, w, res, start);
  }
}

/** Starts of existing slices in [from, to): by stepping when the gap is short, else from the slices themselves. */
function expiring(s: WindowStores, res: Resolution, from: number, to: number, slots: number): number[] {
  const step = STEP[res];
  const out: number[] = [];
  if ((to - from) / step <= slots) {
    for (let start = from; start < to; start += step) if (s.slices.has(sliceKey(res, start))) out.push(start);
    return out;
  }
  // A jump longer than the window: only the slices that exist can be in it (a bounded set).
  const prefix = joinKey(res, '');
  for (const key of s.slices.keys()) {
    if (!key.startsWith(prefix)) continue;
    const start = Number(key.slice(prefix.length));
    if (start >= from && start < to) out.push(start);
  }
  return out.sort((a, b) => a - b);
}

function expireSlice(s: WindowStores, w: WindowName, res: Resolution, start: number): void {
  const sk = sliceKey(res, start);
  const totals = s[w];
  const drop = LONGEST[res] === w;
  let name: string | null = s.slices.get(sk)?.head ?? null;
  while (name !== null) {
    const ek = entryKey(res, start, name);
    const entry = s.entries.get(ek);
    if (!entry) break;
    const left = (totals.get(name) ?? 0) - entry.n;
    if (left > 0) totals.set(name, left);
    else totals.delete(name);
    if (drop) s.entries.delete(ek);
    name = entry.next;
  }
  if (drop) s.slices.delete(sk);
}

export interface Ranked {
  readonly name: string;
  readonly volume: number;
  readonly rank: number;
}

/** The `n` largest totals of a window, ties broken by name so every replica ranks alike. */
export function topOf(totals: ReadonlyKeyedStore<number>, n: number): Ranked[] {
  const all = [...totals.entries()];
  all.sort((a, b) => b[1] - a[1] || compareText(a[0], b[0]));
  return all.slice(0, n).map(([name, volume], i) => ({ name, volume, rank: i + 1 }));
}

/** When the window currently starts, for display. */
export function windowStart(clock: ReadonlyKeyedStore<number>, w: WindowName): number | undefined {
  return clock.get(w);
}
