import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { LOCK_FILE, lockDataDir } from '../../snapshots/data-dir-lock.js';
import { tempDir } from '../helpers/service-process.js';

const dir = tempDir('statscache-dir-lock-');
afterAll(() => dir.remove());

/**
 * flock(2) conflicts between two open file descriptions in one process as between processes,
 * so a second lockDataDir here is what a second `serve` does.
 */
describe('the data dir lock', () => {
  it('still refuses a second writer after its lock file was deleted, and is taken again once released', () => {
    const held = lockDataDir(dir.path, 'serve');
    writeFileSync(join(dir.path, 'statscache.pid'), `${process.pid}\n`);
    expect(() => lockDataDir(dir.path, 'journal replay')).toThrow(/SC_DATA_DIR_LOCKED: .*\(statscache serve\)/);
    // The operator's mistake: the lock file deleted to get past that refusal. Before, the next
    // writer locked a new file and ran beside the holder.
    rmSync(join(dir.path, LOCK_FILE));
    expect(() => lockDataDir(dir.path, 'serve')).toThrow(
      new RegExp(`SC_DATA_DIR_LOCKED: .*pid ${process.pid} \\(from statscache.pid\\).*was deleted while it ran`),
    );
    // Refused, it holds nothing: once the holder lets go, a writer gets both locks.
    held.release();
    const next = lockDataDir(dir.path, 'serve');
    expect(() => lockDataDir(dir.path, 'serve')).toThrow(/SC_DATA_DIR_LOCKED/);
    next.release();
    lockDataDir(dir.path, 'serve').release();
  });
});
