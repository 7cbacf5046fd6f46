/**
 * Ingest baseline: a bare zeromq.js subscriber that JSON.parses every body, nothing else.
 *   node bare-subscriber.js ENDPOINT COUNT [WINDOW]
 *     → prints "ready", then {"received","seconds","threads"}
 * Timed from the first message to the COUNT-th, like the service's figure; its threads' CPU
 * (threadSplit) from "ready" to the last message, as the service's is taken from "go".
 * With WINDOW (the steady-state figure: COUNT is then the warm-up), it next waits for a line on
 * stdin, prints "window" and takes WINDOW messages more, timed (and its threads) from that line
 * to the last of them, as the service's window is from the harness's "more" to the last applied;
 * then prints a second {"received","seconds","threads"}.
 */
import { Subscriber } from 'zeromq';
import { threadKinds, threadSplit, threadTimes } from './thread-times.js';

const [endpoint = '', countText = '0', windowText = '0'] = process.argv.slice(2);
const count = Number(countText);
const windowCount = Number(windowText);
const sock = new Subscriber({ receiveHighWaterMark: 0 });
sock.connect(endpoint);
sock.subscribe();
const kinds = await threadKinds(process.pid);
const before = threadTimes(process.pid);
process.stdout.write('ready\n');
let n = 0;
let first = 0;
let keys = 0;
// The COUNT part's loop is the one the ingest baseline has always been measured with; the
// window's below repeats it rather than share a function, so that figure's code stays as it was.
for await (const [, body] of sock) {
  if (n === 0) first = performance.now();
  keys += Object.keys(JSON.parse((body as Buffer).toString()) as object).length;
  if (++n >= count) break;
}
const seconds = (performance.now() - first) / 1000;
const threads = threadSplit(process.pid, before, threadTimes(process.pid), n, seconds, kinds);
process.stdout.write(`${JSON.stringify({ received: n, seconds, keys, threads })}\n`);
if (windowCount > 0) {
  await new Promise((resolve) => process.stdin.once('data', resolve));
  process.stdin.destroy();
  // Threads made during the warm-up are classified now (the process idles between the parts);
  // those known from the start keep their kind.
  const windowKinds = new Map([...(await threadKinds(process.pid)), ...kinds]);
  const from = threadTimes(process.pid);
  const t0 = performance.now();
  process.stdout.write('window\n');
  let w = 0;
  for await (const [, body] of sock) {
    keys += Object.keys(JSON.parse((body as Buffer).toString()) as object).length;
    if (++w >= windowCount) break;
  }
  const s = (performance.now() - t0) / 1000;
  const t = threadSplit(process.pid, from, threadTimes(process.pid), w, s, windowKinds);
  process.stdout.write(`${JSON.stringify({ received: w, seconds: s, keys, threads: t })}\n`);
}
sock.close();
