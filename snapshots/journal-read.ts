/**
 * How replay reads journal records: in place from LMDB's shared read buffer (lmdb-store.ts
 * journalAfter), with the shape bounds read from the bytes, and ids that hold only their own
 * characters (the journal keeps them for de-duplication).
 */
import type { Envelope } from '../src/envelope.js';
import { CHECKED_BODY_START, checksumProblem, decodeVerified } from './codec.js';
import type { JournalEntry } from './journal.js';
import { plainRecord, plainShape, readPlain, readRecord } from './msgpack-read.js';
import { recordWithinShape } from './msgpack-shape.js';

/** checkShape's bounds (envelope-limits.ts). */
export interface ShapeBounds {
  readonly maxDepth: number;
  readonly maxKeys: number;
}

/**
 * The entry of a journal record read in place (from LMDB's shared buffer); null when damaged.
 * With `shape`, the record's bytes are also read for those bounds (after its checksum held).
 */
export function readEntry(
  seq: number,
  bytes: Uint8Array,
  size: number,
  shape: ShapeBounds | undefined,
): JournalEntry | null {
  if (checksumProblem(bytes, size) !== null) return null;
  let record: { id: string; envelope: Envelope } | undefined;
  let within = false;
  try {
    // Nearly every record: its two members read without the record's object (readRecord).
    if (readRecord(bytes, CHECKED_BODY_START, size)) {
      const id = plainRecord.id as string;
      const envelope = plainRecord.envelope as Envelope;
      plainRecord.envelope = undefined;
      within = shape !== undefined && withinBounds(shape);
      return { seq, id, envelope, withinShape: within ? shape : undefined };
    }
    record = readPlain(bytes, CHECKED_BODY_START, size) as typeof record;
    if (record !== undefined) {
      // The record is a map of two (0x82) around the envelope: one level and two members more than its bounds.
      within = shape !== undefined && bytes[CHECKED_BODY_START] === 0x82 && withinBounds(shape);
    } else {
      // msgpackr only for what readPlain does not read exactly (msgpack-read.ts); its id may be a
      // slice of the record's text, so the journal gets a copy to keep (flat). readPlain's strings
      // are made each on its own already.
      const decoded = decodeVerified(bytes, size) as { id: string; envelope: Envelope };
      record = { id: flat(decoded.id), envelope: decoded.envelope };
      within = shape !== undefined && recordWithinShape(bytes, CHECKED_BODY_START, size, shape.maxDepth, shape.maxKeys);
    }
  } catch {
    return null;
  }
  return { seq, id: record.id, envelope: record.envelope, withinShape: within ? shape : undefined };
}

/** The record readPlain or readRecord just read, a map of two around the envelope: one level and two members more than its bounds. */
function withinBounds(shape: ShapeBounds): boolean {
  return plainShape.depth <= shape.maxDepth + 1 && plainShape.members <= shape.maxKeys + 2;
}

/**
 * A copy of a decoded string that holds only its own characters. msgpackr's native decoder
 * returns most strings as slices of one string per record, so an id kept for de-duplication
 * would keep its whole record's text alive: ~120 MB more heap, all of it traced by the GC, for
 * the default window of 200 k ids (replayed, or decoded from the bus thread's records).
 * Slicing a one-character concatenation copies just the id.
 */
export function flat(id: string): string {
  return ` ${id}`.slice(1);
}
