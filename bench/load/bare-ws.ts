/**
 * Push baseline: a bare uWS server subscribed to the bus that counts the "benchpush" messages
 * and publishes the count to every WebSocket client, in the same frame shape as statscache's
 * update frames. Messages that arrive in one event-loop turn share a frame (setImmediate), the
 * least coalescing a server can do without sending one frame per message per client.
 *   node bare-ws.js PORT BUS_ENDPOINT (bound, like the service's --bind)   → prints "ready"
 */
import uWS from 'uWebSockets.js';
import { Subscriber } from 'zeromq';

const [portText = '0', endpoint = ''] = process.argv.slice(2);
const app = uWS.App().ws('/ws', {
  open: (ws) => {
    ws.subscribe('view');
    ws.send(JSON.stringify({ type: 'hello' }));
  },
  message: (ws, data) => {
    const frame = JSON.parse(Buffer.from(data).toString()) as { id?: unknown };
    ws.send(JSON.stringify({ type: 'snapshot', id: frame.id, seq: 0, rows: [] }));
  },
});
app.listen('127.0.0.1', Number(portText), (token) => {
  if (!token) throw new Error('cannot listen');
  process.stdout.write('ready\n');
});
const sock = new Subscriber({ receiveHighWaterMark: 0 });
await sock.bind(endpoint);
sock.subscribe();
let volume = 0;
let seq = 0;
let scheduled = false;
const flush = () => {
  scheduled = false;
  app.publish(
    'view',
    JSON.stringify({ type: 'update', seq: ++seq, rows: [{ category: 'benchpush', volume }], removed: [] }),
  );
};
for await (const [, body] of sock) {
  JSON.parse((body as Buffer).toString());
  volume++;
  if (!scheduled) {
    scheduled = true;
    setImmediate(flush);
  }
}
