import { execFile, execFileSync } from 'node:child_process';
import { existsSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { expect } from 'vitest';

/**
 * A data file whose LMDB meta-page writes fail (EIO) while a trigger file exists: the
 * LD_PRELOAD library of meta-write-fault.c, compiled by the machine's C compiler into `dir` at
 * test time. A commit then writes its data pages and fails its meta-page write, the one step
 * after which LMDB marks the environment fatal (MDB_PANIC for every later transaction): what a
 * disk failing mid-commit does, and what chattr +i landing mid-commit did in about 1 run of 6
 * of test/e2e/data-file-refused.test.ts. Deterministic, and refusing nothing but those writes.
 */
export interface MetaWriteFault {
  /** For startService's env: the library preloaded, the trigger and the data file named. */
  readonly env: Record<string, string>;
  /** Makes the next meta-page writes fail. */
  arm(): void;
  /** Lets them through again (the environment that failed one stays fatal: LMDB's rule). */
  disarm(): void;
  /** How many meta-page writes were refused so far. */
  fired(): number;
}

const SOURCE = fileURLToPath(new URL('./meta-write-fault.c', import.meta.url));

/** Compiles the injector into `dir` (a test's temp dir); throws, saying so, if there is no C compiler. */
export function metaWriteFault(dir: string, dataFile = 'statscache.lmdb'): MetaWriteFault {
  const library = join(dir, 'meta-write-fault.so');
  try {
    execFileSync('cc', ['-shared', '-fPIC', '-O2', '-o', library, SOURCE, '-ldl'], { stdio: 'pipe' });
  } catch (err) {
    const e = err as { stderr?: Buffer; message: string };
    throw new Error(
      `this test needs a C compiler (cc) to build its LD_PRELOAD fault injector from ${SOURCE}: ${e.stderr?.toString() || e.message}`,
    );
  }
  const trigger = join(dir, 'meta-write-fault.on');
  const fired = `${trigger}.fired`;
  return {
    env: { LD_PRELOAD: library, META_WRITE_FAULT_TRIGGER: trigger, META_WRITE_FAULT_FILE: `/${dataFile}` },
    arm: () => writeFileSync(trigger, ''),
    disarm: () => rmSync(trigger, { force: true }),
    fired: () => (existsSync(fired) ? readFileSync(fired, 'utf8').split('\n').filter(Boolean).length : 0),
  };
}

/**
 * Runs the child script `helper` (argv: `args`) under `fault`'s injector, LD_PRELOAD applying
 * from a process's start, and gives back the JSON of the last line it printed: its report.
 */
export async function reportUnderFault(
  fault: MetaWriteFault,
  helper: string,
  args: readonly string[],
): Promise<unknown> {
  const { stdout } = await promisify(execFile)(process.execPath, [helper, ...args], {
    env: { ...process.env, ...fault.env },
    timeout: 90_000,
    maxBuffer: 16 * 1024 * 1024,
  });
  return JSON.parse(stdout.trim().split('\n').pop() ?? '{}');
}

/** What a child script reports for a promise that failed with the store's panic on `dataDir`'s data file (a matcher). */
export function panickedOutcome(dataDir: string): Record<string, unknown> {
  return {
    name: 'DataFilePanicError',
    code: 'SC_DATA_FILE_PANIC',
    message: expect.stringContaining(`the data file ${join(dataDir, 'statscache.lmdb')} failed for good`),
  };
}
