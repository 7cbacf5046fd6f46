/**
 * Ingest baseline: a bare zeromq.js subscriber that JSON.parses every body, nothing else.
 *   node bare-subscriber.js ENDPOINT COUNT   → prints "ready", then {"received","seconds","threads"}
 * Timed from the first message to the COUNT-th, like the service's figure; its threads' CPU
 * (threadSplit) from "ready" to the last message, as the service's is taken from "go".
 */
import { Subscriber } from 'zeromq';
import { threadKinds, threadSplit, threadTimes } from './lib.js';

const [endpoint = '', countText = '0'] = process.argv.slice(2);
const count = Number(countText);
const sock = new Subscriber({ receiveHighWaterMark: 0 });
sock.connect(endpoint);
sock.subscribe();
const kinds = await threadKinds(process.pid);
const before = threadTimes(process.pid);
process.stdout.write('ready\n');
let n = 0;
let first = 0;
let keys = 0;
for await (const [, body] of sock) {
  if (n === 0) first = performance.now();
  keys += Object.keys(JSON.parse((body as Buffer).toString()) as object).length;
  if (++n >= count) break;
}
const seconds = (performance.now() - first) / 1000;
const threads = threadSplit(process.pid, before, threadTimes(process.pid), n, seconds, kinds);
process.stdout.write(`${JSON.stringify({ received: n, seconds, keys, threads })}\n`);
sock.close();
