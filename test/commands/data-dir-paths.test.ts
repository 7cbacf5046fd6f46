/**
 * A data dir path that cannot be a folder for a reason other than permissions: a symbolic link
 * to nothing (a volume not mounted yet, a target removed), links that loop, a name too long.
 * Each ended in a JavaScript stack and exit 1, which the unit's RestartPreventExitStatus=2 does
 * not cover: systemd restarted it in a loop, each time with the same stack.
 */
import { symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { tempDir } from '../helpers/service-process.js';
import { runCli } from './cli.js';

const NO_STACK = /\n\s+at /;

describe('a data dir path that cannot be made a folder', () => {
  const root = tempDir();
  afterAll(() => root.remove());

  it('ends with exit 2 and SC_DATA_DIR_UNWRITABLE naming the path and why, not a stack', async () => {
    const dangling = join(root.path, 'dangling');
    symlinkSync(join(root.path, 'not-mounted', 'statscache'), dangling);
    const loop = join(root.path, 'loop-a');
    symlinkSync(join(root.path, 'loop-b'), loop);
    symlinkSync(loop, join(root.path, 'loop-b'));
    const long = join(root.path, 'n'.repeat(300));
    // Each ends before it binds or opens anything: three starts cost about one.
    const serve = (dir: string) => runCli(['serve', '--port', '0', '--bind', 'tcp://127.0.0.1:*', '--data-dir', dir]);
    const [toNothing, looping, tooLong] = await Promise.all([serve(dangling), serve(loop), serve(long)]);
    const cases = [
      { r: toNothing, dir: dangling, code: 'ENOENT', why: 'a symbolic link on the path leads to nothing' },
      { r: looping, dir: loop, code: 'ELOOP', why: 'symbolic links on the path form a loop' },
      { r: tooLong, dir: long, code: 'ENAMETOOLONG', why: 'the path, or a name in it, is too long' },
    ];
    for (const { r, dir, code, why } of cases) {
      expect(r.stderr).toContain(`SC_DATA_DIR_UNWRITABLE: cannot write the data dir ${dir} (${code}`);
      expect(r.stderr).toContain(why);
      expect(r.stderr).not.toMatch(NO_STACK);
      expect(r.code).toBe(2);
    }
  });
});
