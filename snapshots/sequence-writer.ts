/**
 * SequenceWriter: msgpack values laid end to end in one growing buffer, as decodeSequence
 * (codec.ts) reads them back. Its own file as the writing side of a sequence, which needs no
 * msgpackr (codec.ts stays the one module that imports it).
 */
import { CHECKED_BODY_START, view } from './codec.js';

/**
 * Lays msgpack values end to end in one growing buffer: strings it encodes itself, and the
 * bodies of values framed by encodeChecked copied as they are (already msgpack, so they are
 * never decoded on the writer's side).
 */
export class SequenceWriter {
  private buffer = Buffer.allocUnsafe(1 << 16);
  /** Bytes written since the last clear(). */
  length = 0;

  string(value: string): void {
    // A msgpack str header is at most 5 bytes; UTF-8 takes at most 3 bytes per UTF-16 unit.
    this.reserve(5 + 3 * value.length);
    const b = this.buffer;
    const at = this.length;
    // Written after a 5-byte gap, then moved back when the header turns out shorter.
    const n = b.write(value, at + 5, 'utf8');
    let head: number;
    if (n < 32) {
      b[at] = 0xa0 | n;
      head = 1;
    } else if (n < 0x100) {
      b[at] = 0xd9;
      b[at + 1] = n;
      head = 2;
    } else if (n < 0x10000) {
      b[at] = 0xda;
      b.writeUInt16BE(n, at + 1);
      head = 3;
    } else {
      b[at] = 0xdb;
      b.writeUInt32BE(n, at + 1);
      head = 5;
    }
    if (head < 5) b.copyWithin(at + head, at + 5, at + 5 + n);
    this.length = at + head + n;
  }

  /** The msgpack body of a value framed by encodeChecked: bytes[CHECKED_BODY_START, end). */
  checkedBody(bytes: Uint8Array, end: number): void {
    const n = end - CHECKED_BODY_START;
    this.reserve(n);
    this.buffer.set(view(bytes, CHECKED_BODY_START, end), this.length);
    this.length += n;
  }

  /** What was written, as a view that the next write or clear() overwrites (no copy). */
  written(): Buffer {
    return this.buffer.subarray(0, this.length);
  }

  clear(): void {
    this.length = 0;
  }

  private reserve(n: number): void {
    if (this.length + n <= this.buffer.length) return;
    const grown = Buffer.allocUnsafe(Math.max(this.buffer.length * 2, this.length + n));
    this.buffer.copy(grown, 0, 0, this.length);
    this.buffer = grown;
  }
}
