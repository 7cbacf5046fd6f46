/**
 * How the bus and replay threads hand a batch of messages over: each message's journal record
 * and its encoded head (prepared-head.ts) back to back in one ArrayBuffer of its own,
 * transferred without a copy. The batch's items carry `end` (where the record ends and its head
 * begins) and `headEnd` (where the head ends and the next record begins); the main thread reads
 * the pairs back with unpackPrepared (prepared-head.ts).
 */
export class PairBatch {
  private parts: Uint8Array[] = [];
  private bytes = 0;

  /** Bytes gathered so far: after add(), where the pair just added ends (its `headEnd`). */
  get size(): number {
    return this.bytes;
  }

  /** Appends a record and its head; returns where the record ends (its `end`). */
  add(record: Uint8Array, head: Uint8Array): number {
    this.parts.push(record, head);
    this.bytes += record.byteLength;
    const end = this.bytes;
    this.bytes += head.byteLength;
    return end;
  }

  /**
   * The pairs in an ArrayBuffer of their own, to transfer; starts the next batch. (Buffer.concat
   * may hand out a slice of Node's shared pool, whose whole ArrayBuffer a transfer would take along.)
   */
  take(): ArrayBuffer {
    // Not zero-filled first (every byte is written below): a batch is ~100–300 KB, and zeroing
    // it was most of this copy's cost on the bus thread. allocUnsafeSlow's memory is its own
    // ArrayBuffer of exactly this size, never a slice of the shared pool.
    const bytes = Buffer.allocUnsafeSlow(this.bytes);
    const buffer = bytes.buffer as ArrayBuffer;
    let at = 0;
    for (const p of this.parts) {
      bytes.set(p, at);
      at += p.byteLength;
    }
    this.parts = [];
    this.bytes = 0;
    return buffer;
  }
}
