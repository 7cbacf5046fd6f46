/**
 * Ingest baseline: a bare zeromq.js subscriber that JSON.parses every body, nothing else.
 *   node bare-subscriber.js ENDPOINT COUNT   → prints "ready", then {"received","seconds"}
 * Timed from the first message to the COUNT-th, like the service's figure.
 */
import { Subscriber } from 'zeromq';

const [endpoint = '', countText = '0'] = process.argv.slice(2);
const count = Number(countText);
const sock = new Subscriber({ receiveHighWaterMark: 0 });
sock.connect(endpoint);
sock.subscribe();
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
process.stdout.write(`${JSON.stringify({ received: n, seconds, keys })}\n`);
sock.close();
