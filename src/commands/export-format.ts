import { constants } from 'node:buffer';
import { createHash } from 'node:crypto';
import { decode, encode } from '../../snapshots/codec.js';
import { entryKeyBytes, MAX_LMDB_KEY_BYTES } from '../../snapshots/lmdb-store.js';
import { metaProblem, type SnapshotMeta } from '../../snapshots/format.js';
import type { Envelope } from '../envelope.js';
import { MAX_MESSAGE_DEPTH } from '../envelope-limits.js';
import type { PluginState } from './generations.js';
import { notPlainData } from './plain-data.js';
import { MAX_EXPORT_VALUE_DEPTH, nestsDeeperThan } from './value-depth.js';

/**
 * A portable snapshot file:
 *
 *   offset  size  field
 *   0       8     magic "SCEXPORT"
 *   8       4     export format version, uint32 big-endian
 *   12      8     payload length in bytes, uint64 big-endian
 *   20      32    SHA-256 of the payload
 *   52      n     payload: one msgpack value (ExportPayload)
 *
 * Values are stored decoded (plain msgpack), so the file does not depend on the LMDB layout
 * or the per-value checksums of the data dir it came from.
 */
export const EXPORT_MAGIC = Buffer.from('SCEXPORT', 'ascii');
export const EXPORT_VERSION = 1;
export const EXPORT_HEADER_BYTES = 52;
const HEADER_BYTES = EXPORT_HEADER_BYTES;

export interface ExportPayload {
  readonly kind: 'statscache-snapshot';
  /** Wall-clock milliseconds of the export. */
  readonly exportedAt: number;
  readonly meta: SnapshotMeta;
  readonly plugins: Record<string, PluginState>;
  /**
   * Journal messages the state includes from its last moments (newest timestamp minus a
   * tail): imported into the target journal so a backfill overlapping them de-duplicates
   * instead of counting them twice.
   */
  readonly journalTail: Envelope[];
  /**
   * The tail's window in seconds: journalTail holds every message of the state timestamped
   * from meta.newestTimestamp minus this on. Absent in exports made before it was written
   * (import then takes the span the tail shows).
   */
  readonly journalTailSeconds?: number;
}

/**
 * Most payload bytes an export may announce: the header, the payload and the one byte past it
 * that readExportFile reads must fit one Buffer (decodeExport needs it whole). A header
 * announcing more could never be imported, and a stream behind it (a pipe that never ends) was
 * read into memory until the process died.
 */
export const MAX_EXPORT_PAYLOAD_BYTES = constants.MAX_LENGTH - EXPORT_HEADER_BYTES - 1;

export class ExportFileError extends Error {}

export function encodeExport(payload: ExportPayload): Buffer {
  const body = encode(payload);
  const header = Buffer.alloc(HEADER_BYTES);
  EXPORT_MAGIC.copy(header, 0);
  header.writeUInt32BE(EXPORT_VERSION, 8);
  header.writeBigUInt64BE(BigInt(body.byteLength), 12);
  createHash('sha256').update(body).digest().copy(header, 20);
  return Buffer.concat([header, body]);
}

/**
 * The payload length an export's header announces, once its magic and version are checked;
 * throws ExportFileError saying which failed. `start` is at least the header's first bytes.
 */
export function announcedLength(start: Buffer): bigint {
  if (start.byteLength < HEADER_BYTES || !start.subarray(0, 8).equals(EXPORT_MAGIC)) {
    throw new ExportFileError('not a statscache snapshot export (bad magic header)');
  }
  const version = start.readUInt32BE(8);
  if (version > EXPORT_VERSION)
    throw new ExportFileError(
      `export format version ${version} is newer than this statscache reads (${EXPORT_VERSION}); import it with a newer statscache`,
    );
  if (version < 1) throw new ExportFileError(`export format version ${version} is invalid`);
  const length = start.readBigUInt64BE(12);
  if (length > BigInt(MAX_EXPORT_PAYLOAD_BYTES))
    throw new ExportFileError(
      `the header announces ${length} payload bytes, more than the ${MAX_EXPORT_PAYLOAD_BYTES} one import can hold`,
    );
  return length;
}

/** Verifies magic, version, length and checksum before decoding; throws ExportFileError saying which failed. */
export function decodeExport(file: Buffer): ExportPayload {
  const length = announcedLength(file);
  const body = file.subarray(HEADER_BYTES);
  if (BigInt(body.byteLength) !== length)
    throw new ExportFileError(
      `truncated or padded: the header announces ${length} payload bytes, the file holds ${body.byteLength}`,
    );
  if (!createHash('sha256').update(body).digest().equals(file.subarray(20, HEADER_BYTES))) {
    throw new ExportFileError(
      'checksum mismatch: the file is corrupted (SHA-256 of the payload differs from the header)',
    );
  }
  let payload: unknown;
  try {
    payload = decode(body);
  } catch (err) {
    throw new ExportFileError(`payload does not decode: ${(err as Error).message}`);
  }
  const problem = payloadProblem(payload);
  if (problem) throw new ExportFileError(`payload is malformed: ${problem}`);
  return payload as ExportPayload;
}

function payloadProblem(value: unknown): string | null {
  if (typeof value !== 'object' || value === null) return 'not an object';
  const p = value as Record<string, unknown>;
  if (p['kind'] !== 'statscache-snapshot') return 'kind is not "statscache-snapshot"';
  const metaIssue = metaProblem(p['meta']);
  if (metaIssue) return metaIssue;
  if (!Array.isArray(p['journalTail'])) return 'journalTail is not a list';
  // What the journal and restore would refuse later, refused before anything is written.
  const notEnvelope = (p['journalTail'] as unknown[]).findIndex(
    (e) =>
      typeof e !== 'object' || e === null || Array.isArray(e) || typeof (e as { topic?: unknown }).topic !== 'string',
  );
  if (notEnvelope >= 0) return `journalTail entry ${notEnvelope} is not a message envelope`;
  // Its time is a key of the journal's time index. Before 1970 the bus refuses it (bad_timestamp);
  // from a tail it was journaled, and every plugin new to the data dir counted it, at 1970.
  const untimed = (p['journalTail'] as { timestamp?: unknown }[]).findIndex(
    (e) => typeof e.timestamp !== 'number' || !(e.timestamp >= 0) || !Number.isFinite(e.timestamp),
  );
  if (untimed >= 0) return `journalTail entry ${untimed} has no timestamp of epoch seconds >= 0`;
  // Deeper than any bus takes: journaled, no export of the data dir could be written again.
  const deep = (p['journalTail'] as unknown[]).findIndex((e) => nestsDeeperThan(e, MAX_MESSAGE_DEPTH));
  if (deep >= 0) return `journalTail entry ${deep} nests deeper than ${MAX_MESSAGE_DEPTH} levels, which no bus takes`;
  // A bus message is JSON: what msgpack decodes beyond it (a BigInt, a Date...) no bus carries.
  for (const [i, e] of (p['journalTail'] as unknown[]).entries()) {
    const odd = notPlainData(e);
    if (odd !== null) return `journalTail entry ${i}: ${odd}`;
  }
  const window = p['journalTailSeconds'];
  if (window !== undefined && !(typeof window === 'number' && Number.isFinite(window) && window >= 0))
    return 'journalTailSeconds is not a number of seconds >= 0';
  if (typeof p['plugins'] !== 'object' || p['plugins'] === null) return 'plugins is not an object';
  for (const [ident, state] of Object.entries(p['plugins'] as Record<string, unknown>)) {
    const s = state as { rows?: unknown; stores?: unknown } | null;
    if (
      !s ||
      !isPairs(s.rows) ||
      typeof s.stores !== 'object' ||
      s.stores === null ||
      !Object.values(s.stores).every(isPairs)
    ) {
      return `plugin "${ident}" state is not rows/stores of [key, value] pairs`;
    }
    const badRow = (s.rows as [string, unknown][]).find(
      ([, row]) => !Number.isFinite((row as { timestamp?: unknown } | null)?.timestamp),
    );
    if (badRow) return `plugin "${ident}", row ${JSON.stringify(badRow[0]).slice(0, 200)} has no numeric timestamp`;
    // Found only while writing, LMDB's refusal came half-way through the import's transaction.
    const containers = [['rows', s.rows], ...Object.entries(s.stores as Record<string, unknown>)] as const;
    for (const [store, pairs] of containers) {
      for (const [key, value] of pairs as [string, unknown][]) {
        const bytes = entryKeyBytes(ident, store, key);
        if (bytes > MAX_LMDB_KEY_BYTES)
          return `plugin "${ident}", store "${store}", key ${JSON.stringify(key.slice(0, 80))}… (${key.length} characters) takes ${bytes} bytes as stored, more than LMDB's ${MAX_LMDB_KEY_BYTES}`;
        if (nestsDeeperThan(value, MAX_EXPORT_VALUE_DEPTH))
          return `plugin "${ident}", store "${store}", key ${JSON.stringify(key.slice(0, 80))}: its value nests deeper than ${MAX_EXPORT_VALUE_DEPTH} levels, which no plugin keeps; neither could it be served nor exported again`;
        const odd = notPlainData(value);
        if (odd !== null)
          return `plugin "${ident}", store "${store}", key ${JSON.stringify(key.slice(0, 80))}: its value: ${odd}, which no plugin keeps`;
      }
    }
  }
  return null;
}

const isPairs = (v: unknown): boolean =>
  Array.isArray(v) && v.every((p) => Array.isArray(p) && p.length === 2 && typeof p[0] === 'string');
