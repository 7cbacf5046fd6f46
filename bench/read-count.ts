/**
 * The read path counted in instructions: the real uWS adapter (src/http/uws-server.ts) and the
 * real `/api` handler over every built-in plugin, fed BENCH_MESSAGES fixture messages (default
 * 1,500), the clock fixed (so every answer stays fresh: no second turns over between two
 * counts), answering a client in another process over a real socket. Prints `port <n>` once
 * listening and exits when its stdin closes; run it under callgrind at two request counts and
 * divide the difference (start-up and the set-up cancel). One connection (`read-client.js PORT
 * PATH N 1`) makes each request its own event-loop turn; with 20, how many requests a turn took
 * varied between runs and moved the figure by ~10%:
 *
 *   valgrind --tool=callgrind node --single-threaded --predictable-gc-schedule --hash-seed=1 \
 *     --random-seed=1 dist/bench/read-count.js           (prints `port <n>`), then
 *   node dist/bench/load/read-client.js <n> '/api/volume-by-category-1m?rows_per_page=100' N 1
 *   and close the first one's stdin: (total at N2 - total at N1) / (N2 - N1) a request.
 *
 * bench/load/read-client.ts is the client (N keep-alive GETs over C connections, each waiting
 * for its answer). Not part of `npm test`.
 */
import { ApplyBeacon } from '../actors/apply-beacon.js';
import type { PluginMessage } from '../actors/plugin-api.js';
import { builtinPlugins } from '../plugins/index.js';
import { createHttpHandler } from '../src/http/api-routes.js';
import { listen } from '../src/http/uws-server.js';
import { loadConfig } from '../src/config.js';
import type { Envelope } from '../src/envelope.js';
import { createPluginMessage } from '../src/message.js';
import { deriveMeta } from '../src/meta/index.js';
import { requestMetrics } from '../src/metrics-http.js';
import { buildPluginHost } from '../src/plugin-host-builder.js';
import { createRouter } from '../src/router.js';
import { fixtureSamples } from './fedmsg-wire.js';

const MESSAGES = Number(process.env['BENCH_MESSAGES'] ?? 1500);
const NOW = 1_700_003_600;

const samples = fixtureSamples() as unknown as Envelope[];
const host = buildPluginHost(loadConfig({ env: {}, flags: { port: 0 } }), builtinPlugins(), () => {});
const route = createRouter(host.runtimes.map((r) => r.plugin));
host.restoredNothing();
host.live();
host.watchHangs(new ApplyBeacon());
for (let i = 0; i < MESSAGES; i++) {
  const e = samples[i % samples.length] as Envelope;
  // Spread over the hour before NOW, as the reads bench's publisher spreads its messages.
  const m = createPluginMessage(
    { ...e, timestamp: NOW - 3600 + (i * 3600) / MESSAGES, msg_id: `read-${i}` },
    deriveMeta,
    undefined,
    false,
  );
  host.queue(m as PluginMessage, route(m.topic), i + 1);
  if (i % 16 === 15) host.applyQueued();
}
host.applyQueued();

// The service's request counter (src/metrics-http.ts), without the rest of its registry.
const counts = requestMetrics({ fromCounters: () => {} } as unknown as Parameters<typeof requestMetrics>[0]);
const handler = createHttpHandler({
  host,
  nowSeconds: () => NOW,
  notReadyReason: () => null,
  health: () => ({}),
  metrics: { ...counts, text: () => '', contentType: 'text/plain' },
  streams: true,
});
const server = await listen(
  { host: '127.0.0.1', port: 0, maxPayloadBytes: 1024, idleTimeoutSeconds: 0, maxBackpressureBytes: 64 * 1024 },
  handler,
  { admit: () => null, open: () => null, message: () => {}, close: () => {} } as unknown as Parameters<
    typeof listen
  >[2],
  (err) => console.error(err),
);
process.stdout.write(`port ${server.port}\n`);
process.stdin.resume();
process.stdin.on('end', () => {
  server.close();
  host.stop();
  process.exit(0);
});
