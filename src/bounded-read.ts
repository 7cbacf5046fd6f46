import { closeSync, openSync, readSync } from 'node:fs';

/** Largest config file or PEM bundle read at start: a CA bundle is ~200 KB, a config a few KB. */
export const MAX_SETTINGS_FILE_BYTES = 1024 * 1024;

/**
 * A file an operator named, read whole if it holds at most `maxBytes`; otherwise an Error
 * saying so. Read in chunks instead of stat'ed first: a pipe (`--config <(jq …)`) has no size,
 * and `--config /dev/zero` read for ever, into memory, before the start could fail.
 */
export function readBoundedFile(path: string, maxBytes = MAX_SETTINGS_FILE_BYTES): Buffer {
  const fd = openSync(path, 'r');
  try {
    const chunks: Buffer[] = [];
    let total = 0;
    for (;;) {
      const chunk = Buffer.allocUnsafe(Math.min(64 * 1024, maxBytes + 1 - total));
      const n = readSync(fd, chunk, 0, chunk.length, null);
      if (n === 0) return Buffer.concat(chunks, total);
      chunks.push(chunk.subarray(0, n));
      total += n;
      if (total > maxBytes) throw new Error(`larger than ${maxBytes} bytes`);
    }
  } finally {
    closeSync(fd);
  }
}
