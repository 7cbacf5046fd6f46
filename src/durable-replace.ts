import { closeSync, fsyncSync, openSync, renameSync, rmSync, writeSync } from 'node:fs';
import { dirname } from 'node:path';

/**
 * Replaces `path` with `data` so that after a power loss it holds either the old content or the
 * new, never an empty or half-written file: the new file is written and fsynced under `tmp`,
 * renamed over `path`, and the folder fsynced so the rename itself is on disk. A rename alone
 * is atomic against a crash of the process, not of the machine: ext4 and xfs may commit the
 * rename before the data, leaving a zero-length file after a power cut.
 */
export function replaceFileDurably(path: string, data: string | Uint8Array, tmp: string, mode = 0o644): void {
  const bytes = typeof data === 'string' ? Buffer.from(data, 'utf8') : data;
  const fd = openSync(tmp, 'w', mode);
  try {
    for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
  } catch (err) {
    closeSync(fd);
    rmSync(tmp, { force: true });
    throw err;
  }
  closeSync(fd);
  renameSync(tmp, path);
  syncFolder(dirname(path));
}

/**
 * Fsyncs a folder, so a rename or a new file in it survives a power loss. Best effort: a folder
 * without read permission cannot be opened, and some filesystems refuse fsync on a folder
 * (EINVAL); the file itself is on disk by then, and failing a write that did happen would be
 * the worse answer.
 */
export function syncFolder(folder: string): void {
  let fd: number;
  try {
    fd = openSync(folder, 'r');
  } catch {
    return;
  }
  try {
    fsyncSync(fd);
  } catch {
    // See above.
  } finally {
    closeSync(fd);
  }
}
