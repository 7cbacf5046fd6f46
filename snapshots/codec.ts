/**
 * The one module that talks to msgpackr. Plain msgpack (no records extension) so a snapshot
 * can be read by any msgpack library; variable map sizes so large objects cannot throw.
 */
import { Packr } from 'msgpackr';

const packr = new Packr({ useRecords: false, variableMapSize: true });

export function encode(value: unknown): Buffer {
  return packr.pack(value);
}

/** Throws on bytes that are not one complete msgpack value. */
export function decode(bytes: Uint8Array): unknown {
  return packr.unpack(bytes);
}
