import { createHash } from 'node:crypto';
import { EXPORT_HEADER_BYTES, type ExportPayload, encodeExport } from '../../src/commands/export-format.js';

/**
 * `payload` as an export file with a good checksum, the msgpack bytes of the string `placeholder`
 * (a fixstr: at most 31 bytes) replaced by `bytes`: what msgpackr would never write (values
 * nested past its stack, BigInts, Dates), as a hand-made or hostile export can hold them.
 */
export function exportWithBytes(payload: ExportPayload, placeholder: string, bytes: Uint8Array): Buffer {
  const file = encodeExport(payload);
  const body = file.subarray(EXPORT_HEADER_BYTES);
  const marker = Buffer.concat([Buffer.from([0xa0 | placeholder.length]), Buffer.from(placeholder)]);
  const at = body.indexOf(marker);
  if (at < 0) throw new Error('placeholder not found');
  const out = Buffer.concat([body.subarray(0, at), bytes, body.subarray(at + marker.length)]);
  const header = Buffer.from(file.subarray(0, EXPORT_HEADER_BYTES));
  header.writeBigUInt64BE(BigInt(out.byteLength), 12);
  createHash('sha256').update(out).digest().copy(header, 20);
  return Buffer.concat([header, out]);
}
