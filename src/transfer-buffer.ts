/**
 * How the bus and replay threads hand a batch of messages over: each message's journal record
 * and its encoded head (prepared-head.ts) back to back in one ArrayBuffer of its own,
 * transferred without a copy. The batch's items carry `end` (where the record ends and its head
 * begins) and `headEnd` (where the head ends and the next record begins); the main thread reads
 * the pairs back with unpackPrepared (prepared-head.ts). The buffer may run on past the last
 * `headEnd` (take()): nothing is read there.
 */
import { encode } from '../snapshots/codec.js';
import { encodeJournalRecordAt } from '../snapshots/journal-record.js';
import type { Envelope } from './envelope.js';
import { headText, type PreparedHead } from './prepared-head.js';

/** The smallest buffer a batch is gathered in; a trickle's batches (one message each) reuse it. */
const MIN_CAPACITY = 64 * 1024;
/** Room msgpackr wants after a value's start to pack it there (pack.js: 2 KiB and 10 bytes), and more. */
const PACK_ROOM = 4096;
const SPACE = 0x20;

export class PairBatch {
  /** Written from 0 to `bytes`; allocUnsafeSlow's, so its ArrayBuffer is its own and exactly its size. */
  private target = Buffer.allocUnsafeSlow(MIN_CAPACITY);
  private bytes = 0;

  /** Bytes gathered so far: after add(), where the pair just added ends (its `headEnd`). */
  get size(): number {
    return this.bytes;
  }

  /** Appends a record and its head; returns where the record ends (its `end`). */
  add(record: Uint8Array, head: Uint8Array): number {
    this.reserve(record.byteLength + head.byteLength);
    this.target.set(record, this.bytes);
    this.bytes += record.byteLength;
    const end = this.bytes;
    this.target.set(head, end);
    this.bytes += head.byteLength;
    return end;
  }

  /**
   * add() of the journal record of (id, envelope) and encodeHead(head), each written here as it
   * is made: the record packed in place and the head's JSON written as UTF-8, where add() copied
   * both from buffers of their own (the bus thread's record, head and batch copies were ~7% of
   * its time). A JSON head is followed by up to 7 spaces, so that the next record starts on a
   * multiple of 8 as msgpackr packs (encodeCheckedAt); the bytes are otherwise add()'s.
   */
  addMessage(id: string, envelope: Envelope, head: PreparedHead): number {
    this.reserve(PACK_ROOM);
    const at = this.bytes;
    const record = encodeJournalRecordAt(id, envelope, this.target, at);
    if (record.buffer !== this.target.buffer) {
      this.reserve(record.byteLength);
      this.target.set(record, at);
    } else if (record.byteOffset !== at) {
      // After a msgpack head `at` was not a multiple of 8: moved back into place.
      this.target.copyWithin(at, record.byteOffset, record.byteOffset + record.byteLength);
    }
    const end = at + record.byteLength;
    this.bytes = end;
    const text = headText(head);
    if (text === null) {
      const bytes = encode(head);
      this.reserve(bytes.byteLength);
      this.target.set(bytes, end);
      this.bytes = end + bytes.byteLength;
      return end;
    }
    // UTF-8 takes at most 3 bytes per UTF-16 unit; then the padding.
    this.reserve(3 * text.length + 7);
    const t = this.target;
    let headEnd = end + t.write(text, end);
    while ((headEnd & 7) !== 0) t[headEnd++] = SPACE;
    this.bytes = headEnd;
    return end;
  }

  /**
   * The pairs in an ArrayBuffer of their own, to transfer; starts the next batch. The buffer they
   * were gathered in goes as it is when at most an eighth of it (and PACK_ROOM) is unused (no copy: a flood's
   * batches, each buffer sized from the batch before); otherwise they are copied into one of
   * exactly their size, and the buffer is kept for the next batch unless it is larger than one
   * sized from this batch (a trickle's batches of one reuse it). (Buffer.concat
   * may hand out a slice of Node's shared pool, whose whole ArrayBuffer a transfer would take along.)
   */
  take(): ArrayBuffer {
    const used = this.bytes;
    const target = this.target;
    this.bytes = 0;
    // Room for a batch like this one, an eighth more, and msgpackr's room to pack the last record.
    const next = Math.max(MIN_CAPACITY, used + (used >>> 3) + PACK_ROOM);
    if (target.length - used <= (target.length >>> 3) + PACK_ROOM) {
      this.target = Buffer.allocUnsafeSlow(next);
      return target.buffer as ArrayBuffer;
    }
    // Not zero-filled first (every byte is written below): zeroing was most of this copy's cost.
    const bytes = Buffer.allocUnsafeSlow(used);
    bytes.set(new Uint8Array(target.buffer, 0, used));
    // A buffer grown for a larger batch (or a burst) is not kept through smaller ones.
    if (target.length > next) this.target = Buffer.allocUnsafeSlow(next);
    return bytes.buffer as ArrayBuffer;
  }

  /** Room for `n` more bytes after `bytes`: a buffer twice the size when there is not. */
  private reserve(n: number): void {
    if (this.bytes + n <= this.target.length) return;
    const grown = Buffer.allocUnsafeSlow(Math.max(2 * this.target.length, this.bytes + n));
    grown.set(new Uint8Array(this.target.buffer, 0, this.bytes));
    this.target = grown;
  }
}
