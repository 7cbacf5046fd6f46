import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { TOO_DEEP, TOO_LARGE } from './amqp-message.js';

/**
 * amqplib decodes AMQP field tables (message headers) recursively, while it parses the frame:
 * one delivery whose headers nest ~6000 tables deep overflowed the stack there, amqplib closed
 * the connection before the delivery reached us, and the broker redelivered it at the head of
 * the queue on every reconnect. A durable queue was wedged for good (5 of 25 counted, no
 * decode error, health "consuming"); a server-named one lost everything behind it.
 *
 * This module replaces amqplib's table decoder, before amqplib's generated decoders copy it
 * (lib/defs.js reads `codec.decodeFields` once, when it loads: import this module first), with
 * one that first measures the table's nesting without recursing and, past TABLE_DEPTH_LIMIT or
 * when the table is not well formed, returns a table holding only the TOO_DEEP mark (the depth,
 * or MALFORMED) instead of decoding it. decodeDelivery refuses
 * such a delivery as `too_deep`, and it is acked like any other refused message.
 */

/** Above `--max-message-depth`'s largest value (1024), far below what overflows the stack. */
export const TABLE_DEPTH_LIMIT = 1100;

type Decode = (slice: Buffer) => Record<string, unknown>;

/** Fixed sizes of the AMQP 0-9-1 field value types (RabbitMQ's dialect, as amqplib reads it); -1: length-prefixed. */
const SIZE: Readonly<Record<string, number>> = {
  b: 1,
  B: 1,
  t: 1,
  s: 2,
  u: 2,
  I: 4,
  i: 4,
  f: 4,
  D: 5,
  d: 8,
  l: 8,
  T: 8,
  V: 0,
  S: -1,
  x: -1,
  F: -1,
  A: -1,
};

/** tableDepth()'s answer for a table that is not well formed. */
export const MALFORMED = -1;

/**
 * How deep the tables and arrays of one field table nest (1 for a flat table), walked with an
 * explicit stack; stops counting past `limit`. Strict: every key and value must lie within its
 * own container, else MALFORMED. amqplib's decoder is laxer (an array's last value may run past
 * the array's end), so a table it would read differently from this walk never reaches it.
 */
export function tableDepth(table: Buffer, limit: number): number {
  // Each entry: where its content ends, whether it is a table (key then value) or an array (values only).
  const ends: number[] = [table.length];
  const isTable: boolean[] = [true];
  let offset = 0;
  let deepest = 1;
  while (ends.length > 0) {
    const top = ends.length - 1;
    const end = ends[top] as number;
    if (offset === end) {
      ends.pop();
      isTable.pop();
      continue;
    }
    if (isTable[top]) {
      offset += 1 + (table[offset] as number);
      if (offset >= end) return MALFORMED;
    }
    const size = SIZE[String.fromCharCode(table[offset] as number)];
    offset++;
    if (size === undefined) return MALFORMED;
    if (size >= 0) {
      offset += size;
      if (offset > end) return MALFORMED;
      continue;
    }
    if (offset + 4 > end) return MALFORMED;
    const tag = table[offset - 1];
    const len = table.readUInt32BE(offset);
    offset += 4;
    const inner = offset + len;
    if (inner > end) return MALFORMED;
    if (tag === 0x46 /* F */ || tag === 0x41 /* A */) {
      ends.push(inner);
      isTable.push(tag === 0x46);
      if (ends.length > deepest) deepest = ends.length;
      if (deepest > limit) return deepest;
    } else offset = inner;
  }
  return deepest;
}

/**
 * Tables larger than this many bytes are left undecoded, marked TOO_LARGE. The broker bounds
 * what an AMQP 0-9-1 publisher sends by its frame_max (128 KiB), but not what it converts from
 * other protocols: a STOMP publisher's 3 MiB header reached an AMQP consumer whole (amqplib reads
 * frames up to 64 MiB whatever frame_max says), and --max-frame-bytes counted only the body.
 * Only the top-level table passes here (amqplib's own recursion calls its inner function).
 */
let cap = Number.POSITIVE_INFINITY;

/** The cap capTables set (amqp-frame-guard.ts drops header frames beyond it unread). */
export const tableCap = (): number => cap;

/** Bounds the header tables amqplib decodes (the service passes --max-frame-bytes); process-wide. */
export function capTables(maxBytes: number): void {
  cap = maxBytes;
}

let installed = false;

/** Puts the guarded decoder in amqplib's codec module; idempotent. Must run before amqplib is first loaded. */
export function guardAmqpTables(): void {
  if (installed) return;
  installed = true;
  const require = createRequire(import.meta.url);
  // The package's exports map hides lib/: reach the same file (the same cached module) by path.
  const codec = require(join(dirname(require.resolve('amqplib')), 'lib', 'codec.js')) as { decodeFields: Decode };
  const original = codec.decodeFields;
  codec.decodeFields = (slice) => {
    if (slice.length > cap) {
      // Also the handshake's server properties under a tiny cap: amqplib only stores those.
      const large: Record<string, unknown> & { [TOO_LARGE]?: number } = {};
      large[TOO_LARGE] = slice.length;
      return large;
    }
    const depth = tableDepth(slice, TABLE_DEPTH_LIMIT);
    if (depth !== MALFORMED && depth <= TABLE_DEPTH_LIMIT) return original(slice);
    const marked: Record<string, unknown> & { [TOO_DEEP]?: number } = {};
    marked[TOO_DEEP] = depth;
    return marked;
  };
}

guardAmqpTables();
