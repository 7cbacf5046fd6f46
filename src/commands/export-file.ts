import {
  accessSync,
  closeSync,
  constants,
  fsyncSync,
  openSync,
  realpathSync,
  renameSync,
  rmSync,
  type Stats,
  statSync,
  writeSync,
} from 'node:fs';
import { dirname } from 'node:path';
import { syncFolder } from '../durable-replace.js';
import { CommandError } from './common.js';

/**
 * Writes an export where the operator asked. A regular file (or a new one) is written beside
 * the target, flushed, then renamed over it: a reader never sees half a file. A symlink is
 * followed, so its target is what gets replaced. Anything else that is not a folder (a pipe,
 * /dev/stdout for `snapshot export /dev/stdout | ssh …`, a device) is written in place: renaming
 * over it replaced the device node, or the /dev/stdout link itself, with a plain file, and the
 * export never reached the pipe. Operator mistakes (a folder, a missing folder, no permission)
 * are a CommandError with exit 2; a write the disk refuses is exit 1. Says which way it went:
 * what the command prints must then stay out of a stream that may be stdout.
 */
export function writeExportFile(path: string, bytes: Uint8Array): 'replaced' | 'streamed' {
  const real = replacedFile(path);
  if (real === null) {
    writeInPlace(path, bytes);
    return 'streamed';
  }
  const tmp = `${real}.tmp-${process.pid}`;
  let fd: number;
  try {
    fd = openSync(tmp, 'w', 0o600);
  } catch (err) {
    throw operatorError(err, dirname(real));
  }
  try {
    for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off);
    fsyncSync(fd);
    closeSync(fd);
    renameSync(tmp, real);
    // The rename is on disk only once the folder is: without this a power cut can leave the
    // old export (or none) where the command said the new one was.
    syncFolder(dirname(real));
    return 'replaced';
  } catch (err) {
    try {
      closeSync(fd);
    } catch {
      // Closed already (the rename failed).
    }
    rmSync(tmp, { force: true });
    throw new CommandError(`could not write ${path}: ${codeOf(err)}; nothing was written there`, 1);
  }
}

/**
 * The operator mistakes writeExportFile would refuse `path` for, with the same errors, found
 * before the data dir is opened: the store check and the whole read came first, and only then
 * was a mistyped destination refused. Creates and opens nothing (a pipe opened here would be
 * taken for the whole export by its reader), so it asks for the permission the write needs; the
 * write still says what went wrong should the place change in between.
 */
export function checkExportTarget(path: string): void {
  const real = replacedFile(path);
  // The temporary file is created in the folder (write and search); a stream is opened for writing.
  const [where, mode] = real === null ? [path, constants.W_OK] : [dirname(real), constants.W_OK | constants.X_OK];
  try {
    accessSync(where, mode);
  } catch (err) {
    throw operatorError(err, where);
  }
}

/** The file an export replaces (a symlink's target), or null for one written in place (a pipe, a device). */
function replacedFile(path: string): string | null {
  const target = existingTarget(path);
  if (target?.isDirectory()) throw new CommandError(`${path} is a folder: name a file to export to`, 2);
  if (target !== null && !target.isFile()) return null;
  return target === null ? path : realpathSync(path);
}

function existingTarget(path: string): Stats | null {
  try {
    return statSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return null;
    throw operatorError(err, path);
  }
}

function writeInPlace(path: string, bytes: Uint8Array): void {
  let fd: number;
  try {
    fd = openSync(path, 'w');
  } catch (err) {
    throw operatorError(err, path);
  }
  try {
    for (let off = 0; off < bytes.byteLength; ) off += writeSync(fd, bytes, off);
  } catch (err) {
    throw new CommandError(`could not write ${path}: ${codeOf(err)}`, 1);
  } finally {
    closeSync(fd);
  }
}

/** What an operator fixes (a missing folder, a permission), exit 2; anything else exit 1. */
function operatorError(err: unknown, where: string): CommandError {
  const code = (err as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return new CommandError(`folder ${where} does not exist: create it or name another file`, 2);
  if (code === 'EACCES' || code === 'EPERM' || code === 'EROFS')
    return new CommandError(`cannot write in ${where} (${code}): choose a writable place`, 2);
  if (code === 'ENOTDIR') return new CommandError(`${where}: a part of the path is a file, not a folder`, 2);
  return new CommandError(`could not write in ${where}: ${codeOf(err)}`, 1);
}

const codeOf = (err: unknown): string => {
  const e = err as NodeJS.ErrnoException;
  return e.code ?? String(e.message ?? err);
};
