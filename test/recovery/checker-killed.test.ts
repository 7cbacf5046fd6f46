import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkAndRead } from '../../snapshots/check-and-read.js';
import { DATA_FILE } from '../../snapshots/lmdb-store.js';
import { childrenWith } from '../helpers/children.js';
import { snapshottedDataDir } from '../helpers/persistence.js';
import { eventually, tempDir } from '../helpers/service-process.js';

/**
 * A checker child ended by SIGKILL from outside (the kernel's OOM killer picks the process that
 * has touched the most of a large file; an operator's kill) read nothing wrong: a damaged page
 * ends it by SIGBUS or SIGSEGV, a refusal by an exit status. Taken as damage, a sound data file
 * was moved to quarantine, salvaged into a fresh one, and reported as damaged on every start.
 */

describe('a start-up checker killed from outside', () => {
  const root = tempDir();
  const dir = join(root.path, 'data');

  beforeAll(async () => {
    await snapshottedDataDir(dir, 300);
  });
  afterAll(() => root.remove());

  // Streamed (as a large file is): three checkers; a small file as it is: one, walking it all.
  it.each([
    { streamAboveBytes: 0, checkers: 3 },
    { streamAboveBytes: undefined, checkers: 1 },
  ])(
    'says the file is unchecked (exit 1, retried) and moves nothing, instead of quarantining a sound file ($checkers checker processes)',
    async ({ streamAboveBytes, checkers }) => {
      const before = readdirSync(dir).sort();
      const bytes = readFileSync(join(dir, DATA_FILE));
      // The checkers stop themselves as they start, so the test can kill one while it runs.
      const node = join(root.path, 'stopping-node');
      writeFileSync(node, `#!/bin/sh\nkill -STOP $$\nexec ${JSON.stringify(process.execPath)} "$@"\n`);
      chmodSync(node, 0o755);
      const checked = checkAndRead(dir, { write: true, node, streamAboveBytes }).then(
        (r) => r,
        (err: unknown) => err as Error,
      );
      const stopped = await eventually(
        () => {
          const pids = childrenWith(node, 'T');
          return pids.length === checkers ? pids : undefined;
        },
        10_000,
        `${checkers} stopped checkers`,
      );
      const [killed, ...rest] = stopped as [number, ...number[]];
      process.kill(killed, 'SIGKILL');
      for (const pid of rest) process.kill(pid, 'SIGCONT');
      const outcome = await checked;
      expect(outcome).toBeInstanceOf(Error);
      expect((outcome as Error).message).toMatch(/^SC_DATA_FILE_UNCHECKED: .*SIGKILL/);
      expect(readdirSync(dir).sort()).toEqual(before);
      expect(readFileSync(join(dir, DATA_FILE)).equals(bytes)).toBe(true);
      // A checker that stops answering is still killed by its own timer and taken as hung on a
      // damaged page (checker-process.ts CHILD_TIMEOUT_MS): only a kill it did not send is unknown.
      const again = await checkAndRead(dir, { write: true, streamAboveBytes });
      expect(again.ok).toBe(true);
    },
  );
});
