/**
 * `snapshot export` checks its destination before it opens the data dir (checkExportTarget):
 * the refusals must be the ones the write itself makes (messages and exit codes are contracts),
 * and the check must leave nothing behind where it looked.
 */
import { mkdirSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { CommandError } from '../../src/commands/common.js';
import { checkExportTarget, writeExportFile } from '../../src/commands/export-file.js';
import { tempDir } from '../helpers/service-process.js';

const refusal = (act: () => unknown): { message: string; exitCode: number } | null => {
  try {
    act();
  } catch (err) {
    expect(err).toBeInstanceOf(CommandError);
    return { message: (err as CommandError).message, exitCode: (err as CommandError).exitCode };
  }
  return null;
};

describe('checkExportTarget', () => {
  const dir = tempDir();
  afterAll(() => dir.remove());
  mkdirSync(join(dir.path, 'a-folder'));
  writeFileSync(join(dir.path, 'a-file'), 'old');
  symlinkSync(join(dir.path, 'a-file'), join(dir.path, 'a-link'));

  it('refuses a folder, a missing folder and a path through a file as the write does, exit 2', () => {
    const cases: [string, RegExp][] = [
      [join(dir.path, 'a-folder'), /a-folder is a folder: name a file to export to$/],
      [join(dir.path, 'nope', 'x.scx'), /^folder .*nope does not exist: create it or name another file$/],
      [join(dir.path, 'a-file', 'x.scx'), /a-file\/x\.scx: a part of the path is a file, not a folder$/],
    ];
    const before = readdirSync(dir.path).sort();
    for (const [path, message] of cases) {
      const early = refusal(() => checkExportTarget(path));
      expect({ path, early }).toEqual({ path, early: { message: expect.stringMatching(message), exitCode: 2 } });
      expect(refusal(() => writeExportFile(path, new Uint8Array([1])))).toEqual(early);
    }
    expect(readdirSync(dir.path).sort()).toEqual(before);
  });

  it('accepts a new file, an existing one and a symlink, and creates or changes nothing', () => {
    const before = readdirSync(dir.path).sort();
    for (const name of ['new.scx', 'a-file', 'a-link'])
      expect(refusal(() => checkExportTarget(join(dir.path, name)))).toBeNull();
    expect(readdirSync(dir.path).sort()).toEqual(before);
    expect(readFileSync(join(dir.path, 'a-file'), 'utf8')).toBe('old');
  });
});
