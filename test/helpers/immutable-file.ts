import { execFileSync } from 'node:child_process';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/**
 * A file whose writes the kernel refuses, for root too (tests run as root, where chmod binds
 * nothing): the ext2/3/4 immutable attribute (chattr +i). Writes through a descriptor opened
 * before fail with EPERM, as a file system remounted read-only (ext4's errors=remount-ro after
 * an I/O error) fails them with EROFS. Needs CAP_LINUX_IMMUTABLE and a file system that keeps
 * the attribute (not tmpfs, overlayfs): immutableSupported() says whether `dir` can have it.
 */
export function setImmutable(path: string, on: boolean): void {
  execFileSync('chattr', [on ? '+i' : '-i', path], { stdio: 'ignore' });
}

/** Whether a file in `dir` can be made immutable (and back) here; the probe file is removed. */
export function immutableSupported(dir: string): boolean {
  const probe = join(dir, '.immutable-probe');
  writeFileSync(probe, '');
  try {
    setImmutable(probe, true);
  } catch {
    rmSync(probe, { force: true });
    return false;
  }
  setImmutable(probe, false);
  rmSync(probe, { force: true });
  return true;
}

/**
 * For a describe whose runs make data files in `dir` immutable: whether they can be here, and
 * `track(file)`, which has each file made writable again after the describe (never left
 * immutable, so the folder can be removed).
 */
export function immutableFiles(dir: string): { readonly supported: boolean; track(file: string): void } {
  const files: string[] = [];
  afterAll(() => {
    for (const f of files) setImmutable(f, false);
  });
  return { supported: immutableSupported(dir), track: (file) => void files.push(file) };
}
