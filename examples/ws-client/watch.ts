// Watches one live view and prints it on every change:
//   npm run build && node dist/examples/ws-client/watch.js ws://127.0.0.1:8080/ws volume-by-category-1m rows_per_page=5
// Stop the server and start it again: the script reconnects with back-off and carries on.
import WebSocket from 'ws';
import { StatscacheClient, type WebSocketCtor } from './statscache-client.js';

const [url = 'ws://127.0.0.1:8080/ws', ident = 'volume-by-category-1m', ...pairs] = process.argv.slice(2);
const params = Object.fromEntries(pairs.map((p) => p.split('=', 2) as [string, string]));

const client = new StatscacheClient({
  url,
  WebSocket: WebSocket as unknown as WebSocketCtor,
  onClose: (code, reason) => console.error(`connection closed (${code} ${reason}); reconnecting`),
});
const sub = client.subscribe(ident, params, (s) => {
  console.log(`\n${s.view} seq ${s.seq} (${s.rows.size} rows)`);
  console.table(s.list().slice(0, 10));
});
process.on('SIGINT', () => {
  sub.unsubscribe();
  client.close();
  console.error(`bye: ${JSON.stringify(client.stats)}`);
});
