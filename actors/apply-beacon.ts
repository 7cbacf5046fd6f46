/**
 * Where the plugins' apply loop is, in memory another thread can read while this one is stuck.
 *
 * A plugin's `update` runs synchronously on the main thread. One that never returns on some
 * message (a catastrophic regular expression, a loop on an odd payload) holds the event loop
 * forever: no HTTP read, health probe or snapshot is answered, and the restart a supervisor
 * makes replays the same journaled message into the same plugin and hangs again. A watch thread
 * (src/hang-watch.ts) reads these slots; when one plugin has sat on one message past the
 * timeout, it records the (plugin, journal seq) pair and ends the process, and the next start
 * skips that message for that plugin only (hung-skips.ts).
 *
 * The writer pays two stores per plugin batch and one per message (the seq): plain Float64Array
 * writes into a SharedArrayBuffer. Aligned 8-byte stores do not tear on the machines Node runs on,
 * and the reader only compares what it sees twice, `pollMs` apart.
 *
 * A plugin's custom `view(ctx, params)` runs on the main thread too, with parameters HTTP and
 * WebSocket clients choose: one that never returns for some of them (a loop bounded by a
 * parameter) holds everything as a hung update does. While one runs, its own slots say which
 * plugin and the parameters as text (viewParamsText: at most VIEW_PARAMS_BYTES of UTF-8), so the
 * watch can record the pair and the next start refuses those parameters for that view. Views
 * are computed once per state and parameter set (actors/view-cache.ts), far more rarely than
 * messages are applied; the message slots above are written exactly as before.
 */

import { hash } from 'node:crypto';

/** Slot indexes in the beacon's Float64Array. */
export const BEACON = {
  /** The index of the plugin whose batch is being applied, or -1 between batches. */
  plugin: 0,
  /** The journal seq of the message being applied (0: a message that has none). */
  seq: 1,
  /** Plugin batches begun: a batch that began since the last look is progress, whatever the seq. */
  batches: 2,
  /** The index of the plugin whose `view()` is running, or -1. */
  viewPlugin: 3,
  /** Calls of `view()` begun: a call that began since the last look is progress. */
  views: 4,
  /** UTF-8 bytes of the running view's parameters in the text area after the slots. */
  viewBytes: 5,
} as const;

export const BEACON_SLOTS = 6;
/** Most UTF-8 bytes of a view's parameters the beacon holds (and a record keeps): see viewParamsText. */
export const VIEW_PARAMS_BYTES = 1024;
/** The whole shared buffer: the slots, then the view's parameters. */
export const BEACON_BYTES = BEACON_SLOTS * 8 + VIEW_PARAMS_BYTES;

const encoder = new TextEncoder();

export class ApplyBeacon {
  readonly slots: Float64Array;
  /** The running view's parameters, UTF-8 (viewParamsText). */
  private readonly text: Uint8Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(BEACON_BYTES)) {
    this.slots = new Float64Array(buffer, 0, BEACON_SLOTS);
    this.text = new Uint8Array(buffer, BEACON_SLOTS * 8, VIEW_PARAMS_BYTES);
    this.slots[BEACON.plugin] = -1;
    this.slots[BEACON.viewPlugin] = -1;
  }

  /** Plugin `plugin`'s view is called with `params`, the text viewParamsText() gave (it fits). */
  beginView(plugin: number, params: string): void {
    const { written } = encoder.encodeInto(params, this.text);
    this.slots[BEACON.viewBytes] = written;
    this.slots[BEACON.viewPlugin] = plugin;
    (this.slots[BEACON.views] as number)++;
  }

  endView(): void {
    this.slots[BEACON.viewPlugin] = -1;
  }

  begin(plugin: number): void {
    this.slots[BEACON.plugin] = plugin;
    (this.slots[BEACON.batches] as number)++;
  }

  end(): void {
    this.slots[BEACON.plugin] = -1;
  }
}

/** One look at a beacon: what the watch compares with its previous look. */
export interface BeaconReading {
  readonly plugin: number;
  readonly seq: number;
  readonly batches: number;
}

export function readBeacon(slots: Float64Array): BeaconReading {
  return {
    plugin: slots[BEACON.plugin] as number,
    seq: slots[BEACON.seq] as number,
    batches: slots[BEACON.batches] as number,
  };
}

/** Whether two looks saw the same plugin busy on the same message of the same batch. */
export function samePlace(a: BeaconReading, b: BeaconReading): boolean {
  return a.plugin >= 0 && a.plugin === b.plugin && a.seq === b.seq && a.batches === b.batches;
}

/** One look at the view slots. */
export interface ViewReading {
  readonly plugin: number;
  readonly views: number;
}

export function readViewBeacon(slots: Float64Array): ViewReading {
  return { plugin: slots[BEACON.viewPlugin] as number, views: slots[BEACON.views] as number };
}

/** Whether two looks saw the same plugin in the same call of its view. */
export function sameView(a: ViewReading, b: ViewReading): boolean {
  return a.plugin >= 0 && a.plugin === b.plugin && a.views === b.views;
}

/**
 * The running view's parameters as the beacon holds them (the watch thread, the main thread being
 * stuck in that view), or null when the view ended or another began while it read (the text
 * would belong to neither).
 */
export function readViewParams(buffer: SharedArrayBuffer, seen: ViewReading): string | null {
  const slots = new Float64Array(buffer, 0, BEACON_SLOTS);
  const n = Math.min(VIEW_PARAMS_BYTES, Math.max(0, slots[BEACON.viewBytes] as number));
  // A copy: TextDecoder does not read shared memory.
  const bytes = new Uint8Array(buffer, BEACON_SLOTS * 8, n).slice();
  if (!sameView(readViewBeacon(slots), seen)) return null;
  return new TextDecoder().decode(bytes);
}

/** Where viewParamsText measures what fits: never shared, never read. */
const scratch = new Uint8Array(VIEW_PARAMS_BYTES);

/**
 * A view's parameters as text of at most VIEW_PARAMS_BYTES UTF-8 bytes: `key` itself (the view
 * cache's canonical key: the validated values in name order, as JSON) when it fits, else its
 * longest prefix that leaves room for its length and a 53-bit hash of the whole, so two long
 * parameter sets that share a prefix still differ. What the beacon holds, the record keeps and
 * the next start compares. Costs a length check for keys of up to 341 UTF-16 units; longer ones
 * are measured by TextEncoder (which never cuts a character in two) and hashed.
 */
export function viewParamsText(key: string): string {
  // A UTF-16 unit is at most 3 bytes of UTF-8.
  if (key.length * 3 <= VIEW_PARAMS_BYTES) return key;
  if (encoder.encodeInto(key, scratch).read === key.length) return key;
  const suffix = `\u2026 (${key.length} chars, hash ${hash('sha1', key).slice(0, 16)})`;
  // The suffix is ASCII but for the ellipsis (3 bytes).
  const room = VIEW_PARAMS_BYTES - (suffix.length + 2);
  return key.slice(0, encoder.encodeInto(key, scratch.subarray(0, room)).read) + suffix;
}
