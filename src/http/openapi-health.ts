/** OpenAPI paths of the probes and metrics: `/healthz`, `/readyz`, `/metrics`. */
import { type Json, jsonContent, simple } from './openapi-shared.js';

const endpoints = {
  type: 'array',
  description: 'each --connect endpoint of the bus',
  items: {
    type: 'object',
    required: ['endpoint', 'state', 'lastError'],
    properties: {
      endpoint: { type: 'string' },
      state: { enum: ['connecting', 'connected', 'retrying', 'unresolved', 'disconnected'] },
      lastError: { type: ['string', 'null'] },
      since: { type: 'string', format: 'date-time' },
      retries: { type: 'integer' },
    },
  },
};
// With --amqp: each input's state; a down input degrades, it does not unready (README).
const amqp: Json = {
  type: 'array',
  description: 'each --amqp input',
  items: {
    type: 'object',
    properties: {
      input: { type: 'string', description: 'the broker URL without credentials' },
      state: { enum: ['connecting', 'consuming', 'blocked', 'closed'] },
      reason: { type: ['string', 'null'] },
      since: { type: 'string', format: 'date-time' },
      queue: { type: ['string', 'null'] },
      durable_queue: { type: 'boolean' },
      deliveries: { type: 'integer' },
      acked: { type: 'integer' },
      held: { type: 'integer', description: 'deliveries received and not yet acked, across connections' },
      max_held: {
        type: ['integer', 'null'],
        description: '--amqp-max-held: past it a new connection defers its consume',
      },
      consume_deferrals: { type: 'integer', description: 'connections whose consume was deferred at that cap' },
      unjournaled: {
        type: 'integer',
        description: 'deliveries the journal could not store: acked and lost to this instance',
      },
    },
  },
};

export function healthPaths(): Json {
  return {
    '/healthz': simple(
      'healthz',
      'operations',
      'Liveness',
      '200 while the process serves HTTP and consumes the bus, with the lifecycle phase and whether uWebSockets.js runs natively (phase `starting` while `serve` loads plugins, checks the data file and restores, before this document is served); 503 once a bus receive loop has ended, the bus thread is stuck, or the AMQP input thread failed past `--amqp-thread-restarts` (the process then exits 1).',
      {
        '200': {
          description: 'alive',
          content: {
            'application/json': jsonContent({
              type: 'object',
              required: ['status'],
              properties: {
                status: { const: 'ok' },
                phase: { type: 'string' },
                uws_native: { type: ['boolean', 'null'] },
                degraded: {
                  type: 'string',
                  description: "the same `degraded` reason as /readyz's (a plugin whose view is failing among them)",
                },
              },
            }),
          },
        },
        '503': {
          description: 'intake has stopped',
          content: {
            'application/json': jsonContent({
              type: 'object',
              required: ['status', 'reason'],
              properties: { status: { const: 'failing' }, reason: { type: 'string' }, phase: { type: 'string' } },
            }),
          },
        },
      },
    ),
    '/readyz': simple(
      'readyz',
      'operations',
      'Readiness',
      '200 once state is restored and the bus is consumed (at most --ready-timeout seconds of waiting for the history), with a `degraded` reason when ready but not fully trustworthy; 503 with the reason otherwise.',
      {
        '200': {
          description: 'ready',
          content: {
            'application/json': jsonContent({
              type: 'object',
              properties: {
                status: { const: 'ready' },
                degraded: {
                  type: 'string',
                  description:
                    'why the answers may be incomplete: history slow or down, a gap being backfilled, a bus endpoint not connected, an AMQP input not consuming, a plugin quarantined, a plugin whose view is failing (`plugin view failing …: <ident> (<error>)`: its queries answer 500 view_failed)',
                },
                endpoints,
                amqp,
              },
            }),
          },
        },
        '503': {
          description: 'not ready',
          content: {
            'application/json': jsonContent({
              type: 'object',
              required: ['status', 'reason'],
              properties: { status: { const: 'not_ready' }, reason: { type: 'string' }, endpoints, amqp },
            }),
          },
        },
      },
    ),
    '/metrics': simple(
      'metrics',
      'operations',
      'Prometheus metrics',
      'Messages received/applied/dropped per plugin, bus decode errors, snapshot duration and size, HTTP requests by route and status, WebSocket clients, event-loop lag.',
      {
        '200': {
          description: 'Prometheus text exposition format',
          content: { 'text/plain': { schema: { type: 'string' } } },
        },
      },
    ),
  };
}
