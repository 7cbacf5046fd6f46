import { closeSync, openSync, readSync } from 'node:fs';
import { announcedLength, EXPORT_HEADER_BYTES } from './export-format.js';

/**
 * An export file read as far as its header says it reaches, and one byte more (so a padded
 * file is still told apart by decodeExport). The header is checked first: readFileSync read
 * `snapshot import /dev/zero` for ever, into memory, where a file that is no export is now
 * refused after 52 bytes. Read in chunks, never allocated from the announced length, so a
 * header announcing terabytes costs only what the file really holds; a pipe works too
 * (`ssh peer statscache snapshot export /dev/stdout | statscache snapshot import /dev/stdin`).
 */
export function readExportFile(path: string): Buffer {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    let want = EXPORT_HEADER_BYTES;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.max(1, Math.min(1 << 20, want - total)));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) break;
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (want === EXPORT_HEADER_BYTES && total >= EXPORT_HEADER_BYTES) {
        // Throws for a file that is no export; caps the read at the announced end plus one byte.
        const length = announcedLength(Buffer.concat(chunks, total));
        want = Number(BigInt(EXPORT_HEADER_BYTES) + length + 1n);
        if (!Number.isSafeInteger(want)) want = Number.MAX_SAFE_INTEGER;
      }
      if (total >= want) break;
    }
    return Buffer.concat(chunks, total);
  } finally {
    closeSync(fd);
  }
}
