/**
 * Messages per second through `statscache proxy` (the built CLI, a child process): a publisher
 * bound upstream sends `count` fedmsg-sized messages as fast as it can, one subscriber reads
 * them from the proxy's backend. Run: `node dist/bench/proxy-throughput.js [count] [bytes]`.
 */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Publisher, Subscriber } from 'zeromq';

const count = Number(process.argv[2] ?? 300_000);
const bytes = Number(process.argv[3] ?? 400);
const cli = fileURLToPath(new URL('../src/cli.js', import.meta.url));

const pub = new Publisher({ linger: 0, sendHighWaterMark: 0 });
await pub.bind('tcp://127.0.0.1:*');
const child = spawn(
  process.execPath,
  [cli, 'proxy', '--frontend', pub.lastEndpoint as string, '--backend', 'tcp://127.0.0.1:*'],
  {
    stdio: ['ignore', 'pipe', 'inherit'],
  },
);
const backend = await new Promise<string>((resolve, reject) => {
  child.once('exit', (code) => reject(new Error(`proxy exited ${code}`)));
  child.stdout.on('data', (d: Buffer) => {
    const m = /"backend":"([^"]+)"/.exec(d.toString());
    if (m?.[1]) resolve(m[1]);
  });
});
const sub = new Subscriber({ receiveHighWaterMark: 0 });
sub.connect(backend);
sub.subscribe('');
// Joined once a probe comes through (subscriber → proxy → publisher).
sub.receiveTimeout = 100;
for (;;) {
  await pub.send(['probe', 'x']);
  try {
    await sub.receive();
    break;
  } catch {}
}
sub.receiveTimeout = 10_000;
const body = Buffer.alloc(bytes, 'x');
let got = 0;
let first = 0;
const reading = (async () => {
  while (got < count) {
    const [topic] = await sub.receive();
    if (String(topic) !== 't') continue;
    if (got === 0) first = performance.now();
    got++;
  }
})();
for (let i = 0; i < count; i++) await pub.send(['t', body]);
await reading.catch(() => {});
const seconds = (performance.now() - first) / 1000;
console.log(
  JSON.stringify({ count, bytes, received: got, seconds: +seconds.toFixed(2), perSecond: Math.round(got / seconds) }),
);
child.kill('SIGTERM');
pub.close();
sub.close();
