// Helpers for the children of test/recovery/thread-load-abort.test.ts (preloaded with
// thread-load-hold.cjs): let the held thread go, and wait for its load to be over.
import { closeSync, existsSync, openSync, writeSync } from 'node:fs';

const fifo = process.env.LOAD_HOLD_FIFO;
export const say = (line) => writeSync(2, `${line}\n`);
export const held = () => existsSync(`${fifo}.held`);

/**
 * Writes the FIFO (read-write: never blocks), then waits (20 s at most) until the thread is out
 * of the addon's load: a process ending with it still inside aborts on its way out.
 */
export async function release() {
  const fd = openSync(fifo, 'r+');
  writeSync(fd, 'go');
  closeSync(fd);
  say('released');
  const until = Date.now() + 20_000;
  while (!existsSync(`${fifo}.done`) && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
  say(`done: ${existsSync(`${fifo}.done`)}`);
}
