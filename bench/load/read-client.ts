/**
 * Sends exactly N GETs of one path over C keep-alive connections, each waiting for its answer
 * before the next, then prints `{"done": N, "statuses": {...}}` (bench/read-count.ts's client):
 *   node read-client.js PORT PATH N [C] ['Header: value|Header: value']
 */
import net from 'node:net';

const [port = '0', path = '/', nText = '1000', cText = '20', extra = ''] = process.argv.slice(2);
const N = Number(nText);
const C = Number(cText);
const headers =
  extra === ''
    ? ''
    : extra
        .split('|')
        .map((h) => `${h}\r\n`)
        .join('');
const request = `GET ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n${headers}\r\n`;
let sent = 0;
let done = 0;
const statuses: Record<string, number> = {};
await new Promise<void>((resolve) => {
  for (let i = 0; i < C; i++) {
    const s = net.connect(Number(port), '127.0.0.1');
    let buf = Buffer.alloc(0);
    const next = () => {
      if (sent < N) {
        sent++;
        s.write(request);
      } else s.end();
    };
    s.on('connect', next);
    s.on('error', (err) => console.error(err.message));
    s.on('data', (d: Buffer) => {
      buf = Buffer.concat([buf, d]);
      for (;;) {
        const end = buf.indexOf('\r\n\r\n');
        if (end < 0) return;
        const head = buf.subarray(0, end).toString('latin1');
        const status = head.slice(9, 12);
        // 304 and HEAD answers carry no body whatever their Content-Length says.
        const length = status === '304' ? 0 : Number(/content-length: (\d+)/i.exec(head)?.[1] ?? 0);
        if (buf.length < end + 4 + length) return;
        statuses[status] = (statuses[status] ?? 0) + 1;
        buf = buf.subarray(end + 4 + length);
        if (++done === N) resolve();
        next();
      }
    });
  }
});
console.log(JSON.stringify({ done, statuses }));
process.exit(0);
