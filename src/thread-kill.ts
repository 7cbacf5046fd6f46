import { writeSync } from 'node:fs';

/**
 * How a watch thread (the plugin hang watch, the stop watch) ends a process whose main thread is
 * stuck. SIGKILL, not an exit: process.exit() in a worker ends that worker only (measured on
 * Node 20: the main thread spinning in JS, blocked in Atomics.wait or in open() of a FIFO
 * nobody writes, went on for as long as it was held, the process alive); C's exit() is reached
 * only from the main thread (process-exit.ts). The kill ended all three within a poll.
 */

/** A line in the logger's format (level 60, fatal): the logger itself lives on the stuck thread. */
export function fatalLine(at: string, fields: Record<string, unknown> & { readonly msg: string }): string {
  return `${JSON.stringify({ level: 60, time: at, service: 'statscache', ...fields })}\n`;
}

/**
 * Writes the first of `writes` ([fd, text]) that its fd takes, then SIGKILLs the process. The
 * line is best effort, the kill is not: with the log reader gone the write fails (EPIPE, or
 * EAGAIN on the non-blocking pipe of a stopped reader), and a throw here ended the watch thread
 * before the kill, leaving the process held for good.
 */
export function killFromThread(writes: readonly (readonly [fd: number, text: string])[]): void {
  try {
    for (const [fd, text] of writes) {
      try {
        writeSync(fd, text);
        return;
      } catch {
        // Refused: the next fd may still have a reader (journald keeps stdout and stderr apart).
      }
    }
  } finally {
    process.kill(process.pid, 'SIGKILL');
  }
}
