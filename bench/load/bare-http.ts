/**
 * Read baselines: serve one file's bytes (plus the same Content-Type) for every request.
 *   node bare-http.js uws|node PORT FILE   → prints "ready"
 */
import { readFileSync } from 'node:fs';
import { createServer } from 'node:http';
import uWS from 'uWebSockets.js';

const [kind, portText = '0', file = ''] = process.argv.slice(2);
const body = readFileSync(file);
const port = Number(portText);
if (kind === 'uws') {
  uWS
    .App()
    // No cork(): uWS corks a response itself while its handler runs; cork() there only adds a
    // callback (5% more CPU per request here), and the baseline is bare uWS at its fastest.
    .get('/*', (res) => {
      res.writeHeader('Content-Type', 'application/json').end(body);
    })
    .listen('127.0.0.1', port, (token) => {
      if (!token) throw new Error(`cannot listen on ${port}`);
      process.stdout.write('ready\n');
    });
} else {
  createServer((_req, res) => {
    res.writeHead(200, { 'Content-Type': 'application/json', 'Content-Length': body.length });
    res.end(body);
  }).listen(port, '127.0.0.1', () => process.stdout.write('ready\n'));
}
