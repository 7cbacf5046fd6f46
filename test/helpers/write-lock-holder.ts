import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readFileSync } from 'node:fs';
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

/** Waits (bounded) until process `pid` is stopped (state T in /proc). */
async function stopped(pid: number): Promise<void> {
  const deadline = Date.now() + 20_000;
  for (;;) {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    if (stat.slice(stat.lastIndexOf(')') + 2).startsWith('T')) return;
    if (Date.now() > deadline) throw new Error(`write lock holder ${pid} did not stop within 20 s`);
    await new Promise((r) => setTimeout(r, 10));
  }
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
  // "held" comes just before the holder stops itself: a SIGCONT sent in between is lost, and the
  // holder then stops for good (a release that never came back, on a loaded machine).
  await stopped(child.pid ?? 0);
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
