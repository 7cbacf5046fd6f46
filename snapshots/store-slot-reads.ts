/**
 * Reads of the snapshot slots (one generation each): meta records, entries plugin by plugin or
 * a whole slot through LMDB's shared buffer (restore's hot path: nothing copied per entry), the
 * cuts that share a slot out among parallel readers, and sizes for `snapshot list`.
 */
import { setImmediate as yieldToLoop } from 'node:timers/promises';
import {
  containersInKeyOrder,
  entryKeyOf,
  MAX_SLOTS,
  metaKey,
  pluginRange,
  type SlotCut,
  type SlotSizes,
  slotEntries,
  tallyEntry,
} from './store-entry-keys.js';
import { StoreIndexes } from './store-indexes.js';
import { pagesBytes } from './store-tables.js';
import { cancellable, WalkCancelledError } from './walk-cancelled.js';

/** A walk's pause between two turns: its hook, then the loop's turn. */
async function pause(pacing: WalkPacing): Promise<void> {
  await pacing.onStep?.();
  await yieldToLoop();
}

/** How a paced walk of the store steps: entries per turn, and a hook between turns. */
export interface WalkPacing {
  /** Entries read per event-loop turn (default 4096); tests make it small. */
  readonly chunk?: number;
  /** Called between turns (tests count them; one returning a promise holds the walk until it settles). */
  readonly onStep?: () => unknown;
  /** Ends the walk at once, at the pause it waits in (WalkCancelledError): the service is closing. */
  readonly signal?: AbortSignal;
}

export class SlotReads extends StoreIndexes {
  readSlotMeta(slot: number): Uint8Array | undefined {
    return this.snapshots.getBinary(metaKey(slot)) ?? undefined;
  }

  /** Slots that have a meta record. */
  slots(): number[] {
    return Array.from({ length: MAX_SLOTS }, (_, i) => i).filter((s) => this.readSlotMeta(s) !== undefined);
  }

  /**
   * Each entry of a plugin in a slot, passed to `read` as the first `size` bytes of a buffer
   * LMDB reuses for the next entry (`read` must not keep it): no copy of each value.
   */
  forEachEntry(
    slot: number,
    ident: string,
    read: (store: string, key: string, bytes: Uint8Array, size: number) => void,
  ): void {
    for (const { key, value } of this.snapshotsShared.getRange(pluginRange(slot, ident))) {
      const k = key as unknown as [number, 'e', string, string, ...unknown[]];
      read(k[3], entryKeyOf(k) as string, value, this.sharedSize);
    }
  }

  /**
   * Every entry of a slot, plugin by plugin and store by store in key order, passed as
   * forEachEntry passes them (`read` must not keep `bytes`).
   */
  forEachSlotEntry(
    slot: number,
    read: (ident: string, store: string, key: string, bytes: Uint8Array, size: number) => void,
    part: { readonly from: SlotCut | null; readonly to: SlotCut | null } = { from: null, to: null },
  ): void {
    const whole = slotEntries(slot);
    const range = { start: part.from ?? whole.start, end: part.to ?? whole.end };
    for (const { key, value } of this.snapshotsShared.getRange(range)) {
      const k = key as unknown as [number, 'e', string, string, ...unknown[]];
      read(k[2], k[3], entryKeyOf(k) as string, value, this.sharedSize);
    }
  }

  /**
   * Keys that cut a slot's entries into `parts` runs of near-equal length, for readers that
   * share them out. With `sizes` (the entries per plugin and container its meta record says
   * were written), a cut lands in the container that holds its entry, where LMDB skips to it
   * natively; without them, LMDB counts the whole slot first (232 ms of a 1.3 s read
   * at 1 M entries). Always `parts - 1` cuts in key order: any such keys cut the slot into
   * disjoint runs that cover it, so sizes that do not match the file only make the runs uneven.
   */
  slotCuts(slot: number, parts: number, sizes?: SlotSizes): SlotCut[] {
    const containers = sizes === undefined ? null : containersInKeyOrder(slot, sizes, this.compareKeys);
    const n =
      containers === null ? this.snapshots.getKeysCount(slotEntries(slot)) : containers.reduce((t, c) => t + c.n, 0);
    const { start: first, end } = slotEntries(slot);
    const cuts: SlotCut[] = [];
    for (let i = 1; i < parts; i++) {
      const target = Math.floor((i * n) / parts);
      let start = first;
      let offset = target;
      let cut: SlotCut | null = null;
      if (containers !== null) {
        let before = 0;
        const at = containers.find((c) => (before += c.n) > target);
        if (at !== undefined) {
          start = at.start;
          offset = target - (before - at.n);
          // A container's prefix sorts before every key in it and after every earlier one.
          if (offset === 0) cut = at.start;
        }
      }
      // Each call gets its own options: lmdb-js sets flags on the object it is given.
      if (cut === null)
        for (const key of this.snapshots.getKeys({ start, end, offset, limit: 1 })) cut = key as SlotCut;
      // Past the last entry (sizes larger than the file): the later runs are empty. Never before
      // the previous cut, so the runs stay disjoint whatever the sizes said.
      const previous = cuts[cuts.length - 1];
      if (cut === null) cut = end as unknown as SlotCut;
      if (previous !== undefined && this.compareKeys(cut, previous) < 0) cut = previous;
      cuts.push(cut);
    }
    return cuts;
  }

  /** Idents with entries in a slot. */
  identsIn(slot: number): string[] {
    const idents = new Set<string>();
    for (const key of this.snapshots.getKeys(slotEntries(slot))) idents.add(String(key[2]));
    return [...idents];
  }

  /** Bytes of stored entries per plugin in a slot (for `snapshot list`). */
  slotSizes(slot: number): Record<string, { entries: number; bytes: number }> {
    const out: Record<string, { entries: number; bytes: number }> = {};
    for (const { key, value } of this.snapshots.getRange(slotEntries(slot))) tallyEntry(out, key, value);
    return out;
  }

  /**
   * slotSizes(), handing the event loop back every `chunk` entries: the service measures a
   * generation for `POST /admin/snapshot`, and a walk of a million entries in one turn held
   * reads and health probes for as long. The range keeps its read transaction across the
   * turns, so it counts one version of the slot whatever is written meanwhile; `pacing.signal`
   * ends it (WalkCancelledError) at the pause it waits in, its range let go as the loop is left.
   */
  async slotSizesPaced(
    slot: number,
    pacing: WalkPacing = {},
  ): Promise<Record<string, { entries: number; bytes: number }>> {
    const out: Record<string, { entries: number; bytes: number }> = {};
    const chunk = Math.max(1, pacing.chunk ?? 4096);
    if (pacing.signal?.aborted) throw new WalkCancelledError();
    let n = 0;
    for (const { key, value } of this.snapshots.getRange(slotEntries(slot))) {
      tallyEntry(out, key, value);
      if (++n % chunk === 0) await cancellable(pause(pacing), pacing.signal);
    }
    return out;
  }

  /** Raw access for tools and corruption tests: every key/value of a slot, meta first. */
  *slotRaw(slot: number): Generator<{ key: unknown; value: Uint8Array }> {
    const meta = this.readSlotMeta(slot);
    if (meta) yield { key: metaKey(slot), value: meta };
    for (const { key, value } of this.snapshots.getRange(slotEntries(slot))) yield { key, value };
  }

  snapshotBytes(): number {
    return pagesBytes(this.snapshots.getStats());
  }
}
