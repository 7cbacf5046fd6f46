import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { DATA_FILE } from '../../snapshots/lmdb-store.js';

const SCRIPT = fileURLToPath(new URL('./hold-write-lock.mjs', import.meta.url));

/** A process holding a data dir's LMDB write lock, stopped (hold-write-lock.mjs): a disk write that never returns. */
export interface WriteLockHolder {
  /** Lets the lock go (SIGCONT) and waits for the holder to exit. */
  release(): Promise<void>;
  /** Ends it whatever its state (cleanup). */
  kill(): void;
}

/** Resolves once the holder has the lock and has stopped itself. */
export async function holdWriteLock(dataDir: string): Promise<WriteLockHolder> {
  const child = spawn(process.execPath, [SCRIPT, join(dataDir, DATA_FILE)], { stdio: ['ignore', 'pipe', 'inherit'] });
  const exited = once(child, 'exit');
  let out = '';
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('held')) resolve();
    });
    child.once('exit', (code) => reject(new Error(`write lock holder exited with ${code} before holding the lock`)));
  });
  return {
    release: async () => {
      child.kill('SIGCONT');
      await exited;
    },
    kill: () => {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
    },
  };
}
