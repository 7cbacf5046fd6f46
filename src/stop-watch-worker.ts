import { parentPort, workerData } from 'node:worker_threads';
import { type StopWatchArm, type StopWatchData, WATCH_ARMED, WATCH_IDLE, monotonicMs } from './stop-watch-protocol.js';
import { fatalLine, killFromThread } from './thread-kill.js';

/**
 * The stop watch thread (stop-watch.ts): idle, waiting on its port (no timer, no work: nothing
 * per message), until the stop arms it; past the deadline it writes why and SIGKILLs the process
 * (thread-kill.ts). Whatever holds the main thread (synchronous code, a native call on a hung
 * disk, an 'exit' listener's sync) holds the stop's own timer, never this one.
 */
// Tests only: the thread fails as it starts (test/core/stop-watch.test.ts).
if (process.env['STATSCACHE_TEST_STOP_WATCH_FAIL'] !== undefined) throw new Error('stop watch failed (test hook)');
const port = parentPort;
if (!port) throw new Error('stop-watch-worker.js runs as a worker thread (src/stop-watch.ts starts it)');
const state = new Int32Array((workerData as StopWatchData).state);
let armed = false;

port.on('message', (m: StopWatchArm) => {
  // The first stop's deadline stands: a second signal does not put it off.
  if (armed) return;
  armed = true;
  Atomics.store(state, 0, WATCH_ARMED);
  setTimeout(() => end(m), Math.max(0, m.deadlineMs - monotonicMs()));
});
Atomics.store(state, 0, WATCH_IDLE);

/**
 * To stderr first: the logger's stdout is written from the stuck thread, asynchronously (its
 * pipe non-blocking), and may have been left in the middle of a line that no write will finish;
 * this line, appended there, would be read as part of that one. Nothing else writes stderr but
 * whole lines. Stdout only when stderr refuses it, after a newline of its own.
 */
function end(m: StopWatchArm): void {
  const heldMs = Math.round(monotonicMs() - m.armedMs);
  const margin = m.marginMs / 1000;
  const line = fatalLine(new Date().toISOString(), {
    reason: m.reason,
    stopTimeout: m.stopTimeoutMs / 1000,
    heldMs,
    msg: `graceful stop (${m.reason}) not done ${m.stopTimeoutMs / 1000} s (--stop-timeout) + ${margin} s after it began, and the main thread could not end it (stuck in synchronous code or a native call, such as a read from a hung disk): killing the process (SIGKILL); what the journal committed is on disk, the next start replays it`,
  });
  killFromThread([
    [2, line],
    [1, `\n${line}`],
  ]);
}
