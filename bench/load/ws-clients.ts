/**
 * Push latency clients: N WebSocket connections to URL, each subscribed to the volume view.
 * For every frame, the "benchpush" row's volume says how many of the published messages it
 * reflects; message k's arrival is the first frame showing volume >= k (epoch ms, so the
 * publisher's send times, another process's clock reading, can be subtracted).
 *   node ws-clients.js URL N   → "ready" once all are subscribed; then reads one stdin line, the
 *   publisher's send times (JSON array, epoch ms), and prints {"frames","samples","missing","latencies_ms"}
 *   where latencies_ms is an even 20 000-sample subset of all clients' sorted latencies.
 */
import WebSocket from 'ws';

const [url = '', nText = '1'] = process.argv.slice(2);
const N = Number(nText);
const now = () => performance.timeOrigin + performance.now();
const subscribe = JSON.stringify({
  op: 'subscribe',
  ident: 'volume-by-category-1m',
  params: { rows_per_page: 10 },
  id: 1,
});
/** Per client: [volume since subscribing, arrival ms] each time the volume changed. */
const arrivals: [number, number][][] = [];
let frames = 0;
let subscribed = 0;
const sockets: WebSocket[] = [];
await Promise.all(
  Array.from(
    { length: N },
    (_, c) =>
      new Promise<void>((resolve, reject) => {
        const seen: [number, number][] = [];
        arrivals[c] = seen;
        let base = -1;
        const ws = new WebSocket(url, { perMessageDeflate: false });
        sockets.push(ws);
        ws.on('error', reject);
        ws.on('open', () => ws.send(subscribe));
        ws.on('message', (data: Buffer) => {
          const t = now();
          frames++;
          const frame = JSON.parse(data.toString()) as {
            type: string;
            rows?: { category?: string; volume?: number }[];
          };
          if (frame.type === 'snapshot') {
            subscribed++;
            resolve();
          }
          const row = frame.rows?.find((r) => r.category === 'benchpush');
          if (!row || row.volume === undefined) return;
          if (base < 0) base = frame.type === 'snapshot' ? row.volume : 0;
          const v = row.volume - base;
          if (v > (seen.at(-1)?.[0] ?? 0)) seen.push([v, t]);
        });
      }),
  ),
);
process.stdout.write(`ready ${subscribed}\n`);
let input = '';
process.stdin.on('data', (d: Buffer) => {
  input += d.toString();
  if (!input.includes('\n')) return;
  for (const ws of sockets) ws.terminate();
  const sent = JSON.parse(input) as number[];
  const latencies: number[] = [];
  let missing = 0;
  for (const seen of arrivals) {
    let j = 0;
    for (let k = 1; k <= sent.length; k++) {
      while (j < seen.length && seen[j]![0] < k) j++;
      const hit = seen[j];
      if (hit) latencies.push(hit[1] - sent[k - 1]!);
      else missing++;
    }
  }
  latencies.sort((a, b) => a - b);
  const step = Math.max(1, latencies.length / 20_000);
  const subset: number[] = [];
  for (let i = 0; i < latencies.length; i += step) subset.push(+latencies[Math.floor(i)]!.toFixed(2));
  if (latencies.length > 0) subset.push(+latencies.at(-1)!.toFixed(2));
  process.stdout.write(`${JSON.stringify({ frames, samples: latencies.length, missing, latencies_ms: subset })}\n`);
  process.exit(0);
});
