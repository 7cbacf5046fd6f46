/**
 * The frames in which the start-up check's child hands the newest snapshot slot to the service
 * while it reads it (check-and-read.ts): the child reads LMDB and verifies each value's
 * checksum, the service decodes and fills, on the two cores at once.
 *
 *   [u32 LE payload length][u8 type][payload]
 *   S  {"slot","generation"} (JSON)   the slot streamed (the newest whose meta record reads)
 *   B  [u16 LE header length][{"ident","store"} JSON][key, value, key, value… as msgpack]
 *   X  {"ident","reason"} (JSON)       a value of that plugin failed its checksum: none of its entries count
 *   E  {"entries"} (JSON)              every entry of the slot was read
 */
import type { LoadedEntries, LoadedState } from '../actors/plugin-runtime.js';
import { decodeSequence } from './codec.js';
import { KeyShare } from './key-share.js';
import type { DataStore, SlotSizes } from './lmdb-store.js';
import { entryUnreadable, type Filling, type PrereadSlot, storedEntryProblem } from './restore.js';
import { SequenceWriter } from './sequence-writer.js';

/** Bytes of entries per B frame: a few pipe buffers, so neither side waits long on the other. */
const BATCH_BYTES = 1 << 18;
const HEAD = 5;

function frame(type: string, payload: Uint8Array): Buffer {
  const out = Buffer.allocUnsafe(HEAD + payload.byteLength);
  out.writeUInt32LE(payload.byteLength, 0);
  out[4] = type.charCodeAt(0);
  out.set(payload, HEAD);
  return out;
}

const json = (type: string, value: unknown) => frame(type, Buffer.from(JSON.stringify(value)));

/**
 * Child side: streams share `part` of `parts` of one slot's entries to `write` (the shares are
 * runs of near-equal length, in key order, cut where `sizes` says if given: see slotCuts);
 * every value is read, whether it is sent or not.
 */
export function streamSlot(
  store: DataStore,
  at: { slot: number; generation: number },
  share: { part: number; parts: number; sizes?: SlotSizes },
  /** Synchronous: a buffer handed to it may be overwritten once it returns. */
  write: (bytes: Buffer) => void,
): number {
  const cuts = store.slotCuts(at.slot, share.parts, share.sizes);
  const range = {
    from: share.part === 0 ? null : (cuts[share.part - 1] ?? null),
    to: share.part === share.parts - 1 ? null : (cuts[share.part] ?? null),
  };
  write(json('S', at));
  const writer = new SequenceWriter();
  let ident = '';
  let name = '';
  let bad: string | null = null;
  let entries = 0;
  const flush = () => {
    if (writer.length === 0) return;
    const header = Buffer.from(JSON.stringify({ ident, store: name }));
    const body = writer.written();
    // The frame's head, then the entries straight from the writer's buffer: `write` is synchronous.
    const head = Buffer.allocUnsafe(HEAD + 2 + header.byteLength);
    head.writeUInt32LE(2 + header.byteLength + body.byteLength, 0);
    head[4] = 'B'.charCodeAt(0);
    head.writeUInt16LE(header.byteLength, HEAD);
    head.set(header, HEAD + 2);
    write(head);
    write(body);
    writer.clear();
  };
  store.forEachSlotEntry(
    at.slot,
    (i, n, key, bytes, size) => {
      entries++;
      if (i !== ident || n !== name) {
        flush();
        ident = i;
        name = n;
      }
      if (bad === i) return;
      const problem = storedEntryProblem(key, bytes, size);
      if (problem !== null) {
        bad = i;
        writer.clear();
        // Word for word what restore's own read of the slot reports.
        write(json('X', { ident: i, reason: entryUnreadable(at.slot, i, n, key, problem) }));
        return;
      }
      writer.string(key);
      writer.checkedBody(bytes, size);
      if (writer.length >= BATCH_BYTES) flush();
    },
    range,
  );
  flush();
  write(json('E', { entries }));
  return entries;
}

/** Parent side: takes the child's stdout chunk by chunk and decodes each frame as it completes. */
export class SlotStreamReader {
  private chunks: Buffer[] = [];
  private buffered = 0;
  private at: { slot: number; generation: number } | null = null;
  private readonly plugins = new Map<string, { rows: Filling; stores: Record<string, Filling> }>();
  private readonly unreadable = new Map<string, string>();
  /** Entries the child read, from its E frame; null until then. */
  entries: number | null = null;

  push(chunk: Buffer): void {
    this.chunks.push(chunk);
    this.buffered += chunk.byteLength;
    while (this.buffered >= HEAD) {
      let first = this.chunks[0] as Buffer;
      if (first.byteLength < HEAD) first = this.join();
      const size = HEAD + first.readUInt32LE(0);
      if (this.buffered < size) return;
      // Joined only once the whole frame is here (joining at every chunk would copy it over and over).
      if (first.byteLength < size) first = this.join();
      const whole = first.byteLength === size ? first : first.subarray(0, size);
      const rest = first.byteLength > size ? first.subarray(size) : null;
      this.chunks = rest ? [rest] : [];
      this.buffered -= size;
      this.handle(String.fromCharCode(whole[4] as number), whole.subarray(HEAD));
    }
  }

  /** The slot the child streams (the newest whose meta record reads); null before its S frame, or if none. */
  get slot(): number | null {
    return this.at?.slot ?? null;
  }

  /** The slot read, once the child said it read all of it; null if it did not, or found no slot. */
  result(): PrereadSlot | null {
    if (this.at === null || this.entries === null) return null;
    return { ...this.at, plugins: this.plugins as Map<string, LoadedState>, unreadable: this.unreadable };
  }

  private join(): Buffer {
    const joined = Buffer.concat(this.chunks, this.buffered);
    this.chunks = [joined];
    return joined;
  }

  private handle(type: string, payload: Buffer): void {
    if (type === 'B') this.batch(payload);
    else if (type === 'S') this.at = JSON.parse(payload.toString()) as { slot: number; generation: number };
    else if (type === 'X') {
      const { ident, reason } = JSON.parse(payload.toString()) as { ident: string; reason: string };
      this.fail(ident, reason);
    } else if (type === 'E') this.entries = (JSON.parse(payload.toString()) as { entries: number }).entries;
    else throw new Error(`slot stream: unknown frame type ${JSON.stringify(type)}`);
  }

  private batch(payload: Buffer): void {
    const headerEnd = 2 + payload.readUInt16LE(0);
    const { ident, store } = JSON.parse(payload.toString('utf8', 2, headerEnd)) as { ident: string; store: string };
    if (this.unreadable.has(ident)) return;
    let plugin = this.plugins.get(ident);
    if (!plugin) this.plugins.set(ident, (plugin = { rows: { keys: [], values: [] }, stores: {} }));
    const into = store === 'rows' ? plugin.rows : (plugin.stores[store] ??= { keys: [], values: [] });
    const keyShare = new KeyShare();
    let key: string | null = null;
    try {
      decodeSequence(payload.subarray(headerEnd), (value) => {
        if (key === null) {
          if (typeof value !== 'string') throw new Error('an entry key is not a string');
          key = value;
        } else {
          keyShare.share(key, value);
          into.keys.push(key);
          into.values.push(value);
          key = null;
        }
      });
      if (key !== null) throw new Error(`key ${JSON.stringify(key)} has no value`);
    } catch (err) {
      const slot = this.at?.slot ?? '?';
      this.fail(ident, `slot ${slot}, plugin "${ident}", store "${store}": ${(err as Error).message}`);
    }
  }

  private fail(ident: string, reason: string): void {
    if (!this.unreadable.has(ident)) this.unreadable.set(ident, reason);
    this.plugins.delete(ident);
  }
}

/** Entries of one container from consecutive shares, in key order; a container held whole by one share is not copied. */
function joined(shares: readonly (LoadedEntries | undefined)[]): LoadedEntries | undefined {
  const held = shares.filter((e): e is LoadedEntries => e !== undefined && e.keys.length > 0);
  if (held.length <= 1) return held[0] ?? shares.find((e) => e !== undefined);
  return {
    keys: ([] as string[]).concat(...held.map((e) => e.keys)),
    values: ([] as unknown[]).concat(...held.map((e) => e.values)),
  };
}

/**
 * One slot from the readers of its shares, given in share order: as if one reader had read it
 * whole. Null unless every share was read whole, of the same slot.
 */
export function joinShares(readers: readonly SlotStreamReader[]): PrereadSlot | null {
  const shares = readers.map((r) => r.result());
  const first = shares[0];
  if (!first || shares.some((p) => p === null || p.slot !== first.slot || p.generation !== first.generation))
    return null;
  const read = shares as PrereadSlot[];
  if (read.length === 1) return first;
  // The first failure in key order is the one a whole read would have stopped at.
  const unreadable = new Map<string, string>();
  for (const p of read) for (const [ident, why] of p.unreadable) if (!unreadable.has(ident)) unreadable.set(ident, why);
  const plugins = new Map<string, LoadedState>();
  for (const ident of new Set(read.flatMap((p) => [...p.plugins.keys()]))) {
    if (unreadable.has(ident)) continue;
    const parts = read.map((p) => p.plugins.get(ident));
    const stores: Record<string, LoadedEntries> = {};
    for (const name of new Set(parts.flatMap((p) => Object.keys(p?.stores ?? {})))) {
      const store = joined(parts.map((p) => p?.stores[name]));
      if (store) stores[name] = store;
    }
    plugins.set(ident, { rows: joined(parts.map((p) => p?.rows)) ?? { keys: [], values: [] }, stores });
  }
  return { slot: first.slot, generation: first.generation, plugins, unreadable };
}
