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
 */

/** Slot indexes in the beacon's Float64Array. */
export const BEACON = {
  /** The index of the plugin whose batch is being applied, or -1 between batches. */
  plugin: 0,
  /** The journal seq of the message being applied (0: a message that has none). */
  seq: 1,
  /** Plugin batches begun: a batch that began since the last look is progress, whatever the seq. */
  batches: 2,
} as const;

const SLOTS = 3;

export class ApplyBeacon {
  readonly slots: Float64Array;

  constructor(readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(SLOTS * 8)) {
    this.slots = new Float64Array(buffer, 0, SLOTS);
    this.slots[BEACON.plugin] = -1;
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
