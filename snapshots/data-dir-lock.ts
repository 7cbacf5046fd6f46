/**
 * The one module that talks to fs-ext: an exclusive flock(2) on `<data dir>/statscache.lock`,
 * held for as long as a process writes the data dir. The kernel drops it when the process
 * ends in any way (SIGKILL, OOM), so a lock can never go stale. flock, not fcntl record
 * locks: an fcntl lock belongs to the process (a second open in the same process would
 * "succeed", and closing any descriptor of the file drops it), a flock to the open file.
 * The lock file is never deleted: a process that opened it just before a delete would lock
 * an orphaned inode while the next one locks a new file.
 *
 * The data dir itself is flock'd too (a directory's descriptor takes one): an operator who
 * deletes statscache.lock to get past a refusal leaves the holder locking an orphaned inode, and
 * a second `serve` locked the new file and ran beside it on the same LMDB file, both numbering
 * journal records from the same seq. A folder is not deleted while it holds the data.
 */
import { closeSync, ftruncateSync, mkdirSync, openSync, readFileSync, writeSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { StatscacheError } from '../actors/errors.js';
import { readPid } from './pid-file.js';

export const LOCK_FILE = 'statscache.lock';

interface FsExt {
  flockSync(fd: number, flags: 'ex' | 'exnb' | 'sh' | 'shnb' | 'un'): void;
}
const fsExt = createRequire(import.meta.url)('fs-ext') as FsExt;

export interface DataDirLock {
  readonly dataDir: string;
  /** Drops the lock (the process keeps running: a test, a tool that is done writing). */
  release(): void;
}

/** Who holds the lock, as its holder wrote it: `<pid> <what>`. */
export function lockHolder(dataDir: string): { pid: number; what: string } | null {
  let text: string;
  try {
    text = readFileSync(join(dataDir, LOCK_FILE), 'utf8');
  } catch {
    return null;
  }
  const m = /^(\d+)\s*(.*)$/.exec(text.trim());
  return m ? { pid: Number(m[1]), what: m[2] ?? '' } : null;
}

/**
 * Turns a failed mkdir/open under the data dir into an error that names the folder and the
 * permission it lacks. `madeFolders`: the data dir was just made with mkdir -p, which makes every
 * missing folder, so a missing path can only be a link's target (elsewhere a file may just be missing).
 */
export function unwritableDataDir(dataDir: string, err: unknown, madeFolders = false): StatscacheError | null {
  const e = err as NodeJS.ErrnoException;
  const why: Record<string, string> = {
    ...(madeFolders
      ? {
          ENOENT: 'a symbolic link on the path leads to nothing (its target does not exist: a volume not mounted yet?)',
        }
      : {}),
    EACCES: 'permission denied: the user running statscache needs write and execute (search) permission on it',
    EPERM: 'operation not permitted: the user running statscache needs write permission on it',
    EROFS: 'it is on a read-only file system',
    ENOTDIR: 'a part of the path is a file, not a folder',
    EEXIST: 'it exists and is not a folder',
    ENOSPC: 'no space left on the device',
    ELOOP: 'symbolic links on the path form a loop',
    ENAMETOOLONG: 'the path, or a name in it, is too long',
  };
  const reason = e?.code ? why[e.code] : undefined;
  if (!reason) return null;
  return new StatscacheError(
    'SC_DATA_DIR_UNWRITABLE',
    `cannot write the data dir ${dataDir} (${e.code} on ${e.path ?? dataDir}): ${reason}; pass --data-dir or STATSCACHE_DATA_DIR with a writable folder`,
    { cause: err },
  );
}

/**
 * Creates the data dir if needed and takes its lock without waiting; a held lock throws
 * SC_DATA_DIR_LOCKED naming the holder's pid. `what` ("serve", "journal replay") is written
 * beside the pid so the refusal says what the holder is.
 */
export function lockDataDir(dataDir: string, what: string): DataDirLock {
  const path = join(dataDir, LOCK_FILE);
  let fd: number;
  try {
    mkdirSync(dataDir, { recursive: true });
    fd = openSync(path, 'a+');
  } catch (err) {
    throw unwritableDataDir(dataDir, err, true) ?? err;
  }
  if (!tryLock(fd)) {
    const holder = lockHolder(dataDir);
    const who = holder
      ? `pid ${holder.pid}${holder.what ? ` (statscache ${holder.what})` : ''}`
      : 'another process (it has not written its pid yet)';
    throw new StatscacheError(
      'SC_DATA_DIR_LOCKED',
      `the data dir ${dataDir} is locked: ${who} is using it (it holds ${path}); stop it first, or pass another --data-dir`,
    );
  }
  let dirFd: number;
  try {
    dirFd = lockFolder(dataDir, path);
  } catch (err) {
    fsExt.flockSync(fd, 'un');
    closeSync(fd);
    throw err;
  }
  // 'a+' appends whatever the position: truncate, then write at offset 0.
  ftruncateSync(fd, 0);
  writeSync(fd, `${process.pid} ${what}\n`, 0);
  let held = true;
  return {
    dataDir,
    release: () => {
      if (!held) return;
      held = false;
      try {
        fsExt.flockSync(fd, 'un');
      } finally {
        closeSync(fd);
        closeSync(dirFd);
      }
    },
  };
}

/**
 * The data dir's own lock, taken once its lock file's is held: its descriptor, held as long.
 * Held by another, that one's lock file was deleted while it ran (or it is an older statscache's
 * lock file alone, which the file lock already refuses).
 */
function lockFolder(dataDir: string, lockPath: string): number {
  const fd = openSync(dataDir, 'r');
  if (!tryLock(fd)) {
    const pid = readPid(dataDir);
    throw new StatscacheError(
      'SC_DATA_DIR_LOCKED',
      `the data dir ${dataDir} is locked: ${pid === null ? 'another process' : `pid ${pid} (from statscache.pid)`} is using it, and holds the folder's own lock: its ${lockPath} was deleted while it ran, so that file does not say so; stop it first, or pass another --data-dir`,
    );
  }
  return fd;
}

/** An exclusive flock on `fd` without waiting: false, with `fd` closed, when another holds it. */
function tryLock(fd: number): boolean {
  try {
    fsExt.flockSync(fd, 'exnb');
    return true;
  } catch (err) {
    closeSync(fd);
    const code = (err as NodeJS.ErrnoException).code;
    if (code !== 'EAGAIN' && code !== 'EWOULDBLOCK') throw err;
    return false;
  }
}
